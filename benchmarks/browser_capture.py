"""What browser capture costs (``turnaround live --browser``): page -> coach latency of
the audio frames, and the CPU that Chromium spends while the page listens.

    python -m benchmarks.browser_capture                # 30 s listening, with the coach
    python -m benchmarks.browser_capture --seconds 60 --no-coach --json out.json

A real headless Chromium opens the real overlay page from a real overlay server in
this process; its fake microphone plays a real recording and a second tab plays
another one (the call), picked for sharing as a user's click would (the flags of
RECIPES.md). Listen is clicked; both inputs stream to the server's capture hub.

* **Latency**: each frame carries its capture time (the worklet's clock mapped to
  the page's epoch clock); the hub stamps its arrival on the server's event loop.
  Same machine, same wall clock: arrival - capture is what capture adds (worklet ->
  page -> websocket -> the coach's loop). With ``--coach`` (the default) the frames
  feed the real pipeline and Whisper transcribes them meanwhile, as in a call.
* **Page CPU**: CPU seconds of every Chromium process (browser, renderers, audio
  and network services, GPU) over the same wall time, first with the page open and
  the call tab playing but not listening, then while listening. The difference is
  what capture costs; both are said as % of one core, and per process type.

Wall-clock figures depend on what else the machine runs: say the load beside them.
Not part of ``python -m benchmarks`` (it needs Chromium and takes a minute).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from .material import REPO, SAMPLE_CALL

REAL = REPO / "tests" / "fixtures" / "audio" / "real"
CALL_TITLE = "Customer call"
WAIT_S = 60.0


def _wav(name: str, folder: Path) -> Path:
    """A real recording as the 16 kHz 16-bit WAV Chromium's fake microphone reads
    (the bundled sample call when the test recordings are not there)."""
    from assistant.audio.file_source import decode_file, write_wav

    source = REAL / f"{name}.ogg"
    audio = decode_file(source if source.is_file() else SAMPLE_CALL)
    return write_wav(folder / f"{name}.wav", audio.mean(axis=1, keepdims=True))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def _call_site(folder: Path, wav: Path) -> tuple[str, http.server.ThreadingHTTPServer]:
    """A tab that plays ``wav`` over and over, as the call's tab does; another site
    (``localhost``; the overlay is on 127.0.0.1), so another renderer."""
    (folder / "call.html").write_text(
        f"<!doctype html><title>{CALL_TITLE}</title>"
        f'<audio id="call" src="{wav.name}" autoplay loop></audio>'
    )
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://localhost:{server.server_address[1]}/call.html", server


def _chromium_processes() -> list[Any]:
    import psutil

    found = []
    for proc in psutil.Process(os.getpid()).children(recursive=True):
        try:
            if "chrom" in proc.name().lower():
                found.append(proc)
        except psutil.Error:
            continue
    return found


def _kind(proc: Any) -> str:
    try:
        args = proc.cmdline()
    except Exception:
        return "gone"
    for arg in args:
        if arg.startswith("--utility-sub-type="):
            return arg.split("=", 1)[1].rsplit(".", 1)[-1]  # e.g. AudioService
        if arg.startswith("--type="):
            kind = arg.split("=", 1)[1]
            if kind != "utility":
                return kind
    return "browser"


def _cpu_by_kind() -> dict[str, float]:
    """CPU seconds so far of each Chromium process, summed by process type."""
    totals: dict[str, float] = defaultdict(float)
    for proc in _chromium_processes():
        try:
            times = proc.cpu_times()
        except Exception:
            continue
        totals[_kind(proc)] += times.user + times.system
    return dict(totals)


def _cpu_over(seconds: float) -> dict[str, float]:
    """% of one core per process type over ``seconds`` of wall time (and "total")."""
    before, started = _cpu_by_kind(), time.monotonic()
    time.sleep(seconds)
    after, wall = _cpu_by_kind(), time.monotonic() - started
    share = {k: 100.0 * (after.get(k, 0.0) - before.get(k, 0.0)) / wall for k in after}
    share["total"] = sum(share.values())
    return {k: round(v, 2) for k, v in sorted(share.items())}


# The same two captures the page's Listen asks for, and nothing done with them: what
# Chromium itself spends capturing (any page that captures pays it), so that the
# rest of the listening figure is ours (resampling, worklets, frames, websocket).
_RAW_BUTTON = """() => {
  const button = document.createElement("button");
  button.id = "bench-raw";
  button.textContent = "raw";
  button.addEventListener("click", async () => {
    const audio = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };
    const call = await navigator.mediaDevices.getDisplayMedia({ audio, video: true });
    for (const track of call.getVideoTracks()) track.stop();
    const mic = await navigator.mediaDevices.getUserMedia({ audio });
    window.benchRaw = [...call.getAudioTracks(), ...mic.getAudioTracks()];
  });
  document.body.prepend(button);
}"""


def _raw_capture_cpu(page: Any, seconds: float) -> dict[str, float]:
    page.evaluate(_RAW_BUTTON)
    page.click("#bench-raw")
    page.wait_for_function("() => (window.benchRaw || []).length === 2", timeout=WAIT_S * 1000)
    time.sleep(1.0)
    share = _cpu_over(seconds)
    page.evaluate(
        "() => { for (const t of window.benchRaw) t.stop(); "
        "document.getElementById('bench-raw').remove(); }"
    )
    time.sleep(1.0)
    return share


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run(seconds: float, idle_s: float, coach: bool) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from assistant.cli.browser import HEADLESS_CHROMIUM_ARGS
    from assistant.cli.browser_capture import BrowserCapture
    from assistant.events import Speaker
    from assistant.server.server import OverlayServer

    from .browser_latency import find_chromium

    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("no Chromium (apt-get install chromium, or set TURNAROUND_CHROMIUM)")
    capture = BrowserCapture((Speaker.REP, Speaker.CUSTOMER), quiet=True)
    server = OverlayServer(host="127.0.0.1", port=0)
    server.start()
    decoder = pipeline = pump = None
    if coach:
        from assistant.asr.decoder import WhisperDecoder
        from assistant.asr.models import resolve_model

        decoder = WhisperDecoder(resolve_model("tiny.en", None), cpu_threads=2)
        decoder.warm_up()
    server.enable_capture(capture.hub)
    load_before = _load()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        folder = Path(tmp)
        mic, call = _wav("monologue", folder), _wav("turns", folder)
        call_url, site = _call_site(folder, call)
        browser = pw.chromium.launch(
            executable_path=chromium,
            args=[
                *HEADLESS_CHROMIUM_ARGS,
                "--autoplay-policy=no-user-gesture-required",
                "--use-fake-device-for-media-stream",
                # Looped: the microphone never runs dry, however long the run.
                f"--use-file-for-fake-audio-capture={mic}",
                f"--auto-select-tab-capture-source-by-title={CALL_TITLE}",
            ],
            ignore_default_args=["--mute-audio"],  # a muted tab is captured as zeros
        )
        try:
            context = browser.new_context(
                viewport={"width": 360, "height": 480}, permissions=["microphone"]
            )
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(server.url)
            context.new_page().goto(call_url)
            page.bring_to_front()
            page.wait_for_selector("#listen:visible", timeout=WAIT_S * 1000)
            idle = _cpu_over(idle_s)  # the page open, the call tab playing
            raw = _raw_capture_cpu(page, idle_s)
            page.click("#listen")
            routes = capture.wait_for_listen()
            if coach:
                from assistant.pipeline.core import Pipeline

                pipeline = Pipeline(routes, decoder)
                finals: list[Any] = []
                pump = threading.Thread(
                    target=lambda: finals.extend(pipeline.events()), daemon=True
                )
                pipeline.start()
                pump.start()
            page.wait_for_selector(
                ".capture-text:has-text('mic (Rep) + call (Customer)')", timeout=WAIT_S * 1000
            )
            time.sleep(2.0)  # both inputs settled
            capture.hub.latencies_ms.clear()
            frames_before = capture.hub.frames
            listening = _cpu_over(seconds)
            latencies = list(capture.hub.latencies_ms)
            frames = capture.hub.frames - frames_before
        finally:
            browser.close()
            site.shutdown()
            if pipeline is not None:
                pipeline.stop()
            if pump is not None:
                pump.join(timeout=60)
            server.stop()
    expected = 2 * seconds * 16000 / 512
    return {
        "seconds": seconds,
        "coach": coach,
        "frames": frames,
        "frames_expected": round(expected),
        "latency_ms": {
            "p50": round(_percentile(latencies, 50), 2),
            "p95": round(_percentile(latencies, 95), 2),
            "max": round(max(latencies), 2) if latencies else None,
        },
        "cpu_pct_of_one_core": {
            "idle_page": idle,
            "raw_capture": raw,
            "listening": listening,
            "capture_cost": round(listening["total"] - idle["total"], 2),
            "turnaround_cost": round(listening["total"] - raw["total"], 2),
        },
        "page_errors": errors,
        "load_average_before": load_before,
        "load_average_after": _load(),
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.browser_capture")
    parser.add_argument("--seconds", type=float, default=30.0, help="listening time measured")
    parser.add_argument("--idle", type=float, default=10.0, help="baseline: page open, no Listen")
    parser.add_argument("--no-coach", action="store_true", help="frames only, no transcription")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    result = run(args.seconds, args.idle, coach=not args.no_coach)
    lat, cpu = result["latency_ms"], result["cpu_pct_of_one_core"]
    print(
        f"capture latency page -> coach: p50 {lat['p50']} ms, p95 {lat['p95']} ms, "
        f"max {lat['max']} ms over {result['frames']} frames "
        f"(expected ~{result['frames_expected']})"
    )
    print(
        f"Chromium CPU, % of one core: listening {cpu['listening']['total']}, "
        f"page open without Listen {cpu['idle_page']['total']}, "
        f"capture's cost {cpu['capture_cost']}"
    )
    print(
        f"  Chromium's own capture (the same two tracks, unprocessed) "
        f"{cpu['raw_capture']['total']}: Turnaround's part {cpu['turnaround_cost']}"
    )
    print(f"  while listening, by process: {cpu['listening']}")
    print(
        f"load average {result['load_average_before']} -> {result['load_average_after']} "
        f"on {result['cpus']} CPUs (other work inflates these figures)"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if not result["page_errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
