"""Phrase lexicons for the language detectors, compiled once at import.

Phrases, not single words: "price" alone is just a topic, "too expensive" is an
objection. Each list says which seed article (``../shared/seeds``) or which common
sales situation it comes from.
"""

from __future__ import annotations

import re


def _compile(phrases: tuple[str, ...]) -> re.Pattern[str]:
    # Word-bounded, case-insensitive; phrases are regex fragments, "'" optional.
    body = "|".join(p.replace("'", "'?") for p in phrases)
    return re.compile(rf"\b(?:{body})\b", re.IGNORECASE)


CONFUSION = _compile(
    (
        r"i don't (?:understand|follow|get it)",
        r"i'm (?:confused|lost|not following)",
        r"what do you mean",
        r"you lost me",
        r"not sure (?:i|what you)",
        r"come again",
        r"say that again",
        r"pardon",
        r"what does that mean",
        r"how does that (?:help|work)",
        r"i'm not sure what",
        r"makes no sense",
        r"doesn't make (?:any )?sense",
    )
)
# A bare "what?" / "huh?" / "sorry?" is a request to repeat.
BARE_CONFUSION = re.compile(r"^\s*(?:what|huh|sorry|pardon|excuse me)\s*\?+\s*$", re.IGNORECASE)

# Justifying, blaming and arguing (seed 002: "offers only excuses"; seed 000: the
# rep who shuts down and defends). Matched on the rep in both modes.
DEFENSIVE = _compile(
    (
        r"(?:it's|it was|that's|that was) not my fault",
        r"not on me",
        r"to be fair",
        r"you (?:have|need) to understand",
        r"in (?:our|my) defen[cs]e",
        r"that's not (?:true|fair|what i said)",
        r"i already (?:told|said)",
        r"(?:as|like) i (?:said|mentioned)",
        r"you didn't (?:tell|give|send|say)",
        r"you should have (?:told|said|called|sent|asked|checked|known|read)",
        r"nobody told me",
        r"no one told me",
        r"it's the (?:leads|territory|market|product)",
        r"i(?:'ve| have) been doing everything",
        r"i did everything",
        r"what do you want me to do",
        r"(?:that|it) wasn't (?:me|my)",
        r"the reason (?:is|was) (?:that )?(?:you|your)",
        r"that's (?:just )?(?:how|the way) it (?:is|works)",
        r"(?:our|the) policy (?:is|says)",
        r"blame",
        r"i can't control",
    )
)
APOLOGY = _compile((r"sorry", r"apologi[sz]e", r"my (?:bad|mistake)", r"forgive me"))
# "but" opening a reply negates what the other side just said (seed 002).
OPENING_BUT = re.compile(
    r"^\W*(?:(?:yes|yeah|sure|okay|ok|right|well|i (?:hear|understand|see|get) (?:you|that)|"
    r"i know|true|absolutely|totally)\W+){0,2}but\b",
    re.IGNORECASE,
)
# Feature-pitch vocabulary: talking about the product rather than the client.
FEATURES = _compile(
    (
        r"features?",
        r"functionality",
        r"dashboards?",
        r"integrat\w*",
        r"modules?",
        r"our platform",
        r"it (?:also )?(?:can|lets|allows|comes with|has|includes|supports)",
        r"you can also",
        r"on top of that",
        r"another (?:great|cool|nice) thing",
        r"automatically",
        r"out of the box",
        r"add-?ons?",
        r"plug-?ins?",
        r"reports?",
        r"analytics",
        r"customi[sz]\w+",
        r"real-?time",
        r"api",
        r"we (?:also )?(?:offer|provide|have)",
    )
)
# The rep offering to send something ("Shall I send you a quote?"): a "yes, email it
# over" in reply accepts the offer; it is not a brush-off.
OFFER_TO_SEND = re.compile(
    r"\b(?:(?:shall|should|can|could|may) i|do you want me to|would you like me to|"
    r"i can|i could|want me to|let me) (?:\w+ )?(?:send|email|e-mail|share|forward|mail)\b",
    re.IGNORECASE,
)
AGREEING_OPENER = re.compile(
    r"^\W*(?:yes|yeah|yep|sure|please|great|perfect|absolutely|definitely|lovely|"
    r"brilliant|ok|okay|sounds good|that would be great)\b",
    re.IGNORECASE,
)
