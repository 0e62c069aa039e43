"""The benchmark: a quick run produces valid JSON, a summary and plots, and holds its
ratios against the committed reference within their noise -- the latency guard CI
runs. Compare gates only on changes larger than a figure's noise; README's tables
are the committed reference's, rendered.

One quick run (~3 min on 2 cores: the real phone call replayed in real time twice,
mono and two-channel, beside offline and naive decoding) is shared by the tests in
this module. It runs without Chromium and with a data folder that does not exist, so
it behaves as on a fresh clone (and checks that missing optional parts are skipped,
not fatal).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from benchmarks import compare, report
from benchmarks.__main__ import main
from benchmarks.budget import BUDGET
from benchmarks.results import bootstrap_noise, pct
from tests.helpers.paths import REPO

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BENCH = REPO / "benchmarks"
REFERENCE = BENCH / "reference.json"
REFERENCE_QUICK = BENCH / "reference-quick.json"
# The ratios CI guards: streaming latency and CPU against the naive 2 s loop and
# offline decoding of the same recording, measured in the same run.
GUARDED = tuple(
    f"realspeech.{inp}.{name}"
    for inp in ("2ch", "mono")
    for name in (
        "first_p50_vs_naive",
        "first_p95_vs_naive",
        "final_p95_vs_naive",
        "final_wer_vs_offline",
        "cpu_vs_offline",
        "cpu_vs_naive",
    )
)


def _quick_run(out: Path) -> tuple[int, Path, dict]:
    code = main(["--quick", "--skip-browser", "--data", str(out / "no-data"), "--out", str(out)])
    (run_dir,) = [p for p in out.iterdir() if p.is_dir() and p.name.endswith("-quick")]
    return code, run_dir, json.loads((run_dir / "result.json").read_text())


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[int, Path, dict]:
    return _quick_run(tmp_path_factory.mktemp("bench"))


def test_quick_run_writes_json_summary_and_plots(quick_run) -> None:
    code, run_dir, doc = quick_run
    assert code == 0, doc.get("failed")
    assert doc["schema"] == 2 and doc["meta"]["mode"] == "quick"
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
        "realspeech.2ch.final_wer",
        "realspeech.2ch.first_recognised_p95",
        "realspeech.mono.final_after_end_p95",
        "realspeech.final_text_differs",
        *GUARDED,
    ):
        metric = doc["metrics"][name]
        assert isinstance(metric["value"], float), name
        assert metric["better"] in ("lower", "higher") and metric["kind"], name
    for name in GUARDED:  # each guarded ratio knows its noise
        assert 0 <= doc["metrics"][name]["noise"] < 2, name
    e2e = doc["sections"]["end_to_end"]
    assert e2e["lines_matched"] == e2e["lines"] > 0  # every scripted line got its text
    assert e2e["final_true_s"]["p50"] > 0  # how fast is the gate's and the budget's
    assert [row["figure"] for row in doc["budget"]] == [line.figure for line in BUDGET]
    # Missing optional parts are skipped with a reason, not fatal.
    assert "browser" in doc["skipped"] and "data" in doc["skipped"]
    summary = (run_dir / "summary.md").read_text()
    for heading in ("## Budget", "## Real speech", "## End to end", "## Per stage"):
        assert heading in summary
    for png in ("latency_by_stage.png", "latency_vs_length.png", "cpu_rss_over_time.png"):
        data = (run_dir / png).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000, png


def test_quick_run_holds_the_committed_reference_within_noise(quick_run, tmp_path, capsys) -> None:
    """The latency guard: against reference-quick.json (the reference machine, same
    quick plan), no gated ratio got worse beyond its noise.

    A figure that trips the gate is measured again in a second quick run, and only
    one that regresses in both fails the test: a bootstrap half-width does not cover
    a slow neighbour on a shared CI machine, and a real regression reproduces."""
    _, _, doc = quick_run
    reference = json.loads(REFERENCE_QUICK.read_text())
    rows, regressed = compare.compare(reference, doc)
    gated = {row["metric"] for row in rows if row["checked"]}
    assert set(GUARDED) <= gated, sorted(set(GUARDED) - gated)
    compare.run_compare(REFERENCE_QUICK, doc)  # the table, for the failure message
    if regressed:
        _, _, again = _quick_run(tmp_path)
        _, regressed_again = compare.compare(reference, again)
        regressed = sorted(set(regressed) & set(regressed_again))
        compare.run_compare(REFERENCE_QUICK, again)
    printed = capsys.readouterr().out
    assert not regressed, printed


def test_compare_flags_a_ratio_that_got_worse_beyond_its_noise(quick_run, tmp_path) -> None:
    _, run_dir, doc = quick_run
    name = "realspeech.2ch.first_p95_vs_naive"
    metric = doc["metrics"][name]
    allowed = max(compare.DEFAULT_THRESHOLD, 1 + compare.noise_of(metric, metric))
    worse = copy.deepcopy(doc)
    worse["metrics"][name]["value"] *= allowed * 1.2
    new = tmp_path / "worse.json"
    new.write_text(json.dumps(worse))
    assert compare.main([str(run_dir / "result.json"), str(new)]) == 1
    # Within the allowance it passes: the same change, a higher threshold.
    looser = str(allowed * 1.3)
    assert compare.main([str(run_dir / "result.json"), str(new), "--threshold", looser]) == 0


def test_absolute_figures_are_compared_only_on_request(quick_run, tmp_path) -> None:
    _, run_dir, doc = quick_run
    slower = copy.deepcopy(doc)
    slower["metrics"]["realspeech.2ch.cpu_s_per_audio_s"]["value"] *= 3  # another machine
    new = tmp_path / "slower.json"
    new.write_text(json.dumps(slower))
    assert compare.main([str(run_dir / "result.json"), str(new)]) == 0
    assert compare.main([str(run_dir / "result.json"), str(new), "--all"]) == 1


def _doc(value: float, noise: float | None, kind: str = "normalized") -> dict:
    entry = {"value": value, "unit": "x", "better": "lower", "kind": kind}
    if noise is not None:
        entry["noise"] = noise
    return {"meta": {"mode": "quick"}, "metrics": {"m": entry}}


def test_a_change_within_the_noise_is_not_a_regression() -> None:
    # 1.6x worse: a regression when the figure is steady, noise when it is not.
    steady_rows, steady = compare.compare(_doc(1.0, 0.05), _doc(1.6, 0.05))
    noisy_rows, noisy = compare.compare(_doc(1.0, 0.6), _doc(1.6, 0.6))
    assert steady == ["m"] and steady_rows[0]["allowed"] == 1.25
    assert noisy == [] and noisy_rows[0]["allowed"] == pytest.approx(1.849, abs=1e-3)
    # No noise estimate (one sample, or an old reference): shown, never gated.
    rows, regressions = compare.compare(_doc(1.0, None), _doc(9.0, 0.05))
    assert regressions == [] and not rows[0]["checked"]
    assert rows[0]["why_not"] == "no noise estimate"


def test_worse_by_direction_and_accuracy_floor() -> None:
    lower = {"value": 1.0, "better": "lower", "kind": "normalized"}
    higher = {"value": 1.0, "better": "higher", "kind": "normalized"}
    assert compare.worse_by(lower, {**lower, "value": 1.5}) == pytest.approx(1.5)
    assert compare.worse_by(higher, {**higher, "value": 0.5}) == pytest.approx(2.0)
    wer0 = {"value": 0.0, "better": "lower", "kind": "accuracy"}
    # One wrong word in 22 is within the floor; a fifth of the words wrong is not.
    assert compare.worse_by(wer0, {**wer0, "value": 0.045}) < 1.25
    assert compare.worse_by(wer0, {**wer0, "value": 0.2}) > 1.25


def test_bootstrap_noise_is_repeatable_and_needs_samples() -> None:
    steady = [1.0, 1.01, 0.99, 1.0, 1.02, 0.98] * 5
    spread = [0.2, 1.8, 0.5, 1.5, 1.0, 0.1] * 5
    p50 = lambda s: pct(s, 50)  # noqa: E731
    assert bootstrap_noise(p50, steady) == bootstrap_noise(p50, steady)  # fixed seed
    assert bootstrap_noise(p50, steady) < 0.05 < bootstrap_noise(p50, spread)
    assert bootstrap_noise(p50, [1.0, 2.0]) is None  # too little to resample


def test_performance_doc_tables_are_the_committed_reference_rendered() -> None:
    """Every benchmark figure in the docs comes from one saved run, by one command."""
    page = report.DOC.read_text("utf-8")
    found = report.current_block(page)
    assert found is not None, "docs/performance.md has no benchmark tables markers"
    start, end, source = found
    assert page[start:end] == report.docs_block(report.REPO / source), (
        f"docs/performance.md's tables differ from {source}: "
        f"run python -m benchmarks.report {source} --docs"
    )
    readme = report.README.read_text("utf-8")
    head = report.current_headline(readme)
    assert head is not None, "README.md has no headline table markers"
    assert readme[head[0] : head[1]] == report.headline_block(report.REPO / source)
