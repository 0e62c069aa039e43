"""The coaching report as one self-contained HTML page: inline CSS, the timeline as
inline SVG, no scripts, no fonts or images from anywhere, so it opens offline and
can be mailed as a single file. Every moment links to its line in the transcript at
the bottom; every figure says how it was computed."""

from __future__ import annotations

from html import escape

from assistant import __version__
from assistant.logs import safe_text
from assistant.report.model import (
    BENCHMARK_REP_SHARE,
    LOST_DEAL_REP_SHARE,
    METHOD,
    NOTABLE_SILENCE_S,
    QUESTIONS_SWEET_SPOT,
    Asked,
    CardMoment,
    Fate,
    Quote,
    Report,
)
from assistant.report.plot import FATE_COLOURS, SPEAKER_COLOURS, clock, timeline_svg
from assistant.report.text import duration, headline, percent, title_of

CSS = """
:root { color-scheme: light; --ink:#111827; --muted:#6b7280; --line:#e5e7eb; --bg:#f9fafb; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: var(--bg); }
main { max-width: 980px; margin: 0 auto; padding: 24px 20px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0 0 10px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 10px;
  padding: 16px 18px; margin: 16px 0; }
.meta, .how, .note { color: var(--muted); font-size: 13px; }
.how { margin: 10px 0 0; border-top: 1px dashed var(--line); padding-top: 8px; }
.how b { color: var(--ink); font-weight: 600; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 12px;
  background: none; border: 0; padding: 0; }
.kpi { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; }
.kpi .label { color: var(--muted); font-size: 12px; text-transform: uppercase;
  letter-spacing: .04em; }
.kpi .value { font-size: 24px; font-weight: 650; }
.kpi .sub { font-size: 13px; color: var(--muted); }
.warn { color: #b91c1c; font-weight: 600; }
.ok { color: #15803d; font-weight: 600; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; text-transform: uppercase; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.bar { display: flex; height: 22px; border-radius: 6px; overflow: hidden; margin: 6px 0 4px; }
.bar span { display: block; height: 100%; }
.bench { position: relative; height: 26px; margin-bottom: 4px; font-size: 12px; }
.bench i { position: absolute; top: 0; width: 2px; height: 10px; background: var(--ink); }
.bench span { position: absolute; top: 9px; transform: translateX(-50%); white-space: nowrap;
  color: var(--muted); }
.timeline svg { width: 100%; height: auto; }
.who { font-weight: 600; text-transform: capitalize; white-space: nowrap; }
.spk { display: inline-block; width: .7em; height: .7em; border-radius: 50%; margin-right: 4px; }
.card { border: 1px solid var(--line); border-left: 5px solid var(--fate); border-radius: 8px;
  padding: 10px 12px; margin: 10px 0; scroll-margin-top: 12px; }
.card h3 { font-size: 15px; margin: 0 0 6px; }
.fate { display: inline-block; font-size: 12px; padding: 1px 8px; border-radius: 999px;
  color: #fff; background: var(--fate); margin-left: 6px; }
.prompt { font-size: 16px; font-weight: 600; margin: 8px 0 2px; }
blockquote { margin: 6px 0; padding: 4px 10px; border-left: 3px solid var(--line); color: #374151; }
ol.transcript { list-style: none; padding: 0; margin: 0; }
ol.transcript li { display: grid; grid-template-columns: 48px 112px 1fr; gap: 8px;
  padding: 4px 6px; border-radius: 6px; scroll-margin-top: 12px; }
ol.transcript li.q .text::after { content: " ?"; color: var(--muted); font-size: 12px; }
:target { background: #fef9c3 !important; outline: 2px solid #facc15; }
a { color: #1d4ed8; }
a.time { font-variant-numeric: tabular-nums; text-decoration: none; }
footer { color: var(--muted); font-size: 12px; margin-top: 24px; }
@media print { section { break-inside: avoid; } body { background: #fff; } }
"""


