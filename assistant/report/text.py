"""The coaching report as Markdown (to paste or keep) and as JSON (for programs), and
the small formatting helpers every format shares."""

from __future__ import annotations

from dataclasses import asdict
from html import escape
from typing import Any

from assistant.logs import safe_text
from assistant.report.model import (
    BENCHMARK_REP_SHARE,
    LOST_DEAL_REP_SHARE,
    METHOD,
    NOTABLE_SILENCE_S,
    QUESTIONS_SWEET_SPOT,
    Report,
)
from assistant.report.plot import clock

JSON_FORMAT = 1


def percent(share: float) -> str:
    return f"{100 * share:.0f} %"


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs:02d} s"


def mode_label(report: Report) -> str:
    mode = "sales call" if report.sales else "coaching 1:1"
    if not report.meta.coach:
        return f"{mode} (captions only)"
    playbook = report.meta.playbook
    return f"{mode} (playbook {playbook})" if playbook else mode


def headline(report: Report) -> str:
    meta = report.meta
    when = meta.started.strftime("%a %d %b %Y, %H:%M") if meta.started else "unknown date"
    inputs = ", ".join(meta.inputs) or meta.input_kind
    parts = [when, duration(report.duration_s), mode_label(report)]
    if meta.model:
        parts.append(f"model {meta.model}")
    parts += [inputs, f"session {meta.id}"]
    return " · ".join(parts)


def title_of(report: Report) -> str:
    when = report.meta.started.strftime("%Y-%m-%d %H:%M") if report.meta.started else ""
    return f"Call summary {when}".strip()


def _link(anchor: str | None, text: str) -> str:
    return text if anchor is None else f"[{text}](#{anchor})"


def _md_escape(text: str) -> str:
    # Enough that transcript text cannot open a link, a heading or a table cell.
    for ch in "\\`*_[]<>|#":
        text = text.replace(ch, "\\" + ch)
    return text.replace("\n", " ")


