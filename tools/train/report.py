"""Markdown tables of one ``tools.train.evaluate`` run, beside an earlier run where one
is given (``--before FILE``): what docs/detectors.md shows (``tools.train.docs``)."""

from __future__ import annotations

from typing import Any

from assistant.coach.detectors.objection_model import CATEGORIES

Result = dict[str, Any]


def _prf(m: Result | None) -> str:
    if m is None:
        return "-"
    return f"{m['precision']:.2f} / {m['recall']:.2f} / **{m['f1']:.2f}**"


def _get(r: Result | None, *path: str) -> Any:
    for key in path:
        if not isinstance(r, dict) or key not in r:
            return None
        r = r[key]
    return r


def _alarms(m: Result | None, *corpora: str) -> str:
    """False alarms of ``m`` on the first of ``corpora`` it was scored on."""
    for corpus in corpora:
        found = _get(m, "false_alarms", corpus)
        if found is not None:
            return str(found[0])
    return "-"


def category_views(views: list[tuple[str, Result | None]], corpus: str, neutral: int) -> list[str]:
    """One row per category, one column per view (P / R / F1), and the false alarms on
    the view's own neutral lines (``corpus``; a heard view's are its heard copies)."""
    lines = [
        "| category | positives | " + " | ".join(f"{v} P / R / F1" for v, _ in views) + " |",
        "|---|---|" + "---|" * len(views),
    ]
    first = next(m for _, m in views if m is not None)
    for cat in (*CATEGORIES, "any objection"):
        cells = " | ".join(_prf(_get(m, cat)) for _, m in views)
        lines.append(f"| {cat} | {first[cat]['positives']} | {cells} |")
    alarms = " | ".join(_alarms(m, corpus, "heard") for _, m in views)
    lines.append(f"| false alarms (of {neutral} neutral) | | {alarms} |")
    return lines


def heldout_table(r: Result, before: Result | None) -> list[str]:
    held = r["objections"]["heldout"]
    views: list[tuple[str, Result | None]] = [("text", held["model"])]
    if before:
        views.append(("before, text", _get(before, "objections", "heldout", "model")))
    for voice, s in r.get("spoken", {}).items():
        views.append((f"spoken {voice}", s))
        if before:
            views.append((f"before, spoken {voice}", _get(before, "spoken", voice)))
    views.append(("phrase lexicon, text", held["lexicon (before)"]))
    lines = category_views(views, "heldout", held["lines"].get("none", 0))
    for voice, s in r.get("spoken", {}).items():
        was = _get(before, "spoken", voice)
        lines += [
            "",
            f"Spoken, {voice}: customer-line WER {s['wer']}, {s['objection_signals']} objection "
            f"signals, {s['objection_cards']} objection cards ({s['cards_on_neutral_lines']} on "
            "neutral lines; the playbook's pacing holds the rest back)"
            + (
                f"; before: {was['objection_signals']} signals, {was['objection_cards']} cards "
                f"({was['cards_on_neutral_lines']} on neutral lines)"
                if was
                else ""
            )
            + ".",
        ]
    return lines


def split_table(r: Result, before: Result | None) -> list[str]:
    o = r["objections"]
    views: list[tuple[str, Result | None]] = [("text", o["text"]["model"])]
    if before:
        views.append(("before, text", _get(before, "objections", "text", "model")))
    if "heard" in o:
        views.append(("heard", o["heard"]["model"]))
        if before:
            views.append(("before, heard", _get(before, "objections", "heard", "model")))
    views.append(("phrase lexicon, text", o["text"]["lexicon (before)"]))
    written = o["text"]["model"]["false_alarms"].get("written", [0, 0])[1]
    lines = category_views(views, "written", written)
    if "heard" in o:
        heard = o["heard"]["model"]["false_alarms"].get("heard", [0, 0])[1]
        lines += [
            "",
            f"False alarms: on the {written} written neutral sales lines as text, on their "
            f"{heard} heard copies in the heard columns. Heard: the same lines spoken by "
            f"{', '.join(o['heard']['voices'])}.",
        ]
    return lines


