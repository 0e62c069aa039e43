"""A final decode's words in stream time: without a decoder loop, a guess past the
end of the audio, or (after a forced split) the words of the part before."""

from __future__ import annotations

from assistant.asr.agreement import drop_repeat, trim_loop
from assistant.asr.commit import TimedWord
from assistant.asr.decoder import SAMPLE_RATE_HZ
from assistant.asr.requests import DecodeRequest
from assistant.asr.results import DecodeResult, Word

# Whisper's word times drift by a few tenths of a second: a repeat of the part
# before's last words counts as that part only while it ends this close to the cut
# (further on, it is someone saying those words again: "...from Chicago." "Oh, I'm
# originally from Chicago also").
REPEAT_DRIFT_S = 0.5
# Two alignment frames: a final's word that starts this close to the end of its
# audio has no audio of its own (Whisper guessing at the next sentence).
END_GUESS_S = 0.04


def final_words(
    request: DecodeRequest, result: DecodeResult, speech_end_s: float
) -> list[TimedWord]:
    """The decode's words with stream times, without a decoder loop or a guess
    past the end of the audio."""
    words: list[Word] = list(result.words)
    audio_s = len(request.audio) / SAMPLE_RATE_HZ
    while words and words[-1].start_s >= audio_s - END_GUESS_S:
        words.pop()
    words = trim_loop([], words, restarts=False)
    # A restart of the opening is the decoder starting over in the silence after
    # the speech; within the speech it is the speaker saying it again (the
    # joined-clips call repeats a sentence, and the restart rule ate it).
    kept = trim_loop([], words)
    if len(kept) < len(words) and words[len(kept)].start_s >= speech_end_s - request.start_s:
        words = kept
    return [TimedWord(w, request.start_s + w.start_s, request.start_s + w.end_s) for w in words]


def after_split(
    before: list[TimedWord] | None, words: list[TimedWord], start_s: float
) -> list[TimedWord]:
    """The words of a decode that began before its part (at ``start_s``), without
    the part before's (``before``, its final words): where the decode repeats that
    part's last words (and they end near the cut), after them, else by time."""
    if before:
        kept = drop_repeat([w.word for w in before], [w.word for w in words])
        dropped = len(words) - len(kept)
        if dropped and words[dropped - 1].end_s <= start_s + REPEAT_DRIFT_S:
            return words[dropped:]
    return [w for w in words if (w.start_s + w.end_s) / 2 >= start_s]
