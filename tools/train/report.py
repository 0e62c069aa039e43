"""Markdown tables of one ``tools.train.evaluate`` run (what README's detector section
shows)."""

from __future__ import annotations

from typing import Any

from assistant.coach.detectors.objection_model import CATEGORIES


def _prf(m: dict[str, Any]) -> str:
    return f"{m['precision']:.2f} / {m['recall']:.2f} / **{m['f1']:.2f}**"


def heldout_table(r: dict[str, Any]) -> list[str]:
    held = r["objections"]["heldout"]
    views = [("text", held["model"])]
    views += [(f"spoken, {voice}", s) for voice, s in r.get("spoken", {}).items()]
    views.append(("lexicon before, text", held["lexicon (before)"]))
    lines = [
        "| category | positives | " + " | ".join(f"{v} P / R / F1" for v, _ in views) + " |",
        "|---|---|" + "---|" * len(views),
    ]
    for cat in (*CATEGORIES, "any objection"):
        cells = " | ".join(_prf(m[cat]) for _, m in views)
        lines.append(f"| {cat} | {held['model'][cat]['positives']} | {cells} |")
    alarms = " | ".join(str(m["false_alarms"].get("heldout", [0, 0])[0]) for _, m in views)
    lines.append(f"| false alarms (of {held['lines'].get('none', 0)} neutral) | | {alarms} |")
    for voice, s in r.get("spoken", {}).items():
        lines.append("")
        lines.append(
            f"Spoken, {voice}: customer-line WER {s['wer']}, {s['objection_signals']} objection "
            f"signals, {s['objection_cards']} objection cards ({s['cards_on_neutral_lines']} on "
            f"neutral lines; the playbook's pacing holds the rest back)"
            + (" - replay cached for these weights." if s.get("cached") else ".")
        )
    return lines


def split_table(r: dict[str, Any]) -> list[str]:
    o = r["objections"]
    views = [("text", o["text"]["model"]), ("lexicon, text", o["text"]["lexicon (before)"])]
    if "heard" in o:
        views.insert(1, ("heard", o["heard"]["model"]))
    lines = [
        "| category | positives | " + " | ".join(f"{v} P / R / F1" for v, _ in views) + " |",
        "|---|---|" + "---|" * len(views),
    ]
    for cat in (*CATEGORIES, "any objection"):
        cells = " | ".join(_prf(m[cat]) for _, m in views)
        lines.append(f"| {cat} | {o['text']['model'][cat]['positives']} | {cells} |")
    if "heard" in o:
        lines += ["", f"Heard: the same lines spoken by {', '.join(o['heard']['voices'])}."]
    return lines


def alarms_table(r: dict[str, Any]) -> list[str]:
    o = r["objections"]
    model, lexicon = o["text"]["model"]["false_alarms"], o["text"]["lexicon (before)"]
    rows = [
        "| neutral lines | model | lexicon before |",
        "|---|---|---|",
    ]
    for corpus in ("MELD", "SwDA", "CaSiNo", "written"):
        if corpus in model:
            n, total = model[corpus]
            label = "written sales lines" if corpus == "written" else f"{corpus} test half"
            rows.append(f"| {label} ({total}) | {n} | {lexicon['false_alarms'][corpus][0]} |")
    if "heard" in o:
        n, total = o["heard"]["model"]["false_alarms"].get("heard", [0, 0])
        before = o["heard"]["lexicon (before)"]["false_alarms"].get("heard", [0, 0])[0]
        rows.append(f"| written sales lines, heard ({total}) | {n} | {before} |")
    ami = r["ami"]
    sales = ami["sales-call"]
    per_10 = 10 * sales["cards"] / ami["minutes"]
    rows.append(
        f"| AMI ES2011a ({ami['utterances']} lines, {ami['minutes']} min) | "
        f"{sales['signals'].get('objection', 0)} objection signals; {sales['cards']} cards "
        f"({per_10:.2f} per 10 min: {', '.join(sales['card_triggers']) or '-'}) | |"
    )
    for name, t in r["transcripts"].items():
        rows.append(
            f"| {name.replace('_', ' ')} | {t['objection_signals']} objection signals; cards: "
            f"{', '.join(t['cards']) or 'none'} | |"
        )
    return rows


def corpus_table(r: dict[str, Any]) -> list[str]:
    lines = [
        "| detector vs label (data) | P | R | F1 | VADER F1 | positives / n | ms/utt |",
        "|---|---|---|---|---|---|---|",
    ]
    for section in ("meld", "swda", "uss"):
        for name, x in r.get(section, {}).items():
            lines.append(
                f"| {name} | {x['precision']:.3f} | {x['recall']:.3f} | **{x['f1']:.3f}** | "
                f"{x['baseline_vader']['f1']:.3f} | {x['positives']} / {x['n']} | "
                f"{x['ms_per_utterance']:.3f} |"
            )
    return lines


def latency_lines(r: dict[str, Any]) -> list[str]:
    lat = r["latency"]
    return [
        "| model | p50 ms | p95 ms | mean ms | lines |",
        "|---|---|---|---|---|",
        *(
            f"| {name} | {x['p50_ms']:.3f} | {x['p95_ms']:.3f} | {x['mean_ms']:.3f} | "
            f"{x['utterances']} |"
            for name, x in lat.items()
        ),
    ]


def render(r: dict[str, Any]) -> str:
    parts = [
        "Held-out everyday objections (never trained or tuned on):",
        "",
        *heldout_table(r),
        "",
        "Development set, untouched test split (written lines; a category counts only "
        "with the right category):",
        "",
        *split_table(r),
        "",
        "False alarms:",
        "",
        *alarms_table(r),
        "",
        "Negativity and the other text detectors:",
        "",
        *corpus_table(r),
        "",
        "Time per utterance (this CPU, one thread):",
        "",
        *latency_lines(r),
    ]
    return "\n".join(parts) + "\n"
