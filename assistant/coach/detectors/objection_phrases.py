"""Objection phrases by category: the shapes sales training lists for price, timing,
authority, need/fit, competitor/status-quo objections and brush-offs.

They are features of the objection model (``objection_model.py``), not verdicts:
"send me" is a brush-off in "just send me an email" and not in "send me the
contract, I'll sign it", and the trained weights decide what each phrase is worth.
A phrase right after a negation ("it's not too expensive") is a different feature.
"""

from __future__ import annotations

import re

_WHO = (
    r"(?:boss|manager|director|vp|ceo|cfo|cto|cio|coo|board|owners?|partners?|procurement|"
    r"legal|lawyers|finance|committee|head office|leadership|team|security|wife|husband|"
    r"founder|superiors|group|trustees)"
)
_TIME = (
    r"(?:quarter|year|month|financial year|fiscal year|budget cycle|spring|summer|autumn|"
    r"fall|winter|new year|holidays|christmas)"
)

_PHRASES: dict[str, tuple[str, ...]] = {
    "price": (
        r"too (?:expensive|pricey|much|steep|rich|high)",
        r"(?:can't|cannot|couldn't|won't be able to) (?:afford|justify|swing|stretch|pay)",
        r"justify (?:the |that |this )?(?:cost|price|spend|spending|paying|it|that)",
        r"(?:out of|over|above|beyond|outside) (?:our|my|the) (?:budget|price range|range|"
        r"reach|limit|league)",
        r"over budget|out of budget|no budget|budget's gone",
        r"not in (?:the|our|my) budget|(?:don't|do not) have (?:the |a |any |much )?budget",
        r"budgets? (?:is |are |'s )?(?:tight|gone|spent|frozen|capped|cut)",
        r"(?:a lot|way|much|far|double|twice|half) (?:more|higher|less|lower|"
        r"of) (?:than )?(?:we|i|what|the|our|that)",
        r"more than (?:we|i) (?:want|would like|'d like|can|could|are willing|have|had|"
        r"budgeted|planned)",
        r"(?:costs?|price|pricing|fees?|numbers) (?:is |are |'s )?(?:too high|an issue|"
        r"a problem|the issue|the problem|a deal ?breaker|the sticking point)",
        r"(?:for|at) (?:a lot |much )?less|cheaper elsewhere|quoted us",
        # A bare "expensive" is a verdict; "more expensive" is usually a comparison
        # ("that would make it more expensive"), left to the other features.
        r"overpriced|steep|pricey|(?<!more )(?<!less )expensive|not cheap",
        r"money(?:'s| is) tight|no money|(?:don't|do not|doesn't) have (?:the|that kind of|"
        r"that much|enough) (?:money|funds|budget)",
        r"(?:at|for) that (?:price|money|cost)",
        r"(?:spending|spend|budget|purchasing) freeze|"
        r"freeze (?:on )?(?:all )?(?:new )?(?:spending|spend|purchases)",
        r"(?:need|want|expect) a (?:serious |big |bigger |better )?(?:discount|price)",
        r"(?:not|isn't) worth (?:it|that|the)",
    ),
    "timing": (
        r"not (?:right )?now",
        r"not (?:a good|the right|a great|the best) (?:time|moment)",
        r"bad (?:time|timing)",
        r"(?:not|isn't|wasn't) (?:a |our )?priority",
        rf"(?:next|the new|the next) {_TIME}",
        rf"in the {_TIME}",
        r"in (?:a few|a couple of|six|three|twelve|some) (?:months|weeks|quarters)",
        r"(?:call|check|circle|come|get|touch|reach|ping) (?:me |us )?(?:back|base|again)",
        r"(?:maybe|perhaps|much) later|later (?:in|this) (?:the )?year",
        r"(?:do|discuss|look at|revisit|pick up) (?:this|it) (?:later|another time)",
        r"revisit|park (?:this|it)|hold off|on hold|push (?:this|it)|wait until|wait for|can wait",
        r"not ready|too (?:busy|soon|early|stretched)|swamped|bandwidth|plate is full|full plate",
        r"(?:after|until|till) (?:the|our|we've|i'm) (?:\w+ )?(?:holidays|summer|launch|"
        r"audit|rollout|merger|busy season|new year|back|finished|hired|done)",
    ),
    "authority": (
        r"not (?:my|up to me)|(?:my|our) (?:decision|call) to make",
        r"(?:run|float|take|bring|pass) (?:it|this) (?:by|past|to|back to|up to) (?:my|our|the)",
        r"(?:check|talk|speak|discuss it) (?:with|to) (?:my|our|the)",
        rf"(?:my|our|the) {_WHO}(?:'s)? (?:decides?|call|would have to|has to|have to|"
        rf"needs? to|makes|controls)",
        r"(?:has|have|needs?|would have) to (?:approve|sign|agree|okay|decide|be approved|"
        r"go through)",
        r"(?:need|get|require) (?:the |an? |their |his |her |my \w+'s )?(?:approval|"
        r"sign ?off|go ahead|green light|buy ?in|blessing|signature)",
        r"(?:above|over) my (?:head|pay grade)|(?:not|only one of) the (?:decision makers?|"
        r"right person|people deciding)|final (?:say|call|word)",
        rf"(?:up to|for) (?:my|our|the) {_WHO}",
        r"goes (?:through|to)|hands are tied",
    ),
    "need": (
        r"(?:don't|do not|doesn't|won't) (?:really |actually )?need",
        r"no (?:real )?need|not sure (?:we|i) (?:need|would use|'d use)",
        r"(?:don't|can't|cannot) see (?:the |a |any |how |what |us |where )",
        r"not (?:a |an |really a )?(?:fit|pain point|priority) for us",
        r"overkill|nice to have|not (?:for us|relevant|what we're (?:after|looking for))",
        r"(?:fine|ok|okay|manage) without",
        r"don't (?:have|do) (?:that|this|the|a) (?:problem|issue|need)|no use for",
        r"not (?:sure )?(?:it's |it is )?worth",
    ),
    "competitor": (
        r"already (?:use|using|have|got|work with|working with|signed|pay|paying|covered|"
        r"sorted|set up|with|in place|does|chosen)",
        r"(?:happy|fine|good|satisfied|settled|set|sorted|covered) (?:with|on|there|where)",
        r"(?:current|existing|old|other|another|different|preferred) (?:vendor|provider|"
        r"supplier|system|tool|partner|solution|platform|product|company|firm|service)",
        r"locked (?:in|into)|tied in|under contract|in (?:the middle of )?a contract",
        r"(?:went|go|going|signed|sticking|stick) with|someone else",
        r"in ?house|(?:our|my) own (?:tool|system|solution)|built (?:our|my) own",
        r"always done it|status quo|does the (?:job|trick)|good enough",
    ),
    "brush_off": (
        r"(?:send|email|shoot|drop|fire|mail|forward|put|stick|text|ping) (?:me|us|it|over|"
        r"through)",
        r"(?:me|us) an email|in an email|email me|in writing|by email",
        r"not interested|no thanks|no thank you|take me off|stop calling|not for us",
        r"(?:have|got|need|going) to (?:go|run|jump|hop|leave)|cut this short|in a hurry|"
        r"running late",
        r"(?:think|mull|sleep) (?:about it|on it|it over)|have a think",
        r"(?:get back to you|be in touch|let you know|reach out|keep you in mind|come back to you)",
        r"all set|leave it (?:there|with me)|pass(?: for now)?[.!]",
    ),
}