def _a(anchor: str | None, text: str) -> str:
    if anchor is None:
        return escape(text)
    return f'<a class="time" href="#{escape(anchor)}">{escape(text)}</a>'


def _who(speaker: str) -> str:
    colour = SPEAKER_COLOURS.get(speaker, "#6b7280")
    return (
        f'<span class="who"><span class="spk" style="background:{colour}"></span>'
        f"{escape(speaker)}</span>"
    )


def _how(key: str) -> str:
    return f'<p class="how"><b>How:</b> {escape(METHOD[key])}</p>'


def _section(anchor: str, title: str, body: str, *how: str) -> str:
    methods = "".join(_how(key) for key in how)
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{body}{methods}</section>'


def _table(head: list[str], rows: list[list[str]], numeric: tuple[int, ...] = ()) -> str:
    """A table; cells are HTML already (escaped by the caller)."""

    def cells(tag: str, row: list[str]) -> str:
        return "".join(
            f"<{tag}{' class=num' if i in numeric else ''}>{cell}</{tag}>"
            for i, cell in enumerate(row)
        )

    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    return f"<table><tr>{cells('th', [escape(h) for h in head])}</tr>{body}</table>"


def _quote(q: Quote) -> str:
    said = f"{_who(q.speaker)}: {escape(q.text)}"
    return f"<blockquote>{_a(q.anchor, clock(q.start_s))} {said}</blockquote>"


def _kpis(r: Report) -> list[tuple[str, str, str]]:
    tiles = []
    if r.coached_share is not None:
        split = f"{percent(r.coached_share)} : {percent(1 - r.coached_share)}"
        bench = f"benchmark {percent(BENCHMARK_REP_SHARE)} : {percent(1 - BENCHMARK_REP_SHARE)}"
        sub = bench if r.sales else "share of the two sides' talk"
        tiles.append(("Talk ratio", split, f"{r.coached} : {r.other} · {sub}"))
    mono = r.monologues.get(r.coached)
    if mono is not None:
        where = f"{r.coached}, at {clock(mono.start_s)}"
        tiles.append(("Longest monologue", duration(mono.duration_s), where))
    asked = r.questions.get(r.coached)
    low, high = QUESTIONS_SWEET_SPOT
    spot = f"by the {r.coached}; sweet spot {low}-{high} per call"
    tiles.append(("Questions asked", str(asked.total if asked else 0), spot))
    fates = r.fates()
    feedback = f"{fates.get(Fate.HELPFUL, 0)} helpful · {fates.get(Fate.DISMISSED, 0)} dismissed"
    tiles.append(("Cards shown", str(len(r.cards)), feedback))
    return tiles


def _kpi_html(r: Report) -> str:
    body = "".join(
        f'<div class="kpi"><div class="label">{escape(label)}</div>'
        f'<div class="value">{escape(value)}</div><div class="sub">{escape(sub)}</div></div>'
        for label, value, sub in _kpis(r)
    )
    return f'<section class="kpis" aria-label="Key figures">{body}</section>'


def _talk(r: Report) -> str:
    spans = "".join(
        f'<span style="width:{100 * r.share[sp]:.2f}%;'
        f'background:{SPEAKER_COLOURS.get(sp, "#6b7280")}"'
        f' title="{escape(sp)} {percent(r.share[sp])}"></span>'
        for sp in r.talk_s
    )
    body = f'<div class="bar">{spans}</div>'
    if r.sales and r.coached_share is not None:
        body += (
            f'<div class="bench" title="benchmark {percent(BENCHMARK_REP_SHARE)}">'
            f'<i style="left:{100 * BENCHMARK_REP_SHARE:.1f}%"></i>'
            f'<span style="left:{100 * BENCHMARK_REP_SHARE:.1f}%">'
            f"benchmark {percent(BENCHMARK_REP_SHARE)} rep</span></div>"
        )
        talked = f"The rep talked {percent(r.coached_share)} of the time"
        if r.coached_share > LOST_DEAL_REP_SHARE:
            body += (
                f'<p class="warn">{talked}: above {percent(LOST_DEAL_REP_SHARE)}, '
                "the level that goes with lost deals.</p>"
            )
        else:
            body += (
                f'<p class="ok">{talked} (benchmark {percent(BENCHMARK_REP_SHARE)}; '
                f"a warning above {percent(LOST_DEAL_REP_SHARE)}).</p>"
            )
    rows = [[_who(sp), f"{r.talk_s[sp]:.1f} s", percent(r.share[sp])] for sp in r.talk_s]
    rows.append(["all", f"{sum(r.talk_s.values()):.1f} s", ""])
    body += _table(["Speaker", "Talk", "Share"], rows, (1, 2))
    return _section("talk", "Talk ratio", body, "talk")


