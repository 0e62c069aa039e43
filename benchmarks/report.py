"""The Markdown summary of one run: the budget, then each section's tables, made
from the run's JSON so a saved result re-renders (``python -m benchmarks.report``).

``--docs`` writes the same tables into docs/performance.md, between its markers:
every benchmark figure the docs show comes from one run, by one command.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from . import tables
from .budget import check
from .material import REPO

DOC = REPO / "docs" / "performance.md"
BEGIN = "<!-- benchmark tables: python -m benchmarks.report {source} --docs -->"
END = "<!-- end of benchmark tables -->"
# README's headline: the budget table of the same run, between its own markers.
README = REPO / "README.md"
HEAD_BEGIN = "<!-- headline: python -m benchmarks.report {source} --docs -->"
HEAD_END = "<!-- end of headline -->"


def markdown(doc: dict[str, Any], level: int = 1) -> str:
    """The run's tables; ``level`` is the depth of the title (the docs nest them)."""
    meta, sec = doc.get("meta", {}), doc.get("sections", {})
    h = "#" * level
    out = [
        f"{h} Turnaround benchmark ({meta.get('mode', '?')} run)",
        "",
        f"{meta.get('started', '')} · {meta.get('cpu', '?')} · {meta.get('cores', '?')} cores · "
        f"model {meta.get('model')} · commit {meta.get('commit', '?')} · load average "
        f"{meta.get('loadavg_start', '?')} -> {meta.get('loadavg_end', '?')} · "
        f"{meta.get('wall_s', '?')} s",
        "",
        f"{h}# Budget (benchmarks/budget.py)",
        "",
        "| figure | budget | measured | |",
        "|---|---|---|---|",
    ]
    out += budget_rows(doc)
    out += tables.realspeech(sec.get("realspeech"))
    out += tables.end_to_end(sec.get("end_to_end"))
    out += tables.stages(sec.get("stages"))
    out += tables.scaling(sec.get("scaling"), sec.get("cost"))
    if doc.get("skipped"):
        out += ["", f"{h}# Skipped", ""]
        out += [f"- {k}: {v}" for k, v in doc["skipped"].items()]
    text = "\n".join(out) + "\n"
    # Sections write their own "## " headings; nest them under the title.
    return text.replace("\n## ", f"\n{h}# ") if level > 1 else text


def budget_rows(doc: dict[str, Any]) -> list[str]:
    out = []
    for r in check(doc):
        mark = {True: "ok", False: "**over**", None: "n/a"}[r["ok"]]
        out.append(f"| {r['figure']} | {r['budget']} | {r['measured']} | {mark} |")
    return out


def headline_block(source: Path) -> str:
    """README's headline table (the budget, measured), rendered from ``source``."""
    doc = json.loads(source.read_text("utf-8"))
    name = source.resolve().relative_to(REPO) if source.resolve().is_relative_to(REPO) else source
    meta = doc.get("meta", {})
    rows = ["| figure | budget | measured | |", "|---|---|---|---|", *budget_rows(doc)]
    when = f"{meta.get('mode', '?')} run, {meta.get('started', '')}, {meta.get('cores', '?')} cores"
    speech = _speech_rows(doc.get("sections", {}).get("realspeech") or {})
    return "\n".join([HEAD_BEGIN.format(source=name), f"({when})", "", *rows, *speech, HEAD_END])


def _speech_rows(sec: dict[str, Any]) -> list[str]:
    """Pooled real speech: first and final text beside offline and the naive loop."""
    pooled = sec.get("pooled") or {}
    if not pooled:
        return []
    out = [
        "",
        "| real speech, pooled | WER final / first | offline | naive 2 s loop "
        "| first text p95 (recognised) | naive p95 | final p95 after its end |",
        "|---|---|---|---|---|---|---|",
    ]
    for inp in ("mono", "2ch"):
        b = pooled.get(inp)
        if not b:
            continue
        first, final, off, naive = b["first"], b["final"], b["offline"], b["naive"]
        out.append(
            f"| {inp} | {final['wer']:.3f} / {first['wer']:.3f} | {off['wer']:.3f} | "
            f"{naive['wer']:.3f} | {first['recognised_s']['p95']:.2f} s | "
            f"{naive['recognised_s']['p95']:.2f} s | {final['after_end_s']['p95']:.2f} s |"
        )
    return out


def current_headline(readme: str) -> tuple[int, int] | None:
    start = readme.find("<!-- headline: ")
    end = readme.find(HEAD_END)
    return None if start < 0 or end < start else (start, end + len(HEAD_END))


def docs_block(source: Path) -> str:
    """docs/performance.md's tables, rendered from ``source`` (a saved run)."""
    doc = json.loads(source.read_text("utf-8"))
    name = source.resolve().relative_to(REPO) if source.resolve().is_relative_to(REPO) else source
    body = markdown(doc, level=2).split("\n", 1)[1]  # the page has its own heading
    return f"{BEGIN.format(source=name)}\n{body.strip()}\n{END}"


def current_block(readme: str) -> tuple[int, int, str] | None:
    """(start, end, source) of the tables in a page, or None."""
    start = readme.find("<!-- benchmark tables: ")
    end = readme.find(END)
    if start < 0 or end < start:
        return None
    first = readme[start : readme.index("\n", start)]
    source = first.split("python -m benchmarks.report ", 1)[1].split(" --docs", 1)[0]
    return start, end + len(END), source


def write_docs(source: Path, readme: Path = DOC) -> None:
    text = readme.read_text("utf-8")
    found = current_block(text)
    if found is None:
        raise SystemExit(f"{readme} has no benchmark tables markers ({END!r})")
    start, end, _ = found
    readme.write_text(text[:start] + docs_block(source) + text[end:], "utf-8")
    text = README.read_text("utf-8")
    head = current_headline(text)
    if head is None:
        raise SystemExit(f"{README} has no headline markers ({HEAD_END!r})")
    README.write_text(text[: head[0]] + headline_block(source) + text[head[1] :], "utf-8")


def main(argv: list[str] | None = None) -> int:
    """Re-render the summary of a saved run, or write it into docs/performance.md."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=main.__doc__)
    parser.add_argument("result", type=Path, help="a result.json (or a committed reference)")
    parser.add_argument(
        "--docs",
        action="store_true",
        help="replace docs/performance.md's benchmark tables and README's headline "
        "table with this run's",
    )
    args = parser.parse_args(argv)
    if args.docs:
        write_docs(args.result)
        print(f"docs/performance.md's benchmark tables now come from {args.result}")
        return 0
    print(markdown(json.loads(args.result.read_text("utf-8"))), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
