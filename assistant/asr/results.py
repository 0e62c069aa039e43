"""What a decode returns: words with their tokens and times, and the result of one
utterance's decode. Shared by the decoder and the streaming policy, which compares
decodes word by word."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Word:
    """One decoded word: its text (leading space stripped, punctuation kept), the
    token ids that spell it (with the leading space), and where it was heard in
    seconds from the start of the decoded audio (cross-attention alignment; about
    +-0.1 s, less reliable for a word cut off at the very end of the audio)."""

    text: str
    tokens: tuple[int, ...]
    start_s: float = 0.0
    end_s: float = 0.0
    # Continues the previous word without a space: a decode forced to start after
    # "there" may go on with "'s".
    glued: bool = False


@dataclass(frozen=True)
class DecodeResult:
    text: str  # the new text only (after the prefix)
    avg_logprob: float
    no_speech_prob: float
    audio_s: float
    decode_s: float
    words: tuple[Word, ...] = field(default=())  # ``text`` word by word
    failed: bool = False  # the decoder raised; the text is empty, not silence


class DecodeAbandoned(Exception):
    """The caller stopped wanting a decode while it ran (``decode(proceed=...)``)."""