def alarms_table(r: Result, before: Result | None) -> list[str]:
    o = r["objections"]
    rows = ["| neutral lines | model | before | phrase lexicon |", "|---|---|---|---|"]
    for corpus in ("MELD", "SwDA", "CaSiNo", "written"):
        found = _get(o, "text", "model", "false_alarms", corpus)
        if found is None:
            continue
        label = "written sales lines" if corpus == "written" else f"{corpus} test half"
        rows.append(
            f"| {label} ({found[1]}) | {found[0]} | "
            f"{_alarms(_get(before, 'objections', 'text', 'model'), corpus)} | "
            f"{o['text']['lexicon (before)']['false_alarms'][corpus][0]} |"
        )
    if "heard" in o:
        n, total = o["heard"]["model"]["false_alarms"].get("heard", [0, 0])
        rows.append(
            f"| written sales lines, heard ({total}) | {n} | "
            f"{_alarms(_get(before, 'objections', 'heard', 'model'), 'heard')} | "
            f"{_alarms(o['heard']['lexicon (before)'], 'heard')} |"
        )

    def ami(x: Result | None) -> str:
        if x is None:
            return "-"
        sales = x["sales-call"]
        per_10 = 10 * sales["cards"] / x["minutes"]
        return (
            f"{sales['signals'].get('objection', 0)} objection signals; {sales['cards']} cards "
            f"({per_10:.2f} per 10 min: {', '.join(sales['card_triggers']) or '-'})"
        )

    a = r["ami"]
    rows.append(
        f"| AMI ES2011a ({a['utterances']} lines, {a['minutes']} min) | {ami(a)} | "
        f"{ami(_get(before, 'ami'))} | |"
    )

    def call(t: Result | None) -> str:
        if t is None:
            return "-"
        return (
            f"{t['objection_signals']} objection signals; cards: {', '.join(t['cards']) or 'none'}"
        )

    for name, t in r["transcripts"].items():
        was = call(_get(before, "transcripts", name))
        rows.append(f"| {name.replace('_', ' ')} | {call(t)} | {was} | |")
    return rows


def corpus_table(r: Result, before: Result | None) -> list[str]:
    lines = [
        "| detector vs label (data) | P | R | F1 | before F1 | VADER F1 | positives / n | ms/utt |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for section in ("meld", "swda", "uss"):
        for name, x in r.get(section, {}).items():
            was = _get(before, section, name, "f1")
            lines.append(
                f"| {name} | {x['precision']:.3f} | {x['recall']:.3f} | **{x['f1']:.3f}** | "
                f"{'-' if was is None else f'{was:.3f}'} | {x['baseline_vader']['f1']:.3f} | "
                f"{x['positives']} / {x['n']} | {x['ms_per_utterance']:.3f} |"
            )
    return lines


def latency_lines(r: Result, before: Result | None) -> list[str]:
    lines = [
        "| model | p50 ms | p95 ms | mean ms | before: p50 / p95 ms | lines |",
        "|---|---|---|---|---|---|",
    ]
    for name, x in r["latency"].items():
        was = _get(before, "latency", name)
        then = f"{was['p50_ms']:.3f} / {was['p95_ms']:.3f}" if was else "-"
        lines.append(
            f"| {name} | {x['p50_ms']:.3f} | {x['p95_ms']:.3f} | {x['mean_ms']:.3f} | {then} | "
            f"{x['utterances']} |"
        )
    return lines


def render(r: Result, before: Result | None = None) -> str:
    """All tables; ``before`` (an earlier run's JSON) adds its figures beside each."""
    parts = [
        "Held-out everyday objections (never trained or tuned on):",
        "",
        *heldout_table(r, before),
        "",
        "Development set, untouched test split (written lines; a category counts only "
        "with the right category):",
        "",
        *split_table(r, before),
        "",
        "False alarms:",
        "",
        *alarms_table(r, before),
        "",
        "Negativity and the other text detectors:",
        "",
        *corpus_table(r, before),
        "",
        "Time per utterance (this CPU, one thread):",
        "",
        *latency_lines(r, before),
    ]
    return "\n".join(parts) + "\n"


def _f1(m: Result | None, cat: str = "any objection") -> str:
    value = _get(m, cat, "f1")
    return "-" if value is None else f"{value:.2f}"


def summary_table(r: Result, before: Result | None) -> str:
    """The compact view: per category F1 now (before), as text and spoken on the
    held-out set and as text and heard on the test split, then false alarms on each
    view's own neutral lines."""
    o = r["objections"]
    # (column, this run, the earlier run, the corpus its false alarms are counted on)
    views: list[tuple[str, Result | None, Result | None, str]] = [
        ("held-out, text", o["heldout"]["model"], _get(before, "objections", "heldout", "model"),
         "heldout"),
    ]  # fmt: skip
    for voice, s in r.get("spoken", {}).items():
        views.append((f"held-out, spoken {voice}", s, _get(before, "spoken", voice), "heldout"))
    views.append(
        ("test split, text", o["text"]["model"], _get(before, "objections", "text", "model"),
         "written")
    )  # fmt: skip
    if "heard" in o:
        was = _get(before, "objections", "heard", "model")
        views.append(("test split, heard", o["heard"]["model"], was, "heard"))
    lines = [
        "| F1 now (before) | " + " | ".join(v[0] for v in views) + " |",
        "|---|" + "---|" * len(views),
    ]
    for cat in (*CATEGORIES, "any objection"):
        cells = [f"{_f1(now, cat)} ({_f1(was, cat)})" for _, now, was, _ in views]
        if cat == "any objection":
            cells = [f"**{c}**" for c in cells]
        lines.append(f"| {cat} | " + " | ".join(cells) + " |")
    alarms = [f"{_alarms(now, c)} ({_alarms(was, c)})" for _, now, was, c in views]
    lines.append("| false alarms | " + " | ".join(alarms) + " |")
    return "\n".join(lines) + "\n"
