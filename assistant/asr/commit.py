"""When streamed words become final: pure rules over timed words, no state.

A long turn is re-decoded while it goes on. The words two consecutive re-decodes
agree on are committed (whisper_streaming's LocalAgreement-2), except those right
at the end of the audio, which a cut-off word can make two decodes guess the same
wrong way; a word still unsettled ``max_commit_lag_s`` after it was spoken is
committed as the latest decode has it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.asr.agreement import agreed_prefix
from assistant.asr.results import Word


@dataclass(frozen=True)
class TimedWord:
    """A word with stream times (seconds since the stream started)."""

    word: Word
    start_s: float
    end_s: float

    @property
    def text(self) -> str:
        return self.word.text


def words_of(timed: Sequence[TimedWord]) -> list[Word]:
    return [t.word for t in timed]


def words_to_commit(
    tentative: Sequence[TimedWord] | None,
    words: Sequence[TimedWord],
    audio_end_s: float,
    hold_s: float,
    max_commit_lag_s: float,
) -> int:
    """How many of ``words`` (the newest re-decode beyond what is committed) to
    commit now, given ``tentative`` (the previous re-decode's)."""
    n = 0
    if tentative is not None:
        n = agreed_prefix(words_of(tentative), words_of(words))
        # Hold back agreed words at the very end of the audio.
        while n and words[n - 1].end_s > audio_end_s - hold_s:
            n -= 1
    # ... and commit, agreed or not, what has been unsettled for too long.
    while n < len(words) and words[n].end_s <= audio_end_s - max_commit_lag_s:
        n += 1
    return n
