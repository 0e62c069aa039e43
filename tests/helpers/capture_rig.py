"""What the browser-capture tests share: real recordings as WAV files for Chromium's
fake microphone, a tab that plays a recording for the call, Chromium launched with
the capture flags that work headless (RECIPES.md), and the session file read back.

Chromium's flags, proven here (Chromium 156, no Xvfb):

* the microphone: ``--use-fake-device-for-media-stream
  --use-file-for-fake-audio-capture=FILE.wav%noloop`` (16-bit WAV; ``%noloop`` plays
  it once) and the microphone permission granted to the context, as a user's
  "Allow" would;
* the call: ``--auto-select-tab-capture-source-by-title=TITLE`` picks that tab in
  getDisplayMedia's picker, as the user's click on it would; the tab plays its
  recording with ``--autoplay-policy=no-user-gesture-required``, unmuted (Playwright
  passes ``--mute-audio`` by default, and a muted tab is captured as zeros).
"""

from __future__ import annotations

import functools
import http.server
import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from assistant.audio.file_source import decode_file, write_wav
from assistant.cli.browser import HEADLESS_CHROMIUM_ARGS
from tests.helpers.cli import CliRun
from tests.helpers.paths import AUDIO, CHROMIUM
from tests.helpers.wer import words

REAL = AUDIO / "real"
CALL_TITLE = "Customer call"
# The user cancelling the screen picker: headless Chromium has no picker to cancel
# (without a --auto-select flag getDisplayMedia waits forever), so the page's
# request is answered as Chrome answers a cancelled picker.
CANCEL_PICKER = (
    "navigator.mediaDevices.getDisplayMedia = () => "
    "Promise.reject(new DOMException('Permission denied by user', 'NotAllowedError'));"
)
# The user sharing the call's tab with "Share tab audio" unticked: the picker's stream
# has its video track only.
UNTICK_TAB_AUDIO = """
const pick = navigator.mediaDevices.getDisplayMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getDisplayMedia = async (constraints) => {
  const stream = await pick(constraints);
  for (const track of stream.getAudioTracks()) { track.stop(); stream.removeTrack(track); }
  return stream;
};
"""


# Silence before the recording, as a person takes a moment after pressing Listen:
# Chromium's fake microphone starts playing its file when the device opens, and the
# audio before the page's capture graph first pulls from the track (0.1-1 s on a
# loaded machine, more under heavy load) never reaches the page. With this, what is
# lost is silence.
LEAD_IN_S = 3.0


def recording_wav(name: str, folder: Path) -> Path:
    """tests/fixtures/audio/real/NAME.ogg as a 16 kHz 16-bit WAV (what Chromium's fake
    microphone reads) after ``LEAD_IN_S`` of silence, written to ``folder``; file
    replay gets the same file."""
    audio = decode_file(REAL / f"{name}.ogg")
    lead = np.zeros((int(LEAD_IN_S * 16000), audio.shape[1]), dtype=np.float32)
    return write_wav(folder / f"{name}.wav", np.concatenate([lead, audio]))


def reference(name: str) -> dict[str, Any]:
    return json.loads((REAL / f"{name}.json").read_text())


def reference_text(name: str) -> str:
    return " ".join(u["text"] for u in reference(name)["utterances"])


def launch(pw: Any, *flags: str) -> Any:
    return pw.chromium.launch(
        executable_path=str(CHROMIUM),
        args=[*HEADLESS_CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required", *flags],
        ignore_default_args=["--mute-audio"],
    )


def fake_microphone(wav: Path) -> tuple[str, ...]:
    return ("--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={wav}%noloop")


def pick_tab(title: str = CALL_TITLE) -> str:
    return f"--auto-select-tab-capture-source-by-title={title}"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def call_site(
    folder: Path, wav: Path, title: str = CALL_TITLE, autoplay: bool = True
) -> Iterator[str]:
    """A page that plays ``wav`` as the call's tab does (at once, or when its
    ``#call`` element is told to); yields its URL. Served on ``localhost`` (the
    overlay is on 127.0.0.1): another site, so another renderer process."""
    play = " autoplay" if autoplay else ""
    (folder / "call.html").write_text(
        f'<!doctype html><title>{title}</title><audio id="call" src="{wav.name}"{play}></audio>'
    )
    if wav.parent != folder:
        (folder / wav.name).write_bytes(wav.read_bytes())
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://localhost:{server.server_address[1]}/call.html"
    finally:
        server.shutdown()
        server.server_close()


def wait_until(predicate: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.1)


def heard_the_end(coach: CliRun, name: str, speaker: str | None = None) -> bool:
    """The recording's last two words are in a final text: it has been heard to the
    end. Said by the words, not by a stream time: on a loaded machine the page's
    capture can start a second or two into the file, and every time moves with it."""
    tail = " ".join(words(reference_text(name))[-2:])
    texts = [
        e["text"]
        for e in coach.events()
        if e["type"] in ("FinalTranscript", "TranscriptRevision")
        and (speaker is None or e["speaker"] == speaker)
    ]
    return tail in " ".join(words(" ".join(texts)))


def stop(coach: CliRun) -> int:
    """Ctrl-C, as the user ends a call: the last utterance is finished first."""
    coach.proc.send_signal(signal.SIGINT)
    return coach.finish(120)


def session_records(folder: Path) -> list[dict[str, Any]]:
    (path,) = folder.glob("session-*.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def final_words(records: list[dict[str, Any]], speaker: str | None = None) -> str:
    """The final text of every utterance (its revision, else its one final), in order
    of their start: the project's final text, as ``audio_helpers.final_texts``."""
    chosen: dict[tuple[str, int], tuple[float, str]] = {}
    for r in records:
        last_piece = r.get("type") == "FinalTranscript" and r["piece"] == 0 and r["last"]
        if r.get("type") == "TranscriptRevision" or last_piece:
            chosen[(r["speaker"], r["utterance_id"])] = (r["start_s"], r["text"])
    return " ".join(
        text
        for (sp, _), (_, text) in sorted(chosen.items(), key=lambda kv: kv[1][0])
        if speaker is None or sp == speaker
    )