def _monologues(r: Report) -> str:
    rows = [
        [
            _who(s.speaker),
            duration(s.duration_s),
            _a(s.anchor, f"{clock(s.start_s)}–{clock(s.end_s)}"),
            str(s.utterances),
            escape(s.excerpt),
        ]
        for s in r.monologues.values()
    ]
    head = ["Speaker", "Longest", "When", "Utterances", "What was said"]
    body = _table(head, rows, (1, 3)) if rows else "<p>Nobody spoke.</p>"
    return _section("monologues", "Longest monologue per speaker", body, "monologue")


def _stretch(r: Report) -> str:
    name = "customer" if r.sales else r.other
    s = r.other_stretch
    if s is None:
        body = f"<p>The {escape(r.other)} did not speak.</p>"
    else:
        body = (
            f"<p><b>{duration(s.duration_s)}</b> from {_a(s.anchor, clock(s.start_s))} "
            f"({s.utterances} utterance(s), {s.words} words):</p>"
            f"<blockquote>{escape(s.excerpt)}</blockquote>"
        )
    return _section("stretch", f"Longest {name} stretch", body, "stretch")


def _questions(r: Report) -> str:
    low, high = QUESTIONS_SWEET_SPOT
    rows = []
    for q in r.questions.values():
        count = str(q.total)
        if r.sales and q.speaker == r.coached:
            inside = low <= q.total <= high
            verdict = "in" if inside else "outside"
            count += f' <span class="{"ok" if inside else "warn"}">{verdict} {low}-{high}</span>'
        links = " ".join(_a(a, str(i)) for i, a in enumerate(q.anchors, start=1))
        rows.append([_who(q.speaker), count, str(q.open), str(q.closed), links])
    head = ["Speaker", "Questions", "Open", "Closed", "Where"]
    return _section("questions", "Questions asked", _table(head, rows, (1, 2, 3)), "questions")


def _silences(r: Report) -> str:
    rows = []
    for g in r.gaps:
        if g.silence_s is None:
            gap, then = "—", "the call ended"
        else:
            gap = f"{g.silence_s:.1f} s"
            if g.silence_s >= NOTABLE_SILENCE_S:
                gap = f'<span class="warn">{gap}</span>'
            same = g.next_speaker == g.asker
            then = f"the {g.asker} went on" if same else f"the {g.next_speaker} spoke"
        rows.append(
            [_a(g.anchor, clock(g.end_s)), _who(g.asker), escape(g.text), gap, escape(then)]
        )
    head = ["At", "Asked by", "Question", "Silence", "Then"]
    body = _table(head, rows, (3,)) if rows else "<p>No questions were asked.</p>"
    return _section("silences", "Silences after questions", body, "silences")