# The opposite shapes: reassurance and acceptance ("price isn't an issue for us",
# "next month suits us"). Features too, so the weights can set them against the
# objection phrases they resemble.
REASSURANCE_PHRASES = (
    r"(?:isn't|is not|'s not|not|won't be|no|never) (?:a |an |the |really a |really an )?"
    r"(?:real |big )?(?:problem|issue|concern|worry|deal ?breaker)",
    r"works (?:for|with) (?:us|me)|suits (?:us|me)|(?:would|will) be (?:ideal|perfect|great|fine)",
    r"(?:within|in line with) (?:our|the|what we) (?:budget|budgeted|expected|set aside)",
)


def _compile(phrase: str) -> re.Pattern[str]:
    # Word-bounded, case-insensitive; "'" optional (ASR writes "dont" and "don't").
    return re.compile(rf"\b(?:{phrase.replace(chr(39), chr(39) + '?')})", re.IGNORECASE)


OBJECTION_PHRASES: dict[str, tuple[re.Pattern[str], ...]] = {
    category: tuple(_compile(p) for p in phrases) for category, phrases in _PHRASES.items()
}
REASSURANCES: tuple[re.Pattern[str], ...] = tuple(_compile(p) for p in REASSURANCE_PHRASES)
# A negation just before a phrase (at most one word between) turns it around.
NEGATION_BEFORE = re.compile(
    r"\b(?:not|never|no|isn't|wasn't|aren't|don't|doesn't|hardly)\W+(?:\w+\W+)?$", re.IGNORECASE
)
