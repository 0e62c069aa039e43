"""The real command, as a user (or a fault) meets it: ``turnaround()`` runs it to
the end; ``CliRun`` runs it in the background, its stdout and stderr read line by
line as they come, and ``OverlayPage`` is a real overlay page (a websocket client)
watching what it shows."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from assistant.audio.file_source import decode_file, write_wav
from tests.helpers.paths import AUDIO, REPO


def call_wav(path: Path, rounds: int = 2) -> Path:
    """Real speech with pauses: the objection, then the question ``rounds`` times
    (each utterance ~4 s, 2 s of silence after each)."""
    gap = np.zeros((16000 * 2, 1), dtype=np.float32)
    parts = [decode_file(AUDIO / "customer_objection.flac"), gap]
    parts += [decode_file(AUDIO / "rep_question.flac"), gap] * rounds
    return write_wav(path, np.concatenate(parts))


def turnaround(
    *args: str,
    env: dict[str, str] | None = None,
    prefix: list[str] | tuple[str, ...] = (),
    timeout: float = 180,
    stdout: int | None = subprocess.PIPE,
) -> subprocess.CompletedProcess:
    """``python -m assistant ARGS`` to the end (optionally behind ``prefix``, e.g.
    another user), with ``env`` added to this environment."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "assistant", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit status 2 and exactly one line on stderr, ``turnaround: error: ...``,
    naming the problem (every fragment in it)."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("turnaround: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


class CliRun:
    """``python -m assistant ARGS`` (optionally behind a ``prefix`` command)."""

    def __init__(
        self, *args: str, prefix: tuple[str, ...] = (), env: dict[str, str] | None = None
    ) -> None:
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "assistant", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._changed = threading.Condition()
        self._ended = 0
        for stream, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._read, args=(stream, sink), daemon=True).start()

    def _read(self, stream: Any, sink: list[str]) -> None:
        for line in stream:
            with self._changed:
                sink.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._ended += 1
            self._changed.notify_all()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_err(self, pattern: str, timeout_s: float = 60) -> re.Match[str]:
        """The first stderr line matching ``pattern`` (waits for it)."""
        return self._wait(self.err, pattern, timeout_s, 1)

    def wait_out(self, pattern: str, timeout_s: float = 60, count: int = 1) -> re.Match[str]:
        """The ``count``-th stdout line matching ``pattern``."""
        return self._wait(self.out, pattern, timeout_s, count)

    def _wait(self, sink: list[str], pattern: str, timeout_s: float, count: int) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                found = [m for m in map(re.compile(pattern).search, sink) if m]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0 or self._ended == 2:
                    raise AssertionError(
                        f"no line matching {pattern!r} (exit {self.proc.poll()}); "
                        f"stderr: {self.err[-10:]}"
                    )
                self._changed.wait(min(left, 0.5))

    def overlay_port(self, timeout_s: float = 60) -> int:
        return int(self.wait_err(r"overlay: http://127\.0\.0\.1:(\d+)/", timeout_s).group(1))

    def finish(self, timeout_s: float = 120) -> int:
        try:
            rc = self.proc.wait(timeout_s)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        time.sleep(0.2)  # the reader threads take the last lines
        return rc

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in list(self.out) if line.startswith("{")]

    def finals(self) -> list[dict[str, Any]]:
        return [e for e in self.events() if e["type"] == "FinalTranscript"]

    def final_texts(self) -> list[dict[str, Any]]:
        """One record per utterance with its final text: the revision where it came
        in pieces, else its pieces joined (one, unless the run was cut short)."""
        joined: dict[tuple[str, int], dict[str, Any]] = {}
        for e in self.events():
            if e["type"] not in ("FinalTranscript", "TranscriptRevision"):
                continue
            key = (e["speaker"], e["utterance_id"])
            seen = joined.get(key)
            if e["type"] == "TranscriptRevision" or seen is None:
                joined[key] = dict(e)
            elif seen["type"] == "FinalTranscript":
                seen["text"] = f"{seen['text']} {e['text']}".strip()
                seen.update(end_s=e["end_s"], decoded_wall=e["decoded_wall"])
        return list(joined.values())

    @property
    def stderr(self) -> str:
        return "\n".join(self.err)


class OverlayPage:
    """A websocket client on the overlay: every message, with its arrival time, until
    the server closes the connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[tuple[float, dict[str, Any]]] = []
        self.connected = threading.Event()
        self.closed = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()
        assert self.connected.wait(20), "the overlay page could not connect"

    async def _run(self) -> None:
        url = f"ws://127.0.0.1:{self.port}/ws"
        try:
            async with connect(url, origin=f"http://127.0.0.1:{self.port}") as ws:
                self._ws, self._loop = ws, asyncio.get_running_loop()
                self.connected.set()
                async for raw in ws:
                    self.messages.append((time.monotonic(), json.loads(raw)))
        except (ConnectionClosed, OSError):
            pass
        finally:
            self.connected.set()
            self.closed.set()

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for _, m in self.messages if m["type"] == kind]

    def send(self, message: dict[str, Any]) -> None:
        """Send one message to the server, as the page's buttons do."""
        done = asyncio.run_coroutine_threadsafe(self._ws.send(json.dumps(message)), self._loop)
        done.result(timeout=10)

    def statuses(self) -> list[str]:
        return [m["state"] for m in self.of("status")]
