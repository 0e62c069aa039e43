"""The benchmark: a quick run produces valid JSON, a summary and plots; the compare
step passes an unchanged run and flags a synthetic regression.

One quick run (~45 s on 2 cores) is shared by the tests in this module. It runs
without Chromium and with a data folder that does not exist, so it behaves as on a
fresh clone (and checks that missing optional parts are skipped, not fatal).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from benchmarks import compare
from benchmarks.__main__ import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
REFERENCE = Path(__file__).resolve().parent.parent / "benchmarks" / "reference.json"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[int, Path, dict]:
    out = tmp_path_factory.mktemp("bench")
    code = main(["--quick", "--skip-browser", "--data", str(out / "no-data"), "--out", str(out)])
    (run_dir,) = [p for p in out.iterdir() if p.is_dir() and p.name.endswith("-quick")]
    return code, run_dir, json.loads((run_dir / "result.json").read_text())


def test_quick_run_writes_json_summary_and_plots(quick_run) -> None:
    code, run_dir, doc = quick_run
    assert code == 0, doc.get("failed")
    assert doc["schema"] == 1 and doc["meta"]["mode"] == "quick"
    assert not doc["failed"]
    for name in (
        "e2e.final_true_p95",
        "e2e.final_vad_p95",
        "e2e.partial_interval_p95",
        "e2e.cpu_share",
        "e2e.peak_rss_mb",
        "stage.vad_ms_per_audio_s",
        "stage.decode_final_15s",
        "stage.detectors_ms_per_final",
        "fanout.last_client_p95_10",
        "cost.model_load_s",
        "cost.cpu_share_silence",
        "cost.steady_rss_mb",
        "call_length.decode_growth",
        "ratio.final_p95_vs_naive",
        "ratio.cpu_vs_offline",
    ):
        metric = doc["metrics"][name]
        assert isinstance(metric["value"], float), name
        assert metric["better"] in ("lower", "higher") and metric["kind"], name
    e2e = doc["sections"]["end_to_end"]
    assert e2e["lines_matched"] == e2e["lines"] > 0  # every scripted line got a final
    assert 0 < e2e["final_true_s"]["p50"] < 5
    assert {row["figure"] for row in doc["budget"]} and len(doc["budget"]) == 7
    # Missing optional parts are skipped with a reason, not fatal.
    assert "browser" in doc["skipped"] and "accuracy" in doc["skipped"]
    summary = (run_dir / "summary.md").read_text()
    assert "## Budget" in summary and "## End to end" in summary
    for png in ("latency_by_stage.png", "latency_vs_length.png", "cpu_rss_over_time.png"):
        data = (run_dir / png).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000, png


def test_compare_passes_an_unchanged_run(quick_run, capsys) -> None:
    _, run_dir, doc = quick_run
    assert compare.run_compare(run_dir / "result.json", doc, threshold=1.25) == 0
    assert "no regression" in capsys.readouterr().out


def test_compare_flags_a_synthetic_regression(quick_run, tmp_path) -> None:
    _, run_dir, doc = quick_run
    worse = copy.deepcopy(doc)
    worse["metrics"]["ratio.final_p95_vs_naive"]["value"] *= 1.5
    new = tmp_path / "worse.json"
    new.write_text(json.dumps(worse))
    assert compare.main([str(run_dir / "result.json"), str(new)]) == 1
    assert compare.main([str(run_dir / "result.json"), str(new), "--threshold", "1.6"]) == 0


def test_absolute_figures_are_compared_only_on_request(quick_run, tmp_path) -> None:
    _, run_dir, doc = quick_run
    slower = copy.deepcopy(doc)
    slower["metrics"]["e2e.final_true_p95"]["value"] *= 2  # another machine, say
    new = tmp_path / "slower.json"
    new.write_text(json.dumps(slower))
    assert compare.main([str(run_dir / "result.json"), str(new)]) == 0
    assert compare.main([str(run_dir / "result.json"), str(new), "--all"]) == 1


def test_worse_by_direction_and_accuracy_floor() -> None:
    lower = {"value": 1.0, "better": "lower", "kind": "normalized"}
    higher = {"value": 1.0, "better": "higher", "kind": "normalized"}
    assert compare.worse_by(lower, {**lower, "value": 1.5}) == pytest.approx(1.5)
    assert compare.worse_by(higher, {**higher, "value": 0.5}) == pytest.approx(2.0)
    wer0 = {"value": 0.0, "better": "lower", "kind": "accuracy"}
    # One wrong word in 22 is within the floor; a fifth of the words wrong is not.
    assert compare.worse_by(wer0, {**wer0, "value": 0.045}) < 1.25
    assert compare.worse_by(wer0, {**wer0, "value": 0.2}) > 1.25


def test_committed_reference_is_valid_and_compares_clean(capsys) -> None:
    doc = json.loads(REFERENCE.read_text())
    assert doc["meta"]["mode"] == "full" and doc["metrics"]
    assert "series" not in doc  # the committed copy stays small
    assert compare.run_compare(REFERENCE, doc, threshold=1.25) == 0
