"""One utterance and what the coach reads from its words, with no state.

``Utterance`` is a final transcript (or the merged pieces of one) plus what was
derived from it: word count, whether it is a question and of which kind, whether it
is only a backchannel ("yeah", "mm-hmm"), its negativity. ``Turn`` is a run of one
speaker's utterances. The question and backchannel rules are pure functions of the
text, shared with the session report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.events import Speaker

_WORD_RE = re.compile(r"[A-Za-z0-9]+(?:['-][A-Za-z]+)*")

# Openers of questions when the ASR (or a transcript such as AMI) has no "?".
_WH_WORDS = frozenset({"what", "how", "why", "where", "when", "which", "who", "whose"})
_AUX_WORDS = frozenset(
    {
        "do", "does", "did", "are", "is", "was", "were", "can", "could", "will",
        "would", "should", "have", "has", "had", "shall", "may", "might", "am",
    }
)  # fmt: skip
# Phrases that open an open question without a wh-word ("tell me about ...").
_OPEN_PHRASES = ("tell me", "talk me through", "walk me through", "describe", "help me understand")
# Listener feedback that does not take the floor: it neither ends a monologue nor
# starts a turn of its own ("mm-hmm" over the rep's pitch).
_BACKCHANNELS = frozenset(
    {"yeah", "yes", "yep", "mm", "mhm", "hmm", "uh", "huh", "um", "right", "okay", "ok",
     "sure", "uh-huh", "mm-hmm", "got", "it", "i", "see", "alright", "cool", "true"}
)  # fmt: skip
# Backchannels are at most this many words ("yeah I see", "okay got it").
BACKCHANNEL_MAX_WORDS = 3
# Fillers skipped before looking for the question opener ("so, what ...").
_FILLERS = frozenset({"so", "and", "okay", "ok", "well", "um", "uh", "right", "now", "then"})


def words_of(text: str) -> list[str]:
    """Lower-case words, apostrophes kept ("don't")."""
    return [w.lower() for w in _WORD_RE.findall(text)]


def is_backchannel(text: str) -> bool:
    """True for short listener feedback such as "yeah", "mm-hmm", "okay, sure"."""
    words = words_of(text)
    return 0 < len(words) <= BACKCHANNEL_MAX_WORDS and all(w in _BACKCHANNELS for w in words)


def _opener(words: list[str]) -> list[str]:
    i = 0
    while i < len(words) - 1 and words[i] in _FILLERS:
        i += 1
    return words[i:]


def question_kind(text: str) -> str | None:
    """``"open"``, ``"closed"`` or ``None`` (not a question).

    A trailing "?" marks a question; without one (unpunctuated ASR), a sentence that
    opens with a wh-word or "tell me ..." still counts. Auxiliary openers count only
    with a "?", because "do that" / "can do" openers are too often statements.
    """
    words = _opener(words_of(text))
    if not words:
        return None
    stripped = text.rstrip()
    has_mark = stripped.endswith("?") or "?" in stripped[-40:]
    head = " ".join(words[:3])
    first = words[0].split("'")[0]  # "what's" -> "what"
    is_open = first in _WH_WORDS or any(head.startswith(p) for p in _OPEN_PHRASES)
    if has_mark:
        return "open" if is_open else "closed"
    # Unpunctuated: "what do you ..." / "what's ..." / "tell me ..." read as questions,
    # "when we launched ..." does not.
    wh_question = first in _WH_WORDS and (
        first != words[0] or (len(words) > 1 and words[1] in _AUX_WORDS)
    )
    if wh_question or any(head.startswith(p) for p in _OPEN_PHRASES):
        return "open"
    return None


@dataclass(frozen=True)
class Utterance:
    """One final transcript plus what we derived from it."""

    utterance_id: int
    speaker: Speaker
    start_s: float
    end_s: float
    text: str
    words: int
    question: str | None  # "open" | "closed" | None
    negativity: float  # P(negative) from the sentiment model
    negative: bool
    backchannel: bool = False
    speech_end_wall: float = 0.0

    @property
    def duration_s(self) -> float:
        return max(0.0, self.end_s - self.start_s)

    def brief(self) -> dict[str, object]:
        """Evidence form: enough to find the utterance again, JSON-safe."""
        return {
            "id": self.utterance_id,
            "speaker": self.speaker.value,
            "start_s": round(self.start_s, 2),
            "end_s": round(self.end_s, 2),
            "text": self.text,
        }


@dataclass(frozen=True)
class Turn:
    """Consecutive utterances of one speaker."""

    speaker: Speaker
    utterances: tuple[Utterance, ...]

    @classmethod
    def of(cls, utterances: list[Utterance]) -> Turn:
        return cls(utterances[0].speaker, tuple(utterances))

    @property
    def words(self) -> int:
        return sum(u.words for u in self.utterances)

    @property
    def start_s(self) -> float:
        return self.utterances[0].start_s

    @property
    def end_s(self) -> float:
        return self.utterances[-1].end_s

    @property
    def text(self) -> str:
        return " ".join(u.text for u in self.utterances)
