"""The streaming policy's settings (``StreamingTranscriber``): how often to re-decode
while someone speaks, when words commit, how utterances split at sentences. The
defaults are the product's; tests and benchmarks turn single knobs."""

from __future__ import annotations

from dataclasses import dataclass

CONTEXT_AUDIO_S = 10.0


@dataclass(frozen=True)
class StreamingConfig:
    # The overlay promises a caption update at least every 0.5 s while someone
    # talks. A request every 0.5 s plus decode jitter measured p95 0.61 s between
    # captions, so ask every 0.4 s; more often than that only burns CPU.
    partial_interval_s: float = 0.4
    # Re-decode while someone speaks (partial captions and progressive commits).
    # Off for fast replay, where each utterance is decoded once when it ends.
    partials: bool = True
    # Commit the words two consecutive re-decodes agree on, before the utterance
    # ends. Off: text arrives only when the speaker pauses.
    commit_while_speaking: bool = True
    # A word the re-decodes still disagree on this long after it was spoken is
    # committed as the latest decode has it: bounds commit latency in a long turn.
    max_commit_lag_s: float = 1.5
    # Agreed words this close to the end of the newer decode's audio wait for the
    # next decode: a word cut off by the end of the audio can be guessed the same
    # (wrong) way twice.
    hold_s: float = 0.3
    # No commits before the utterance has gone on this long: Whisper mishears the
    # first words of a short window the same way twice ("Ah, this is a little
    # expensive" came out "Uh, it's clearly missing" from 1.2 and 1.6 s of audio),
    # and most utterances end sooner anyway, when their final decodes them whole.
    min_commit_audio_s: float = 2.0
    # Committed words re-decoded (forced) at the start of every window.
    overlap_words: int = 3
    # Start the window this much before the first overlap word's aligned start:
    # alignment times run late by up to a frame or two.
    overlap_margin_s: float = 0.1
    # The final decode hears this much of the same speaker's previous utterances
    # before the utterance itself, their final text forced as the prefix (0: none).
    # Measured on the real recordings: docs/performance.md, "Final-text context".
    context_audio_s: float = CONTEXT_AUDIO_S
