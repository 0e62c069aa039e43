"""Audio frames against the real coach (`turnaround live --browser`, its own process),
from real websocket clients: a bad frame closes its connection with a code and a
reason, never the coach; only the page's own origin (and the token beyond loopback)
may send audio; one capturing page at a time. Real speech sent afterwards is still
transcribed, and the session file has every line."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import CloseCode
from websockets.sync.client import ClientConnection, connect

from assistant.audio.file_source import decode_file
from assistant.server.audio_frames import MAX_AUDIO_FRAME_BYTES, Channel, build_audio_frame
from assistant.server.server import OverlayServer
from tests.helpers.capture_rig import session_records, stop
from tests.helpers.cli import CliRun, OverlayPage
from tests.helpers.paths import AUDIO

START_S = 120.0
FRAME = 512


def speech_frames(seconds: float | None = None) -> list[bytes]:
    """A real recording (the rep's question, ~4 s) as the page's 32 ms int16 frames."""
    audio = decode_file(AUDIO / "rep_question.flac")[:, 0]
    if seconds is not None:
        audio = audio[: int(seconds * 16000)]
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    return [pcm[i : i + FRAME].tobytes() for i in range(0, len(pcm) - FRAME + 1, FRAME)]


class Page:
    """A websocket client that behaves like the overlay page, frame by frame."""

    def __init__(self, port: int, origin: str | None = None, query: str = "") -> None:
        self.ws: ClientConnection = connect(
            f"ws://127.0.0.1:{port}/ws{query}",
            origin=origin or f"http://127.0.0.1:{port}",  # type: ignore[arg-type]
            max_size=None,
            legacy=True,  # closed by the server in most tests, not by a with block
        )
        self.id = secrets.token_hex(16)
        self.seq = {Channel.MIC: 0, Channel.CALL: 0}
        self.messages = [self.recv(), self.recv()]  # the snapshot, then the capture state

    def recv(self) -> dict[str, Any]:
        return json.loads(self.ws.recv(timeout=30))

    def until(self, kind: str) -> dict[str, Any]:
        while True:
            msg = self.recv()
            if msg["type"] == kind:
                return msg

    def listen(self, mic: bool = True, call: bool = True) -> dict[str, Any]:
        self.ws.send(
            json.dumps({"v": 1, "type": "listen", "page": self.id, "mic": mic, "call": call})
        )
        while True:
            msg = self.recv()
            if msg["type"] in ("ack", "error"):
                return msg

    def audio(self, pcm: bytes, channel: Channel = Channel.MIC) -> None:
        seq = self.seq[channel]
        self.ws.send(build_audio_frame(channel, seq, time.time() * 1000, pcm, first=seq == 0))
        self.seq[channel] = seq + 1

    def closed_with(self) -> tuple[int, str]:
        """The close frame the server sent (waits for it)."""
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                self.ws.recv(timeout=30)
        frame = closed.value.rcvd
        assert frame is not None, "closed without a close frame"
        return frame.code, frame.reason


def test_bad_frames_close_only_their_page_and_the_call_goes_on(tmp_path: Path) -> None:
    run = CliRun("live", "--browser", "--port", "0", "--json", "--record", str(tmp_path))
    port = run.overlay_port(START_S)
    watcher = OverlayPage(port)  # another page, there all along
    speech = speech_frames()
    try:
        first = Page(port)
        assert first.messages[1]["type"] == "capture" and first.messages[1]["owner"] is False
        ack = first.listen()
        assert ack == {
            "v": 1,
            "type": "ack",
            "of": "listen",
            "id": "",
            "detail": {"routes": {"mic": "rep", "call": "customer"}},
        }
        # One capturing page: a second is refused, and cannot send audio either.
        second = Page(port)
        assert second.messages[1]["busy"] is True
        refused = second.listen()
        assert refused["type"] == "error" and refused["code"] == "capture_busy"
        second.audio(speech[0])
        assert second.closed_with() == (
            CloseCode.POLICY_VIOLATION,
            "audio from a page that is not capturing (send listen first)",
        )
        # Oversized: closed with 1009 and why.
        for pcm in speech[:10]:
            first.audio(pcm)
        first.ws.send(b"A" * (MAX_AUDIO_FRAME_BYTES + 100))
        code, reason = first.closed_with()
        assert code == CloseCode.MESSAGE_TOO_BIG and f"at most {MAX_AUDIO_FRAME_BYTES}" in reason
        # Malformed: the next page takes the capture over, then sends a bad magic byte.
        third = Page(port)
        assert third.listen()["type"] == "ack"
        third.audio(speech[10])
        third.ws.send(b"B" + build_audio_frame(Channel.MIC, 99, 1.0, speech[11])[1:])
        assert third.closed_with() == (
            CloseCode.INVALID_DATA,
            "malformed audio frame: bad magic byte 0x42",
        )
        # Faster than real time, for long: the rate cap.
        flood = Page(port)
        assert flood.listen()["type"] == "ack"
        for pcm in (speech * 4)[:400]:  # 12.8 s of audio at once
            flood.audio(pcm, Channel.CALL)
        assert flood.closed_with() == (
            CloseCode.POLICY_VIOLATION,
            "call audio faster than real time (rate cap)",
        )
        # After all that, real speech from a page is still heard.
        last = Page(port)
        assert last.listen(mic=True, call=False)["type"] == "ack"
        for pcm in speech + [bytes(2 * FRAME)] * 40:  # and a little silence after it
            last.audio(pcm)
            time.sleep(FRAME / 16000)
        run.wait_out(r'"type": "(FinalTranscript|TranscriptRevision)".*thoughts', START_S)
        assert run.proc.poll() is None and not watcher.closed.is_set()
    finally:
        rc = stop(run)
    assert rc == 0, run.stderr
    assert "Traceback" not in run.stderr and "turnaround: error" not in run.stderr
    closes = [line for line in run.err if "overlay client closed:" in line]
    assert len(closes) == 4, closes  # one line per reason, no more
    records = session_records(tmp_path)
    assert records[-1]["type"] == "SessionEnd"
    printed = [
        e["text"] for e in run.events() if e["type"] in ("FinalTranscript", "TranscriptRevision")
    ]
    recorded = [
        r["text"] for r in records if r["type"] in ("FinalTranscript", "TranscriptRevision")
    ]
    assert printed == recorded and any("thoughts" in text for text in recorded)
    events = [r["event"] for r in records if r["type"] == "Capture"]
    assert events.count("page_disconnected") >= 3 and "reconnected" in events


def test_only_the_page_origin_and_the_token_may_send_audio() -> None:
    """Bound beyond loopback, a token is required; from any bind, only the page's own
    origin. The capture rides on the websocket, so it is refused at the handshake."""
    heard: list[int] = []
    from assistant.server.capture import CaptureHub

    hub = CaptureHub(lambda mic, call: {"mic": "rep", "call": "customer"},
                     lambda frame, now: heard.append(frame.seq))  # fmt: skip
    server = OverlayServer(host="0.0.0.0", port=0)
    server.start()
    server.enable_capture(hub)
    try:
        port = server.port
        origin = f"http://127.0.0.1:{port}"
        for query, from_origin in (("", origin), (f"?token={server.token}", "http://evil.example")):
            with pytest.raises(InvalidStatus) as refused:
                Page(port, origin=from_origin, query=query)
            assert refused.value.response.status_code == 403
        page = Page(port, origin=origin, query=f"?token={server.token}")
        assert page.listen()["type"] == "ack"
        page.audio(speech_frames(0.1)[0])
        deadline = time.monotonic() + 10
        while not heard and time.monotonic() < deadline:
            time.sleep(0.05)
        assert heard == [0]
        page.ws.close()
    finally:
        server.stop()


def test_pause_drops_the_page_audio_and_resume_takes_it_again(tmp_path: Path) -> None:
    """Pause as in any live run: the page goes on sending (its meters move), the
    coach drops what it hears until Resume; nothing said while paused is recorded."""
    run = CliRun("live", "--browser", "--port", "0", "--json", "--record", str(tmp_path))
    speech = speech_frames() + [bytes(2 * FRAME)] * 40  # the question, then silence
    try:
        page = Page(run.overlay_port(START_S))
        assert page.listen(mic=True, call=False)["type"] == "ack"
        run.wait_err("listening to unknown: page microphone", START_S)  # the session runs
        page.ws.send(json.dumps({"v": 1, "type": "control", "action": "pause"}))
        while page.until("status")["state"] != "paused":
            pass
        for pcm in speech:
            page.audio(pcm)
            time.sleep(FRAME / 16000)
        time.sleep(3.0)  # long enough for a final, had the audio been taken
        assert not [e for e in run.events() if e["type"] == "SpeechStarted"]
        page.ws.send(json.dumps({"v": 1, "type": "control", "action": "resume"}))
        while page.until("status")["state"] != "listening":
            pass
        for pcm in speech:
            page.audio(pcm)
            time.sleep(FRAME / 16000)
        run.wait_out(r'"type": "(FinalTranscript|TranscriptRevision)".*thoughts', START_S)
    finally:
        rc = stop(run)
    assert rc == 0, run.stderr
    assert "Traceback" not in run.stderr
    finals = [r for r in session_records(tmp_path) if r["type"] == "FinalTranscript"]
    assert finals and len({r["utterance_id"] for r in finals}) == 1  # the resumed one only
