"""The Markdown summary of one run: the budget, then each section's tables, made
from the run's JSON so a saved result re-renders (``python -m benchmarks.report``).

``--readme`` writes the same tables into README.md's Performance section, between
its markers: every figure README shows comes from one run, by one command.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from . import tables
from .budget import check
from .material import REPO
from .windows import table as window_table

README = REPO / "README.md"
BEGIN = "<!-- benchmark tables: python -m benchmarks.report {source} --readme -->"
END = "<!-- end of benchmark tables -->"


def markdown(doc: dict[str, Any], level: int = 1) -> str:
    """The run's tables; ``level`` is the depth of the title (README nests them)."""
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
    for r in check(doc):
        mark = {True: "ok", False: "**over**", None: "n/a"}[r["ok"]]
        out.append(f"| {r['figure']} | {r['budget']} | {r['measured']} | {mark} |")
    out += tables.realspeech(sec.get("realspeech"))
    out += window_table(sec.get("windows"))
    out += tables.end_to_end(sec.get("end_to_end"))
    out += tables.stages(sec.get("stages"))
    out += tables.scaling(sec.get("scaling"), sec.get("cost"), sec.get("models"))
    if doc.get("skipped"):
        out += ["", f"{h}# Skipped", ""]
        out += [f"- {k}: {v}" for k, v in doc["skipped"].items()]
    text = "\n".join(out) + "\n"
    # Sections write their own "## " headings; nest them under the title.
    return text.replace("\n## ", f"\n{h}# ") if level > 1 else text


def readme_block(source: Path) -> str:
    """README's Performance tables, rendered from ``source`` (a saved run)."""
    doc = json.loads(source.read_text("utf-8"))
    name = source.resolve().relative_to(REPO) if source.resolve().is_relative_to(REPO) else source
    body = markdown(doc, level=2).split("\n", 1)[1]  # README has its own heading
    return f"{BEGIN.format(source=name)}\n{body.strip()}\n{END}"


def current_block(readme: str) -> tuple[int, int, str] | None:
    """(start, end, source) of the tables in README, or None."""
    start = readme.find("<!-- benchmark tables: ")
    end = readme.find(END)
    if start < 0 or end < start:
        return None
    first = readme[start : readme.index("\n", start)]
    source = first.split("python -m benchmarks.report ", 1)[1].split(" --readme", 1)[0]
    return start, end + len(END), source


def write_readme(source: Path, readme: Path = README) -> None:
    text = readme.read_text("utf-8")
    found = current_block(text)
    if found is None:
        raise SystemExit(f"{readme} has no benchmark tables markers ({END!r})")
    start, end, _ = found
    readme.write_text(text[:start] + readme_block(source) + text[end:], "utf-8")


def main(argv: list[str] | None = None) -> int:
    """Re-render the summary of a saved run, or write it into README.md."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=main.__doc__)
    parser.add_argument("result", type=Path, help="a result.json (or a committed reference)")
    parser.add_argument(
        "--readme",
        action="store_true",
        help="replace README.md's benchmark tables with this run's",
    )
    args = parser.parse_args(argv)
    if args.readme:
        write_readme(args.result)
        print(f"README.md's benchmark tables now come from {args.result}")
        return 0
    print(markdown(json.loads(args.result.read_text("utf-8"))), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
