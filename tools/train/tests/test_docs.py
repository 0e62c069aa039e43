"""docs/detectors.md's figures are one saved run, rendered; the first-text / final-text
comparison scores what it says it scores (pure: no decoder, no audio)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.train import docs
from tools.train.first_final_report import Verdicts, by_line, compare, judge, render
from tools.train.streaming_sim import Heard


@pytest.mark.parametrize(
    ("saved", "bounds", "rendering"),
    [
        (docs.EVALUATION_JSON, docs.EVALUATION_MARKERS, docs.render_evaluation),
        (docs.FIRST_FINAL_JSON, docs.FIRST_FINAL_MARKERS, render),
    ],
    ids=["evaluation", "first-final"],
)
def test_the_page_is_its_saved_run_rendered(saved: Path, bounds, rendering) -> None:
    page = docs.DOCS.read_text("utf-8")
    found = docs.find_block(page, *bounds)
    assert found is not None, f"docs/detectors.md has no block {bounds[0]!r}"
    body = page[found[0] : found[1]].strip()
    assert body == rendering(json.loads(saved.read_text("utf-8"))).strip(), (
        f"docs/detectors.md differs from {saved.name}: run python -m tools.train.docs"
    )


def test_a_new_block_replaces_only_its_own_figures() -> None:
    begin, end = docs.markers("t", "cmd")
    page = docs.replace_block("# Title\n\nprose\n", begin, end, "| a |")
    assert page.startswith("# Title\n\nprose\n") and "| a |" in page
    again = docs.replace_block(page + "\nmore prose\n", begin, end, "| b |")
    assert "| a |" not in again and "| b |" in again and again.endswith("more prose\n")
    assert again.count(begin) == 1


def test_the_saved_run_keeps_figures_not_lines() -> None:
    run = {"spoken": {"v": {"misses": [{"text": "a line"}], "f1": 0.5}}, "x": [{"misses": 1}]}
    assert docs.compact(run) == {"spoken": {"v": {"f1": 0.5}}, "x": [{}]}


def _flag_budget(text: str) -> str | None:
    return "price" if "budget" in text else None


def test_first_text_verdict_is_the_first_piece_that_crosses() -> None:
    utt = Heard(
        0.0,
        3.0,
        [(1.0, "we have"), (1.8, "no budget"), (3.5, "left")],
        "we have no budget left",
        3.5,
    )
    assert utt.had_pieces
    assert judge(utt, _flag_budget) == Verdicts("price", 1.8, "price", 3.5, 3.0)
    # A final text that loses the word: first text flags it, final text does not.
    misheard = Heard(0.0, 3.0, [(1.8, "no budget")], "no budge it", 3.5)
    assert judge(misheard, _flag_budget) == Verdicts("price", 1.8, None, 3.5, 3.0)
    single = Heard(0.0, 1.0, [(2.0, "no budget")], "no budget", 2.0)
    assert not single.had_pieces


def test_comparison_counts_agreement_labels_and_lead() -> None:
    utts = [
        Heard(0.0, 3.0, [(1.8, "no budget")], "no budget", 3.5),  # both flag, 1.7 s earlier
        Heard(5.0, 6.0, [(7.0, "fine")], "fine", 7.0),  # neither
        Heard(9.0, 10.0, [(10.5, "budget")], "budge it", 11.0),  # first text only
    ]
    lines = by_line(utts, [(-0.5, 4.5), (4.5, 8.5), (8.5, 20.0)], _flag_budget)
    result = compare(lines, ["price", None, None], [u.had_pieces for u in utts])
    assert result["agree_flag"] == round(2 / 3, 3) and result["only_first"] == 1
    assert result["both"] == 1 and result["lead_s_median"] == 1.7
    # Line 1's first text came 1.2 s before its speech ended, line 3's 0.5 s after.
    assert result["first_before_end"] == 1 and result["first_after_end_s_median"] == -0.35
    assert result["first_vs_labels"]["false_alarms"] == 1
    assert result["final_vs_labels"] == {
        "precision": 1.0, "recall": 1.0, "f1": 1.0, "found": 1, "false_alarms": 0,
        "right_label": 1,
    }  # fmt: skip
