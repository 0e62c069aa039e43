"""The headline metrics of a run (what ``--compare`` checks) and the raw series
(what the plots draw), pulled out of the sections once every section has run."""

from __future__ import annotations

from typing import Any

from .common import (
    BUDGET_CARD_P95_S,
    BUDGET_CPU_SPEAKING_SHARE,
    BUDGET_FINAL_P95_S,
    BUDGET_PARTIAL_INTERVAL_S,
    BUDGET_RSS_MB,
    Results,
    dig,
    ratio,
)


def collect_series(sections: dict[str, Any]) -> dict[str, Any]:
    """Move per-sample lists and timelines out of the sections (they are for plots,
    and would bloat the committed reference)."""
    series: dict[str, Any] = {}
    e2e = sections.get("end_to_end")
    if e2e:
        series.update(e2e.pop("samples", {}))
        rendered = e2e.pop("samples_rendered", {})
        series.update(rendered)
        series["by_length"] = e2e.pop("by_length", [])
        series["resources_e2e"] = e2e.pop("resources", None)
        series["lag_e2e"] = (e2e.get("lag") or {}).pop("timeline", None)
    naive = dig(sections, "baselines", "naive")
    if naive:
        series["naive_final_s"] = naive.pop("samples", [])
    long_call = dig(sections, "cost", "long_call")
    if long_call:
        series["resources_long_call"] = long_call.pop("resources", None)
    return series


def _le(limit: float) -> str:
    return f"<= {limit:g}"


def add_headline_metrics(r: Results) -> None:
    s = r.sections
    e = s.get("end_to_end") or {}
    m = r.metric
    m("e2e.final_true_p50", dig(e, "final_true_s", "p50"), "s")
    m("e2e.final_true_p95", dig(e, "final_true_s", "p95"), "s", budget=_le(BUDGET_FINAL_P95_S))
    m("e2e.final_vad_p95", dig(e, "final_vad_s", "p95"), "s")
    m("e2e.suggestion_true_p95", dig(e, "suggestion_true_s", "p95"), "s")
    m(
        "e2e.card_painted_true_p95",
        dig(e, "rendered_card_true_s", "p95"),
        "s",
        budget=_le(BUDGET_CARD_P95_S),
    )
    m("e2e.caption_painted_true_p95", dig(e, "rendered_caption_true_s", "p95"), "s")
    m(
        "e2e.partial_interval_p95",
        dig(e, "partials", "interval_s", "p95"),
        "s",
        budget=_le(BUDGET_PARTIAL_INTERVAL_S),
    )
    m("e2e.first_caption_p50", dig(e, "partials", "speech_start_to_first_s", "p50"), "s")
    share = e.get("cpu_share")
    m("e2e.cpu_share", None if share is None else share * 100, "% of 2 cores")
    speaking = e.get("cpu_share_speaking")
    m(
        "e2e.cpu_share_speaking",
        None if speaking is None else speaking * 100,
        "% of 2 cores",
        budget=_le(BUDGET_CPU_SPEAKING_SHARE * 100),
    )
    m("e2e.peak_rss_mb", e.get("peak_rss_mb"), "MB", budget=_le(BUDGET_RSS_MB))
    m("e2e.audio_lag_max_s", dig(e, "lag", "audio_lag_s", "max"), "s")
    m("e2e.decoder_busy_per_audio_s", e.get("decoder_busy_per_audio_s"), "s/s")
    m("e2e.dropped_partials", e.get("dropped_partials"), "count", kind="count")
    m("e2e.wer_sample_call", dig(e, "wer", "wer"), "WER", kind="accuracy")
    # Machine-independent: our figures over baselines measured in the same run.
    b = s.get("baselines") or {}
    for key, value in (b.get("ratios") or {}).items():
        m(f"ratio.{key}", value, "ratio", kind="normalized")
    final_p95 = dig(e, "final_true_s", "p95")
    m(
        "ratio.caption_painted_p95_vs_final_p95",
        ratio(dig(e, "rendered_caption_true_s", "p95"), final_p95),
        "ratio",
        kind="normalized",
    )
    rows = dig(s, "stages", "decode", "rows") or []
    for row in rows:
        if "transcribe_s" in row:
            m(
                f"ratio.decode_final_{row['utterance_s']:g}s_vs_transcribe",
                ratio(row["final_s"], row["transcribe_s"]),
                "ratio",
                kind="normalized",
            )
    if rows:
        # Cost growth with utterance length, as a ratio within the run: 15 s over 2 s.
        by_len = {r["utterance_s"]: r["final_s"] for r in rows}
        m(
            "ratio.decode_15s_vs_2s",
            ratio(by_len.get(15), by_len.get(2)),
            "ratio",
            kind="normalized",
        )
    m("baseline.naive_final_p95", dig(b, "naive", "final_true_s", "p95"), "s")
    m("baseline.offline_cpu_s_per_audio_s", dig(b, "offline", "cpu_s_per_audio_s"), "s/s")
