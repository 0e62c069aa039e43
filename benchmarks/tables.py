"""The tables of one run, section by section, as Markdown (from the run's JSON, so
an old result renders too). ``report`` puts them together."""

from __future__ import annotations

from typing import Any

from .results import dig


def s(x: float | None, digits: int = 2) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def ms(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 1000:.0f} ms"


def _x(entry: dict[str, Any] | None) -> str:
    """A ratio with its noise: ``0.42x ±0.08``."""
    if not entry or entry.get("value") is None:
        return "n/a"
    noise = entry.get("noise")
    spread = "" if noise is None else f" ±{noise * entry['value']:.2f}"
    return f"{entry['value']:.2f}x{spread}"


def realspeech(rs: dict[str, Any] | None) -> list[str]:
    """Real recordings: final and first text beside offline decoding and the naive
    2 s loop, per recording and pooled by input; then the targets."""
    if not rs:
        return []
    out = [
        "",
        "## Real speech (real-time replay; offline and naive 2 s windows in the same run)",
        "",
        "WER of the final text (what the session keeps) and of the first text (what "
        "detectors could act on while someone talks); latency p50 / p95 from each "
        "reference utterance's end to its last recognised word; final text also from "
        "its own utterance's end; *same*: the final text of fast replay (and of a "
        "real-time replay beside a busy core, where run) is identical.",
        "",
        "| recording | input | WER final | first | offline | naive | first text p50 / p95 "
        "| final text p50 / p95 | naive p50 / p95 | final after its end p95 | CPU speaking "
        "| same |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def line(name: str, inp: str, row: dict[str, Any]) -> str:
        first, final, naive = row["first"], row["final"], row["naive"]

        def lat(part: dict[str, Any]) -> str:
            r = part.get("recognised_s") or {}
            return f"{s(r.get('p50'))} / {s(r.get('p95'))} s"

        same = row.get("identical")
        if isinstance(same, dict):
            same = same.get("all")
        cpu = dig(row, "cpu", "cpu_speaking")
        return (
            f"| {name} | {inp} | {final['wer']:.3f} | {first['wer']:.3f} | "
            f"{row['offline']['wer']:.3f} | {naive['wer']:.3f} | {lat(first)} | {lat(final)} | "
            f"{lat(naive)} | {s(dig(final, 'after_end_s', 'p95'))} s | "
            f"{'n/a' if cpu is None else f'{cpu * 100:.0f} %'} | {'yes' if same else 'no'} |"
        )

    for key, row in rs.get("recordings", {}).items():
        name = key.rsplit(".", 1)[0] + (" (synthetic)" if row.get("synthetic") else "")
        out.append(line(name, row["input"], row))
    pooled = rs.get("pooled", {})
    for inp, p in pooled.items():
        out.append(line("**all real**", inp, p))
    if pooled:
        out += [
            "",
            "| input | final WER vs offline | first text p95 (recognised) | final p95 after "
            "its end | same final text | targets met |",
            "|---|---|---|---|---|---|",
        ]
        for inp, p in pooled.items():
            t = p.get("target") or {}
            out.append(
                f"| {inp} | {s(t.get('final_wer_vs_offline'))}x (<= "
                f"{t.get('final_wer_vs_offline_max')}) | "
                f"{s(dig(p, 'first', 'recognised_s', 'p95'))} s (<= "
                f"{t.get('first_recognised_p95_max_s')}) | "
                f"{s(dig(p, 'final', 'after_end_s', 'p95'))} s (<= "
                f"{t.get('final_after_end_p95_max_s')}) | "
                f"{'yes' if p.get('identical') else 'no'} | {'yes' if t.get('met') else 'no'} |"
            )
    return out


def end_to_end(e2e: dict[str, Any] | None) -> list[str]:
    if not e2e:
        return []
    out = [
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
            f"| {label} | {ms(p.get('p50'))} | {ms(p.get('p95'))} | "
            f"{ms(p.get('max'))} | {p.get('n', 0)} |"
        )
    part = e2e.get("partials", {})
    wer = dig(e2e, "wer", "wer")
    out += [
        "",
        f"Partial captions: every {ms(dig(part, 'interval_s', 'p50'))} (p50), "
        f"{ms(dig(part, 'interval_s', 'p95'))} (p95) while speaking; first caption "
        f"{ms(dig(part, 'speech_start_to_first_s', 'p50'))} after speech starts. "
        f"Decoder busy {s(e2e.get('decoder_busy_per_audio_s'))} s per audio second "
        f"(partials {dig(e2e, 'decoder_busy_s_by_kind', 'partial')} s, finals "
        f"{dig(e2e, 'decoder_busy_s_by_kind', 'final')} s); CPU "
        f"{s((e2e.get('cpu_share') or 0) * 100, 1)} % of 2 cores; audio lag max "
        f"{ms(dig(e2e, 'lag', 'audio_lag_s', 'max'))}"
        + (f"; WER {wer:.3f}." if wer is not None else "."),
        "",
        "CPU seconds by thread: "
        + ", ".join(f"{k} {v:g}" for k, v in (e2e.get("cpu_by_thread") or {}).items()),
    ]
    return out


def stages(st: dict[str, Any] | None) -> list[str]:
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
                f"| {r['utterance_s']:g} s | {ms(r['final_s'])} | {ms(r['partial_s'])} "
                f"({r['partial_audio_s']:g} s) | {ms(r.get('transcribe_s'))} |"
            )
    det = st.get("detectors")
    if det:
        out += [
            "",
            f"Detectors: {s(dig(det, 'all_detectors_ms', 'p50'), 3)} ms per final (p50, "
            f"state update with sentiment {s(dig(det, 'state_update_ms', 'p50'), 3)} ms); whole "
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
                f"| {r['clients']} | {ms(dig(r, 'last_client_s', 'p50'))} | "
                f"{ms(dig(r, 'last_client_s', 'p95'))} | {r['delivered']}/{r['expected']} |"
            )
    return out


def scaling(sc: dict[str, Any] | None, cost: dict[str, Any] | None) -> list[str]:
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
                f"| {n} | {ms(dig(r, 'final_true_s', 'p50'))} / "
                f"{ms(dig(r, 'final_true_s', 'p95'))} | "
                f"{ms(dig(r, 'rendered_card_true_s', 'p95'))} | "
                f"{ms(dig(r, 'partials', 'interval_s', 'p95'))} | "
                f"{s(r.get('cpu_share', 0) * 100, 0)} % | {s(r.get('peak_rss_mb'), 0)} MB |"
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
                f"| {p['from_min']:g} | {s(p.get('final_latency_ms_p50'), 0)} ms | "
                f"{s(p['decode_ms_p50'], 0)} ms | {s(p['engine_ms_p50'], 2)} ms | "
                f"{s(p['rss_mb_max'], 0)} MB |"
            )
    return out
