"""The markdown summary of one run, and the budget check (DEVELOPERS.md), both made
from the run's JSON so an old result can be re-rendered."""

from __future__ import annotations

from typing import Any

from .common import (
    BUDGET_CARD_P95_S,
    BUDGET_CPU_SPEAKING_SHARE,
    BUDGET_FINAL_P95_S,
    BUDGET_PARTIAL_INTERVAL_S,
    BUDGET_RSS_MB,
    BUDGET_SILENCE_PCT,
    dig,
)
from .windows import table as window_table


def _s(x: float | None, digits: int = 2) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _ms(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 1000:.0f} ms"


def _pct(share: float | None) -> float | None:
    return None if share is None else share * 100


def _at_most(value: float | None, limit: float) -> bool | None:
    """Within budget; None when the figure was not measured."""
    return None if value is None else value <= limit


def budget(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per budget line: what was measured, against what, and pass/fail."""
    s = doc.get("sections", {})
    e2e = s.get("end_to_end", {})
    rows: list[dict[str, Any]] = []

    def row(what: str, limit: str, value: float | None, ok: bool | None, shown: str) -> None:
        rows.append({"figure": what, "budget": limit, "measured": shown, "value": value, "ok": ok})

    p95 = dig(e2e, "final_true_s", "p95")
    row(
        "end of speech -> final text, p95 (true end)",
        f"<= {BUDGET_FINAL_P95_S:g} s",
        p95,
        _at_most(p95, BUDGET_FINAL_P95_S),
        f"{_s(p95)} s (VAD end: {_s(dig(e2e, 'final_vad_s', 'p95'))} s)",
    )
    card = dig(e2e, "rendered_card_true_s", "p95")
    caption = dig(e2e, "rendered_caption_true_s", "p95")
    n_cards = dig(e2e, "rendered_card_true_s", "n") or 0
    row(
        "end of speech -> card visible in Chromium, p95",
        f"<= {BUDGET_CARD_P95_S:g} s",
        card,
        _at_most(card, BUDGET_CARD_P95_S),
        f"{_s(card)} s over {n_cards} card(s); final captions {_s(caption)} s",
    )
    gap = dig(e2e, "partials", "interval_s", "p95")
    row(
        "partial caption interval while speaking, p95",
        f"<= {BUDGET_PARTIAL_INTERVAL_S:g} s",
        gap,
        _at_most(gap, BUDGET_PARTIAL_INTERVAL_S),
        f"{_s(gap)} s (p50 {_s(dig(e2e, 'partials', 'interval_s', 'p50'))} s, first caption "
        f"{_s(dig(e2e, 'partials', 'speech_start_to_first_s', 'p50'))} s after speech starts)",
    )
    speaking = e2e.get("cpu_share_speaking")
    jfk = dig(s, "accuracy", "jfk", "cpu_share")
    worst = max([x for x in (speaking, jfk) if x is not None], default=None)
    row(
        "CPU while someone speaks",
        f"<= {BUDGET_CPU_SPEAKING_SHARE * 100:g} % of 2 cores",
        _pct(worst),
        _at_most(worst, BUDGET_CPU_SPEAKING_SHARE),
        f"{_s(_pct(speaking), 1)} % (sample call), {_s(_pct(jfk), 1)} % (jfk monologue)",
    )
    silent = _pct(dig(s, "cost", "silence", "cpu_share"))
    row(
        "CPU in silence",
        f"near 0 (<= {BUDGET_SILENCE_PCT:g} %)",
        silent,
        _at_most(silent, BUDGET_SILENCE_PCT),
        f"{_s(silent, 1)} %",
    )
    peaks = [
        x
        for x in (e2e.get("peak_rss_mb"), dig(s, "cost", "long_call", "peak_rss_mb"))
        if x is not None
    ]
    peak = max(peaks) if peaks else None
    row(
        "RSS (one call, peak)",
        f"<= {BUDGET_RSS_MB:g} MB",
        peak,
        _at_most(peak, BUDGET_RSS_MB),
        f"{_s(peak, 0)} MB (steady {_s(dig(s, 'cost', 'long_call', 'steady_rss_mb'), 0)} MB)",
    )
    lag = dig(e2e, "lag", "audio_lag_s", "max")
    dropped_audio = e2e.get("dropped_audio_s")
    lost = (e2e.get("lines", 0) or 0) - (e2e.get("lines_matched", 0) or 0)
    ok = None if lag is None else (lag < 1.0 and not dropped_audio and lost == 0)
    row(
        "never behind real time; finals never dropped",
        "bounded",
        lag,
        ok,
        f"audio lag max {_ms(lag)}, audio dropped {_s(dropped_audio)} s, lines without a final "
        f"{lost}, partials dropped {e2e.get('dropped_partials')}",
    )
    return rows


def markdown(doc: dict[str, Any]) -> str:
    meta, s = doc.get("meta", {}), doc.get("sections", {})
    out = [
        f"# Turnaround benchmark ({meta.get('mode', '?')} run)",
        "",
        f"{meta.get('started', '')} · {meta.get('cpu', '?')} · {meta.get('cores', '?')} cores · "
        f"model {meta.get('model')} · commit {meta.get('commit', '?')} · load average "
        f"{meta.get('loadavg_start', '?')} -> {meta.get('loadavg_end', '?')} · "
        f"{meta.get('wall_s', '?')} s",
        "",
        "## Budget (DEVELOPERS.md)",
        "",
        "| figure | budget | measured | |",
        "|---|---|---|---|",
    ]
    for r in doc.get("budget", []):
        mark = {True: "ok", False: "**over**", None: "n/a"}[r["ok"]]
        out.append(f"| {r['figure']} | {r['budget']} | {r['measured']} | {mark} |")
    e2e = s.get("end_to_end")
    if e2e:
        out += [
            "",
            f"## End to end ({e2e.get('audio_s')} s of the sample call, real time, "
            f"{e2e.get('streams', 1)} stream)",
            "",
            "| from end of speech (true end) to | p50 | p95 | max | n |",
            "|---|---|---|---|---|",
        ]
        for label, key in (
            ("final text", "final_true_s"),
            ("final text (from the VAD's end)", "final_vad_s"),
            ("suggestion", "suggestion_true_s"),
            ("final caption painted in Chromium", "rendered_caption_true_s"),
            ("card painted in Chromium", "rendered_card_true_s"),
        ):
            p = e2e.get(key) or {}
            out.append(
                f"| {label} | {_ms(p.get('p50'))} | {_ms(p.get('p95'))} | "
                f"{_ms(p.get('max'))} | {p.get('n', 0)} |"
            )
        part = e2e.get("partials", {})
        out += [
            "",
            f"Partial captions: every {_ms(dig(part, 'interval_s', 'p50'))} (p50), "
            f"{_ms(dig(part, 'interval_s', 'p95'))} (p95) while speaking; first caption "
            f"{_ms(dig(part, 'speech_start_to_first_s', 'p50'))} after speech starts. "
            f"Decoder busy {_s(e2e.get('decoder_busy_per_audio_s'))} s per audio second "
            f"(partials {dig(e2e, 'decoder_busy_s_by_kind', 'partial')} s, finals "
            f"{dig(e2e, 'decoder_busy_s_by_kind', 'final')} s); CPU "
            f"{_s(e2e.get('cpu_share', 0) * 100, 1)} % of 2 cores; audio lag max "
            f"{_ms(dig(e2e, 'lag', 'audio_lag_s', 'max'))}.",
            "",
            "CPU seconds by thread: "
            + ", ".join(f"{k} {v:g}" for k, v in (e2e.get("cpu_by_thread") or {}).items()),
        ]
    out += realspeech_tables(s.get("realspeech"))
    out += window_table(s.get("windows"))
    out += _baselines(s.get("baselines"))
    out += _stages(s.get("stages"))
    out += _accuracy(s.get("accuracy"))
    out += _scaling(s.get("scaling"), s.get("cost"))
    if doc.get("skipped"):
        out += ["", "## Skipped", ""]
        out += [f"- {k}: {v}" for k, v in doc["skipped"].items()]
    return "\n".join(out) + "\n"


def realspeech_tables(rs: dict[str, Any] | None) -> list[str]:
    """Real recordings: our WER and latency beside offline decoding and the naive
    2 s loop, per recording and pooled by input."""
    if not rs:
        return []
    out = [
        "",
        "## Real speech (real-time replay; offline and naive 2 s windows in the same run)",
        "",
        "| recording | input | WER ours | offline | ratio | naive | latency p50 / p95 / max "
        "| naive p95 | missed | CPU speaking |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def line(name: str, inp: str, ours: dict, off: dict, naive: dict, extra: dict) -> str:
        lat = ours.get("latency_s", {})
        ratio = ours["wer"] / off["wer"] if off.get("wer") else None
        cpu = extra.get("cpu_speaking")
        return (
            f"| {name} | {inp} | {ours['wer']:.3f} | {off['wer']:.3f} | "
            f"{'-' if ratio is None else f'{ratio:.2f}x'} | {naive['wer']:.3f} | "
            f"{_s(lat.get('p50'))} / {_s(lat.get('p95'))} / {_s(lat.get('max'))} s | "
            f"{_s(dig(naive, 'latency_s', 'p95'))} s | {ours.get('missed', 0)}/"
            f"{ours.get('utterances', 0)} | {'-' if cpu is None else f'{cpu * 100:.0f} %'} |"
        )

    for key, row in rs.get("recordings", {}).items():
        name = key.rsplit(".", 1)[0] + (" (synthetic)" if row.get("synthetic") else "")
        out.append(line(name, row["input"], row["ours"], row["offline"], row["naive"], row["ours"]))
    for inp, pooled in rs.get("pooled", {}).items():
        out.append(line("**all**", inp, pooled["ours"], pooled["offline"], pooled["naive"], {}))
    out += [
        "",
        "Targets (issue 9): two channels WER <= 1.10x offline and p95 <= 1.0 s; one mixed "
        "channel WER <= 1.15x offline and p95 <= 2.0 s. "
        + "; ".join(
            f"{inp}: {'met' if dig(p, 'target', 'met') else 'not met'}"
            for inp, p in rs.get("pooled", {}).items()
        )
        + ".",
    ]
    return out


def _baselines(b: dict[str, Any] | None) -> list[str]:
    if not b:
        return []
    r, off, naive = b.get("ratios", {}), b.get("offline", {}), b.get("naive", {})
    return [
        "",
        "## Against baselines (same run, same model)",
        "",
        "| | speech end -> text p50 / p95 | CPU s per audio s | WER (sample call) |",
        "|---|---|---|---|",
        f"| Turnaround (streaming) | {_ms(dig(b, 'ours', 'final_p50'))} / "
        f"{_ms(dig(b, 'ours', 'final_p95'))} | {_s(dig(b, 'ours', 'cpu_s_per_audio_s'), 3)} | "
        f"{_s(dig(b, 'ours', 'wer'), 3)} |",
        f"| naive 2 s windows | {_ms(dig(naive, 'final_true_s', 'p50'))} / "
        f"{_ms(dig(naive, 'final_true_s', 'p95'))} | {_s(naive.get('cpu_s_per_audio_s'), 3)} | "
        f"{_s(naive.get('wer'), 3)} |",
        f"| offline whole file | - | {_s(off.get('cpu_s_per_audio_s'), 3)} | "
        f"{_s(off.get('wer'), 3)} |",
        "",
        f"Ratios: latency p50 {_s(r.get('final_p50_vs_naive'))}x and p95 "
        f"{_s(r.get('final_p95_vs_naive'))}x the naive loop's; CPU {_s(r.get('cpu_vs_offline'))}x "
        f"offline's and {_s(r.get('cpu_vs_naive'))}x the naive loop's.",
    ]


def _stages(st: dict[str, Any] | None) -> list[str]:
    if not st:
        return []
    out = ["", "## Per stage", ""]
    rv = st.get("resample_vad")
    if rv:
        out.append(
            f"Resampling 48 kHz -> 16 kHz: {rv['resample_48k_ms_per_audio_s']} ms per audio "
            f"second; Silero VAD + segmenter: {rv['vad_segmenter_ms_per_audio_s']} ms per "
            "audio second (one stream)."
        )
    dec = st.get("decode")
    if dec:
        out += [
            "",
            "| utterance | final decode | partial decode (audio) | transcribe() |",
            "|---|---|---|---|",
        ]
        for r in dec["rows"]:
            out.append(
                f"| {r['utterance_s']:g} s | {_ms(r['final_s'])} | {_ms(r['partial_s'])} "
                f"({r['partial_audio_s']:g} s) | {_ms(r.get('transcribe_s'))} |"
            )
    det = st.get("detectors")
    if det:
        out += [
            "",
            f"Detectors: {_s(dig(det, 'all_detectors_ms', 'p50'), 3)} ms per final (p50, "
            f"state update with sentiment {_s(dig(det, 'state_update_ms', 'p50'), 3)} ms); whole "
            "engine on the AMI meeting: "
            + (
                ", ".join(f"{k} {v:.3f} ms" for k, v in det["ami_engine_ms_per_final"].items())
                if det.get("ami_engine_ms_per_final")
                else "n/a"
            )
            + " per final.",
        ]
    fan = st.get("fanout")
    if fan:
        out += [
            "",
            "| websocket pages | caption at every page p50 | p95 | delivered |",
            "|---|---|---|---|",
        ]
        for r in fan["rows"]:
            out.append(
                f"| {r['clients']} | {_ms(dig(r, 'last_client_s', 'p50'))} | "
                f"{_ms(dig(r, 'last_client_s', 'p95'))} | {r['delivered']}/{r['expected']} |"
            )
    return out


def _accuracy(acc: dict[str, Any] | None) -> list[str]:
    if not acc:
        return []
    out = [
        "",
        "## Accuracy on real recordings (WER)",
        "",
        "| recording | streaming | offline | streaming vs offline | final p95 (true / VAD end) |",
        "|---|---|---|---|---|",
    ]
    for name, r in acc.items():
        if name == "pooled":
            continue
        out.append(
            f"| {name} | {r['stream_vs_ref']['wer']:.3f} | {r['offline_vs_ref']['wer']:.3f} | "
            f"{r['stream_vs_offline']['wer']:.3f} | {_ms(dig(r, 'final_true_s', 'p95'))} / "
            f"{_ms(dig(r, 'final_vad_s', 'p95'))} |"
        )
    p = acc.get("pooled", {})
    out.append(
        f"| all (pooled) | {_s(p.get('stream'), 3)} | {_s(p.get('offline'), 3)} | "
        f"{_s(p.get('stream_vs_offline'), 3)} | |"
    )
    return out


def _scaling(sc: dict[str, Any] | None, cost: dict[str, Any] | None) -> list[str]:
    out: list[str] = []
    rows = (sc or {}).get("streams")
    if rows:
        out += [
            "",
            "## Concurrent streams (all talking at once)",
            "",
            "| streams | final p50 / p95 | card painted p95 | partial interval p95 | CPU "
            "| peak RSS |",
            "|---|---|---|---|---|---|",
        ]
        for n, r in rows.items():
            out.append(
                f"| {n} | {_ms(dig(r, 'final_true_s', 'p50'))} / "
                f"{_ms(dig(r, 'final_true_s', 'p95'))} | "
                f"{_ms(dig(r, 'rendered_card_true_s', 'p95'))} | "
                f"{_ms(dig(r, 'partials', 'interval_s', 'p95'))} | "
                f"{_s(r.get('cpu_share', 0) * 100, 0)} % | {_s(r.get('peak_rss_mb'), 0)} MB |"
            )
    for name, r in ((sc or {}).get("models") or {}).items():
        e = r["end_to_end"]
        out.append(
            f"\nModel {name}: final p95 {_ms(dig(e, 'final_true_s', 'p95'))}, CPU "
            f"{_s(e.get('cpu_share', 0) * 100, 0)} %."
        )
    long = (cost or {}).get("long_call")
    if long:
        out += [
            "",
            f"## Call length ({long['minutes']:g} min at {long.get('speed', 0):g}x real time, "
            f"{long['wall_s']} s; {long['finals']} finals for {long.get('speech_ended')} "
            "utterances)",
            "",
            "| from minute | VAD end -> final p50 | decode p50 | detectors p50 | RSS max |",
            "|---|---|---|---|---|",
        ]
        for p in long["phases"]:
            out.append(
                f"| {p['from_min']:g} | {_s(p.get('final_latency_ms_p50'), 0)} ms | "
                f"{_s(p['decode_ms_p50'], 0)} ms | {_s(p['engine_ms_p50'], 2)} ms | "
                f"{_s(p['rss_mb_max'], 0)} MB |"
            )
    return out


def main(argv: list[str] | None = None) -> int:
    """Re-render the summary of a saved run: python -m benchmarks.report result.json"""
    import argparse
    import json
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=main.__doc__)
    parser.add_argument("result", type=Path, help="a result.json (or reference.json)")
    args = parser.parse_args(argv)
    doc = json.loads(args.result.read_text("utf-8"))
    doc["budget"] = budget(doc)
    print(markdown(doc), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
