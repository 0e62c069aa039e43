"""Word-level agreement between decodes: what may be committed. Pure functions.

Whisper re-decoding a growing utterance changes its mind about the last words (a
word cut mid-way by the end of the audio, a guess at a name). The words that two
consecutive decodes agree on, from the start, rarely change again: whisper_streaming
commits exactly those (LocalAgreement-2), and so do we.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from assistant.asr.results import Word
from assistant.asr.text_guard import collapse_repeats

_KEY_RE = re.compile(r"[a-z0-9]+")


def word_key(text: str) -> str:
    """A word as compared across decodes: case, punctuation and apostrophes do not
    count ("Yes," and "yes." agree; "don't" and "dont" agree)."""
    return "".join(_KEY_RE.findall(text.lower()))


def agreed_prefix(earlier: Sequence[Word], later: Sequence[Word]) -> int:
    """How many leading words ``later`` shares with ``earlier``."""
    n = 0
    for a, b in zip(earlier, later, strict=False):
        if word_key(a.text) != word_key(b.text):
            break
        n += 1
    return n


def join_words(words: Sequence[Word]) -> str:
    """The words as text: spaces between them, except before a glued one ("'s")."""
    out = ""
    for w in words:
        out += w.text if (w.glued and out) or not out else " " + w.text
    return out


def trim_loop(committed: Sequence[Word], new: list[Word], restarts: bool = True) -> list[Word]:
    """``new`` without a decoder loop at its end (a decode of audio cut mid-word can
    repeat a phrase until the token budget runs out), and with ``restarts`` without a
    cut-off restart of the text's opening. The committed words are never changed; if
    the loop began inside them, nothing new is kept."""
    whole = join_words([*committed, *new])
    kept = collapse_repeats(whole, restarts=restarts)
    if kept == whole:
        return new
    # ``kept`` is a prefix of ``whole`` (at most a trailing comma shorter): keep the
    # new words that fit inside it.
    n = 0
    while n < len(new) and len(join_words([*committed, *new[: n + 1]])) <= len(kept) + 1:
        n += 1
    out = new[:n]
    if out and join_words([*committed, *out]) != kept:
        out[-1] = replace(out[-1], text=out[-1].text.rstrip(",;"))
    return out


# A decode that starts inside words already committed sometimes writes them again
# ("... painful to myself." then "I am painful to myself. It will be seen"): that
# many junk words may come before the repeat.
_REPEAT_LEAD_WORDS = 2


def drop_repeat(known: Sequence[Word], new: list[Word]) -> list[Word]:
    """``new`` without a repeat of the end of ``known`` (the words forced as the
    decode's prefix) at its start: at least two words, after at most
    ``_REPEAT_LEAD_WORDS`` others."""
    keys = [word_key(w.text) for w in known]
    while True:
        new_keys = [word_key(w.text) for w in new]
        for lead in range(min(_REPEAT_LEAD_WORDS, len(new)) + 1):
            cut = next(
                (
                    lead + k
                    for k in range(min(len(keys), len(new) - lead), 1, -1)
                    if new_keys[lead : lead + k] == keys[-k:]
                ),
                None,
            )
            if cut is not None:
                new = new[cut:]  # and again: "the left is the left." repeats twice
                break
        else:
            return new