def render_markdown(r: Report) -> str:
    out: list[str] = [f"# Call summary\n\n{_md_escape(headline(r))}\n"]
    if r.notes:
        out.append("**Notes:** " + _md_escape("; ".join(r.notes)) + "\n")
    out.append(f"## Talk ratio\n\n*How:* {METHOD['talk']}\n")
    out += [f"- {sp}: {r.talk_s[sp]:.1f} s ({percent(r.share[sp])})" for sp in r.talk_s] or [
        "- nobody spoke"
    ]
    if r.coached_share is not None:
        split = f"{percent(r.coached_share)} : {percent(1 - r.coached_share)}"
        line = f"\n{r.coached} : {r.other} = {split}"
        if r.sales:
            bench = f"{percent(BENCHMARK_REP_SHARE)} : {percent(1 - BENCHMARK_REP_SHARE)}"
            line += f" (benchmark {bench})"
            if r.coached_share > LOST_DEAL_REP_SHARE:
                line += f" — **above {percent(LOST_DEAL_REP_SHARE)}: goes with lost deals**"
        out.append(line + "\n")
    out.append(f"\n## Longest monologue per speaker\n\n*How:* {METHOD['monologue']}\n")
    for s in r.monologues.values():
        when = _link(s.anchor, f"{clock(s.start_s)}–{clock(s.end_s)}")
        out.append(f"- {s.speaker}: {duration(s.duration_s)} at {when}: “{_md_escape(s.excerpt)}”")
    low, high = QUESTIONS_SWEET_SPOT
    out.append(f"\n## Questions asked (sweet spot {low}-{high})\n\n*How:* {METHOD['questions']}\n")
    for q in r.questions.values():
        links = " ".join(_link(a, str(i)) for i, a in enumerate(q.anchors, start=1))
        out.append(f"- {q.speaker}: {q.total} ({q.open} open, {q.closed} closed) {links}".rstrip())
    name = "customer" if r.sales else r.other
    out.append(f"\n## Longest {name} stretch\n\n*How:* {METHOD['stretch']}\n")
    s = r.other_stretch
    if s is None:
        out.append(f"- the {r.other} did not speak")
    else:
        when = _link(s.anchor, clock(s.start_s))
        out.append(f"- {duration(s.duration_s)} at {when}: “{_md_escape(s.excerpt)}”")
    out.append(f"\n## Silences after questions\n\n*How:* {METHOD['silences']}\n")
    for g in r.gaps:
        gap = "call ended" if g.silence_s is None else f"{g.silence_s:.1f} s"
        flag = " **(long)**" if g.silence_s is not None and g.silence_s >= NOTABLE_SILENCE_S else ""
        asked = f"{_link(g.anchor, clock(g.end_s))} {g.asker}: “{_md_escape(g.text)}”"
        out.append(f"- {asked} → {gap}{flag}")
    if not r.gaps:
        out.append("- no questions")
    out.append(f"\n## Stall moments\n\n*How:* {METHOD['stalls']} {METHOD['cards']}\n")
    for n, c in enumerate(r.cards, start=1):
        out.append(
            f'<a id="card-{escape(c.id)}"></a>\n'
            f"### {n}. {clock(c.at_s)} {_md_escape(c.trigger)} — {c.fate.value}\n"
        )
        for q in c.excerpt:
            out.append(f"> {_link(q.anchor, clock(q.start_s))} {q.speaker}: {_md_escape(q.text)}\n")
        out.append(f"**Prompt:** {_md_escape(c.prompt)}  ")
        out.append(f"*Why:* {_md_escape(c.why)} ({_md_escape(c.source)})\n")
    if not r.cards:
        out.append("No card fired.\n")
    if r.defensive is not None and r.manager_questions is not None:
        out.append("\n## Coaching\n\n### The rep's defensive moments\n")
        out.append(f"*How:* {METHOD['defensive']}\n")
        out += [
            f"- {_link(m.anchor, clock(m.at_s))} {_md_escape(f'{m.text} {m.detail}')}".rstrip()
            for m in r.defensive
        ] or ["- none flagged"]
        opened = sum(q.kind == "open" for q in r.manager_questions)
        out.append(
            f"\n### The manager's questions: {opened} open, "
            f"{len(r.manager_questions) - opened} closed\n\n*How:* {METHOD['manager_questions']}\n"
        )
        out += [
            f"- {q.kind}: {_link(q.anchor, clock(q.start_s))} {_md_escape(q.text)}"
            for q in r.manager_questions
        ]
    out.append(f"\n## Transcript\n\n*Duration:* {duration(r.duration_s)}. {METHOD['duration']}\n")
    for ln in r.transcript:
        said = f"{clock(ln.start_s)} **{ln.speaker}**: {_md_escape(ln.text)}"
        out.append(f'<a id="{ln.anchor}"></a>{said}  ')
    # Markdown goes to a terminal as often as to a file: a control character in what
    # was said (or in a playbook's name) is shown as an escape, never obeyed.
    return safe_text("\n".join(out).rstrip()) + "\n"


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def report_json(r: Report) -> dict[str, Any]:
    """Every figure, machine-readable; times are seconds into the call."""
    meta = asdict(r.meta)
    meta["started"] = r.meta.started.isoformat() if r.meta.started else None
    low, high = QUESTIONS_SWEET_SPOT

    def stretch(s: Any) -> dict[str, Any] | None:
        if s is None:
            return None
        times = {"duration_s": _r(s.duration_s), "start_s": _r(s.start_s), "end_s": _r(s.end_s)}
        return {**asdict(s), **times}

    return {
        "format": JSON_FORMAT,
        "session": {**meta, "file": str(r.path)},
        "roles": {"coached": r.coached, "other": r.other},
        "duration_s": _r(r.duration_s),
        "talk": {
            "seconds": {sp: _r(t) for sp, t in r.talk_s.items()},
            "share": {sp: _r(v) for sp, v in r.share.items()},
            "coached_share": _r(r.coached_share),
            "benchmark_rep_share": BENCHMARK_REP_SHARE if r.sales else None,
            "above_lost_deal_share": (
                r.coached_share > LOST_DEAL_REP_SHARE
                if r.sales and r.coached_share is not None
                else None
            ),
        },
        "longest_monologue": {sp: stretch(s) for sp, s in r.monologues.items()},
        "questions": {sp: asdict(q) for sp, q in r.questions.items()},
        "questions_sweet_spot": [low, high],
        "longest_other_stretch": stretch(r.other_stretch),
        "silences_after_questions": [
            {**asdict(g), "end_s": _r(g.end_s), "silence_s": _r(g.silence_s)} for g in r.gaps
        ],
        "other_negativity": [{"end_s": _r(t), "p": _r(p), "anchor": a} for t, p, a in r.negativity],
        "negativity_threshold": _r(r.negativity_threshold),
        "cards": [{**asdict(c), "fate": c.fate.value} for c in r.cards],
        "card_fates": {f.value: n for f, n in r.fates().items()},
        "coaching": None
        if r.defensive is None or r.manager_questions is None
        else {
            "defensive": [asdict(m) for m in r.defensive],
            "manager_questions": [asdict(q) for q in r.manager_questions],
        },
        "transcript": [asdict(ln) for ln in r.transcript],
        "notes": list(r.notes),
        "method": METHOD,
    }
