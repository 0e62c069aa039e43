"""Guards against Whisper's failure modes on silence, noise and cut-off audio.

Pure functions, so they are tested without a model. Whisper (tiny.en especially)
invents text when there is none: "Thank you.", "you", "Thanks for watching!" on
near-silent audio, and loops ("and so my fellow American, and so my fellow ...")
when an utterance is cut mid-word, which every partial caption is.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

# Phrases tiny.en produces from silence, breaths and room noise. Only dropped when
# the audio or the decoder's own confidence also says "probably not speech".
PHANTOM_PHRASES = frozenset(
    {
        "you",
        "thank you",
        "thank you very much",
        "thanks",
        "thanks for watching",
        "thank you for watching",
        "thanks for listening",
        "bye",
        "oh",
        "i'm sorry",
        "the end",
        "subtitles by the amara.org community",
        "please subscribe",
        "",
    }
)

# Whisper's own thresholds (openai/whisper transcribe.py): a segment is silence when
# no_speech_prob > 0.6 and avg_logprob < -1; text compressing better than 2.4:1 is a
# repetition loop.
NO_SPEECH_PROB = 0.6
LOW_LOGPROB = -1.0
MAX_COMPRESSION_RATIO = 2.4
# A phantom phrase is believed only with this much confidence; real short answers
# ("thank you") decode at avg_logprob around -0.3 on clear speech.
PHANTOM_MIN_LOGPROB = -0.6
PHANTOM_MAX_NO_SPEECH = 0.3
# Below this RMS (about -50 dBFS) the "speech" is too quiet to be anyone talking
# into a headset; Silero occasionally fires on such hiss.
MIN_SPEECH_RMS = 0.003

# A one-word answer must be at least this loud (about -35 dBFS) to be believed at
# low confidence; espeak and headset speech sit around 0.05-0.1.
SHORT_ANSWER_MIN_RMS = 0.02

_WORD_RE = re.compile(r"[a-z0-9']+")


def normalise(text: str) -> str:
    return " ".join(_WORD_RE.findall(text.lower()))


def compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    if not data:
        return 0.0
    return len(data) / len(zlib.compress(data))


def collapse_repeats(
    text: str, min_period: int = 2, min_copies: int = 2, restarts: bool = True
) -> str:
    """Cut a decoder loop at its first repetition.

    A loop is ``min_copies`` or more back-to-back copies of a phrase of at least
    ``min_period`` words that runs to the end of the text (a looping decoder never
    stops by itself; the tail may be a cut-off copy). Only the first copy is kept.
    Repeats that the speaker then moves on from ("I know, I know what you mean") and
    single repeated words ("no, no") are left alone: people say them.
    """
    words = text.split()
    keys = [normalise(w) for w in words]
    n = len(words)
    for start in range(n):
        for period in range(min_period, (n - start) // min_copies + 1):
            first = keys[start : start + period]
            if not any(first):
                continue
            copies = 1
            while (
                start + (copies + 1) * period <= n
                and keys[start + copies * period : start + (copies + 1) * period] == first
            ):
                copies += 1
            tail = keys[start + copies * period :]
            if copies >= min_copies and _is_cut_copy(tail, first):
                kept = " ".join(words[: start + period]).rstrip(",;")
                return kept
    return _cut_restart(words, keys) if restarts else " ".join(words)


def _is_cut_copy(tail: list[str], phrase: list[str]) -> bool:
    """``tail`` is the start of ``phrase``, its last word possibly cut short (the
    token budget ends a loop mid-word: "... advantage. I have been unable to reap
    any pec")."""
    if len(tail) > len(phrase):
        return False
    if not tail:
        return True
    head, last = tail[:-1], tail[-1]
    return head == phrase[: len(head)] and phrase[len(tail) - 1].startswith(last)


def _cut_restart(words: list[str], keys: list[str]) -> str:
    """Drop a cut-off restart of the text's own opening at its end.

    "I don't know. I don't" is the decoder starting the utterance again in the
    silence pad; two or more words that repeat the opening are never new speech.
    """
    n = len(words)
    for tail_len in range(min(n // 2, 8), 1, -1):
        before = words[n - tail_len - 1] if n - tail_len >= 1 else ""
        # Only after a sentence end: a restart begins a new sentence, whereas
        # "the cat and the dog saw the cat" is a speaker's own words.
        if (
            keys[n - tail_len :] == keys[:tail_len]
            and n - tail_len >= 3
            and before.endswith((".", "?", "!"))
        ):
            return " ".join(words[: n - tail_len])
    return " ".join(words)


def audio_rms(audio: np.ndarray) -> float:
    if audio.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


def is_hallucination(
    text: str, avg_logprob: float, no_speech_prob: float, rms: float, whole: bool = False
) -> bool:
    """True when decoded text should not be shown as something someone said.

    ``whole``: the text is an utterance's final decode (all of its audio in a 30 s
    window, as offline decoding does it), where the short-answer rule below only
    lost words -- quiet real answers ("Hello?" on the phone call, at -43 dBFS) --
    and Whisper's own rules are enough (all real recordings pooled: WER 0.304
    without the rule, 0.310 with it)."""
    norm = normalise(text)
    if not norm:
        return True
    if rms < MIN_SPEECH_RMS:
        return True
    if no_speech_prob > NO_SPEECH_PROB and avg_logprob < LOW_LOGPROB:
        return True
    if compression_ratio(text) > MAX_COMPRESSION_RATIO:
        return True
    if norm in PHANTOM_PHRASES and (
        avg_logprob < PHANTOM_MIN_LOGPROB or no_speech_prob > PHANTOM_MAX_NO_SPEECH
    ):
        return True
    # Very low confidence on a very short text is noise being read as a word --
    # unless the audio is clearly voiced: short real answers ("Okay.") also score
    # low, because the end-of-text token is uncertain after one word. Whisper's own
    # no-speech threshold, not the phantom phrases' stricter one: an utterance that
    # opens with a second of quiet (jfk's "ask not", after the pause) scores 0.4.
    return (
        not whole
        and len(norm.split()) <= 2
        and avg_logprob < LOW_LOGPROB
        and (no_speech_prob > NO_SPEECH_PROB or rms < SHORT_ANSWER_MIN_RMS)
    )
