"""The objection lexicon as it was before the trained model (issue 10), frozen here so
the evaluation can show today's detector next to the new one on the same lines, and
so "no more false alarms than today" has a fixed reference."""

from __future__ import annotations

import re


def _compile(phrases: tuple[str, ...]) -> re.Pattern[str]:
    body = "|".join(p.replace("'", "'?") for p in phrases)
    return re.compile(rf"\b(?:{body})\b", re.IGNORECASE)


BASELINE_OBJECTIONS: dict[str, re.Pattern[str]] = {
    "price": _compile(
        (
            r"too (?:expensive|pricey|much)",
            r"can't afford",
            r"out of (?:our|my) budget",
            r"(?:no|don't have (?:the|a)) budget",
            r"budget(?:'s| is) (?:tight|gone|spent)",
            r"costs? (?:too much|a lot)",
            r"(?:price|cost)(?:'s| is) (?:too high|an issue|a problem)",
            r"cheaper",
        )
    ),
    "timing": _compile(
        (
            r"not (?:right )?now",
            r"bad time",
            r"not a priority",
            r"next (?:quarter|year)",
            r"maybe later",
            r"call me (?:back )?(?:later|next)",
            r"no time",
            r"too busy",
            r"not the right time",
        )
    ),
    "authority": _compile(
        (
            r"not my (?:decision|call)",
            r"check with (?:my|our|the)",
            r"run it by",
            r"(?:my|our) (?:boss|manager|board|procurement) (?:decides|would have to)",
            r"need (?:approval|sign-?off)",
            r"(?:above|over) my head",
        )
    ),
    "need": _compile(
        (
            r"(?:we )?don't (?:really )?need (?:it|that|this|one)",
            r"don't see the (?:need|point|value)",
            r"we're (?:fine|good|ok|okay)(?: as is)?",
            r"happy with what we (?:have|use)",
            r"works fine for us",
            r"not (?:a|an) (?:problem|issue) for us",
        )
    ),
    "competitor": _compile(
        (
            r"already (?:use|using|have|work with|working with|signed)",
            r"went with (?:someone|another)",
            r"(?:another|other) (?:vendor|provider|supplier)",
            r"locked (?:in|into) a contract",
        )
    ),
    "brush_off": _compile(
        (
            r"(?:just )?send me (?:an )?(?:email|some information|info|something)",
            r"not interested",
            r"take me off",
            r"stop calling",
            r"i have to go",
            r"i'll think about it",
            r"we'll (?:get back to you|be in touch)",
        )
    ),
}


def baseline_category(text: str) -> str | None:
    """The first matching category, as the old detector reported it."""
    return next((cat for cat, pat in BASELINE_OBJECTIONS.items() if pat.search(text)), None)