def _card(n: int, c: CardMoment) -> str:
    quotes = "".join(_quote(q) for q in c.excerpt)
    heading = f"{n}. {_a(c.anchor, clock(c.at_s))} · {escape(c.trigger.replace('_', ' '))}"
    return (
        f'<article class="card" id="card-{escape(c.id)}" style="--fate:{FATE_COLOURS[c.fate]}">'
        f'<h3>{heading}<span class="fate">{escape(c.fate.value)}</span></h3>{quotes}'
        f'<p class="prompt">{escape(c.prompt)}</p><p class="note">Why: {escape(c.why)}'
        f" · Source: {escape(c.source)} · severity {escape(c.severity)}</p></article>"
    )


def _stalls(r: Report) -> str:
    fates = ", ".join(f"{n} {f.value}" for f, n in r.fates().items()) or "none"
    body = f"<p>Cards: {len(r.cards)} ({escape(fates)}).</p>"
    body += "".join(_card(n, c) for n, c in enumerate(r.cards, start=1))
    if not r.cards:
        body += "<p>No card fired: the coach saw no stall worth interrupting for.</p>"
    return _section("stalls", "Stall moments and the prompts suggested", body, "stalls", "cards")


def _listed(quotes: list[Asked]) -> str:
    items = "".join(f"<li>{_a(q.anchor, clock(q.start_s))} {escape(q.text)}</li>" for q in quotes)
    return f"<ul>{items or '<li>none</li>'}</ul>"


def _coaching(r: Report) -> str:
    if r.defensive is None or r.manager_questions is None:
        return ""
    items = "".join(
        f"<li>{_a(m.anchor, clock(m.at_s))} {escape(m.text)} "
        f"<span class=note>{escape(m.detail)}</span></li>"
        for m in r.defensive
    )
    opened = [q for q in r.manager_questions if q.kind == "open"]
    closed = [q for q in r.manager_questions if q.kind == "closed"]
    body = (
        f"<h3>The rep's defensive moments ({len(r.defensive)})</h3>"
        f"{f'<ul>{items}</ul>' if items else '<p>None flagged.</p>'}{_how('defensive')}"
        f"<h3>The manager's questions: {len(opened)} open, {len(closed)} closed</h3>"
        + _table(["Open", "Closed"], [[_listed(opened), _listed(closed)]])
    )
    return _section("coaching", "Coaching", body, "manager_questions")


def _transcript(r: Report) -> str:
    rows = "".join(
        f'<li id="{escape(ln.anchor)}"{" class=q" if ln.questions else ""}>'
        f'<a class="time" href="#{escape(ln.anchor)}">{clock(ln.start_s)}</a>'
        f'<span>{_who(ln.speaker)}</span><span class="text">{escape(ln.text)}</span></li>'
        for ln in r.transcript
    )
    body = f'<ol class="transcript">{rows or "<li>(nothing was said)</li>"}</ol>'
    return _section("transcript", "Transcript", body)


def render_html(report: Report) -> str:
    svg = timeline_svg(report)
    notes = "".join(f"<li>{escape(n)}</li>" for n in report.notes)
    lasted = f"<p class=how><b>Duration:</b> {escape(duration(report.duration_s))}. "
    lasted += f"{escape(METHOD['duration'])}</p>"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{escape(title_of(report))}</title><style>{CSS}</style></head><body><main>",
        f'<header><h1>Call summary</h1><p class="meta">{escape(headline(report))}</p></header>',
        _section("notes", "Notes", f'<ul class="note">{notes}</ul>') if notes else "",
        _kpi_html(report),
        _section("timeline", "Timeline", f'<div class="timeline">{svg}</div>{lasted}', "timeline"),
        _talk(report),
        _monologues(report),
        _questions(report),
        _stretch(report),
        _silences(report),
        _stalls(report),
        _coaching(report),
        _transcript(report),
        f"<footer>Made on this machine by turnaround {escape(__version__)} from "
        f"{escape(str(report.path))}. Nothing in this page loads from the network.</footer>",
        "</main></body></html>",
    ]
    # What was said may hold control characters (HTML forbids them; a terminal
    # given `-o -` would obey them): shown as escapes.
    return safe_text("\n".join(p for p in parts if p))
