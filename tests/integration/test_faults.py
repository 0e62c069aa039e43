"""Faults a live call meets, made real: signals, a full disk, a starved CPU, a
missing library, a port in use, a broken model. The coach keeps going or stops
cleanly, tells the user plainly, and keeps every line of text it already produced.

Several need root (a tmpfs mount, a CPU cgroup, a private mount namespace); CI runs
as root. Elsewhere they skip, saying why."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cli import CliRun, OverlayPage, call_wav
from tests.helpers.paths import AUDIO

IS_ROOT = os.geteuid() == 0


def need_root(what: str) -> None:
    if not IS_ROOT:
        if os.environ.get("CI"):
            pytest.fail(f"{what} needs root, and CI runs as root")
        pytest.skip(f"{what} needs root")


def session_lines(folder: Path) -> list[dict]:
    (path,) = folder.glob("session-*.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def texts(records: list[dict]) -> list[str]:
    return [r["text"] for r in records if r.get("type") == "FinalTranscript"]


def utterances(finals: list[dict]) -> list[str]:
    """Whole utterances: a long one is committed in pieces that share its id."""
    joined: dict[tuple[str, int], list[str]] = {}
    for f in finals:
        joined.setdefault((f["speaker"], f["utterance_id"]), []).append(f["text"])
    return [" ".join(t for t in parts if t) for parts in joined.values()]


@pytest.fixture(scope="module")
def wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return call_wav(tmp_path_factory.mktemp("call") / "call.wav")


# -- signals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["SIGINT", "SIGTERM", "SIGHUP"]
)
def test_signal_drains_the_utterance_in_progress(wav: Path, tmp_path: Path, sig: int) -> None:
    """Stopped 2 s into the first utterance: its final still comes out (cut where the
    audio stopped), is printed and recorded with the session's end, and the page hears
    "stopped". SIGHUP (the terminal closed) used to exit 129 with no message and no
    ``SessionEnd``, one utterance short (issue 17, item 3)."""
    if sig == signal.SIGHUP and signal.getsignal(signal.SIGHUP) is signal.SIG_IGN:
        pytest.skip("run under nohup: SIGHUP is ignored, and the replay keeps it so by design")
    coach = CliRun("replay", str(wav), "--port", "0", "--json", "--record", str(tmp_path))
    page = OverlayPage(coach.overlay_port())
    coach.wait_err("replaying")
    time.sleep(2.0)  # "We are not interested right..." is being spoken
    # Words may already be committed (a long turn commits as it goes), but not all.
    assert not [f for f in coach.finals() if f.get("last")]
    assert not [e for e in coach.events() if e["type"] == "TranscriptRevision"]
    coach.proc.send_signal(sig)
    assert coach.finish(60) == 0, coach.stderr
    assert "Traceback" not in coach.stderr
    assert "stopping: finishing the last utterance" in coach.stderr
    # Its final text: one final, or the revision over the pieces committed so far.
    (utterance,) = [f["text"] for f in coach.final_texts()]
    assert "interested" in utterance.lower()
    assert texts(session_lines(tmp_path)) == [f["text"] for f in coach.finals()]
    end = session_lines(tmp_path)[-1]
    assert end["type"] == "SessionEnd" and end["reason"] == "stopped by the user", end
    assert page.closed.wait(10)
    assert page.statuses()[-1] == "stopped"
    assert [c["text"] for c in page.of("caption") if c["final"]] == [utterance]


def test_sigkill_leaves_a_readable_session(wav: Path, tmp_path: Path) -> None:
    coach = CliRun("replay", str(wav), "--no-server", "--json", "--record", str(tmp_path))
    coach.wait_out("FinalTranscript", timeout_s=60, count=2)
    coach.proc.kill()
    coach.finish(10)
    records = session_lines(tmp_path)  # every line parses
    printed = [f["text"] for f in coach.finals()]
    # Recorded before it is printed: the file may hold one line more, never fewer.
    assert len(printed) >= 2 and texts(records)[: len(printed)] == printed


@pytest.mark.parametrize("delay_s", [0.1, 0.2, 0.4, 0.8, 1.2, 2.0])
def test_ctrl_c_during_start_up_is_quiet(wav: Path, delay_s: float) -> None:
    """Ctrl-C while Python imports, the model loads or the server starts."""
    coach = CliRun("replay", str(wav), "--port", "0", "--no-record")
    time.sleep(delay_s)
    coach.proc.send_signal(signal.SIGINT)
    rc = coach.finish(60)
    if "init_import_site" in coach.stderr:
        pytest.skip("the signal came while CPython itself started, before any of our code")
    assert "Traceback" not in coach.stderr and "Error" not in coach.stderr, coach.stderr
    assert rc in (0, 130, -signal.SIGINT), (rc, coach.stderr)


# -- the disk -----------------------------------------------------------------------------


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    need_root("mounting a size-limited tmpfs")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(folder: Path) -> None:
    with open(folder / "filler", "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError:
            pass  # full


def test_disk_fills_mid_call(small_tmpfs: Path) -> None:
    """The disk fills after the first final: one warning, the call goes on to the
    end, every final is still printed, and what was recorded before stays readable.
    (The bundled call's records outgrow the file's first 4 KiB page, so a write
    really meets the full disk.)"""
    coach = CliRun("replay", "--sample", "--fast", "--json", "--record", str(small_tmpfs))
    coach.wait_out("FinalTranscript")
    _fill(small_tmpfs)
    assert coach.finish(90) == 0, coach.stderr
    assert "Traceback" not in coach.stderr
    warnings = [line for line in coach.err if "warning" in line]
    assert len(warnings) == 1 and "No space left on device" in warnings[0], coach.err
    assert "recording stopped" in warnings[0]
    finals = [f["text"] for f in coach.finals()]
    assert len(finals) >= 12
    (path,) = small_tmpfs.glob("session-*.jsonl")
    lines = path.read_text(encoding="utf-8").split("\n")
    whole, tail = lines[:-1], lines[-1]  # tail: what follows the last newline
    recorded = texts([json.loads(line) for line in whole])
    assert 1 <= len(recorded) < len(finals) and recorded == finals[: len(recorded)]
    # The write that met the full disk was cut back: no half record is left behind.
    assert tail == "", f"a partial line of {len(tail)} bytes"


@pytest.mark.parametrize("case", ["read-only mount", "file as folder"])
def test_unwritable_record_folder_at_start(wav: Path, tmp_path: Path, case: str) -> None:
    """Issue 12, item 2 (the recorder's, fixed with issue 11): one line, no traceback
    (the CLI's last-resort handler already gives that); before the model loads, and
    saying what to do, once the recorder checks its folder up front."""
    if case == "read-only mount":
        need_root("a read-only bind mount")
        folder = tmp_path / "ro"
        folder.mkdir()
        subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)
    else:
        folder = tmp_path / "a-file"
        folder.write_text("not a folder")
    try:
        coach = CliRun("replay", str(wav), "--no-server", "--record", str(folder / "sessions"))
        rc = coach.finish(60)
    finally:
        if case == "read-only mount":
            subprocess.run(["umount", str(folder)], capture_output=True)
    assert "Traceback" not in coach.stderr
    assert rc != 0 and coach.err[-1].startswith("turnaround: error:"), coach.stderr
    assert str(folder) in coach.err[-1]
    # The folder is checked before the model loads, and the line says what to do.
    assert rc == 2 and not any("loading Whisper" in line for line in coach.err), coach.err


# -- a starved CPU ------------------------------------------------------------------------


class CpuQuota:
    """A CPU cgroup (v1 ``cpu`` or v2) whose quota can be set while a process runs in
    it: the kernel then gives that process only ``percent`` of one core, as a heavily
    loaded machine would, without loading the machine."""

    def __init__(self, name: str = "turnaround-test") -> None:
        v1, v2 = Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup")
        if (v1 / "cpu.cfs_quota_us").exists():
            self.path, self.v2 = v1 / name, False
        elif (v2 / "cgroup.controllers").exists():
            self.path, self.v2 = v2 / name, True
        else:
            pytest.skip("no CPU cgroup controller mounted")
        try:
            self.path.mkdir(exist_ok=True)
            self.set(None)
        except OSError as exc:
            pytest.skip(f"cannot create a CPU cgroup: {exc}")

    def set(self, percent: float | None) -> None:
        if self.v2:
            quota = "max" if percent is None else str(int(percent * 1000))
            (self.path / "cpu.max").write_text(f"{quota} 100000")
        else:
            quota = "-1" if percent is None else str(int(percent * 1000))
            (self.path / "cpu.cfs_quota_us").write_text(quota)

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def remove(self) -> None:
        self.set(None)
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.1)


def test_slow_transcription_falls_behind_boundedly_and_catches_up(tmp_path: Path) -> None:
    """Whisper slower than real time, for real: the process gets 7 % of one core
    (a CPU cgroup quota) for the first 20 s of a 30 s call. Partials are dropped,
    every final comes out, lag stays bounded, the page shows "Behind", and once
    the CPU is back the coach catches up."""
    need_root("a CPU cgroup")
    quota = CpuQuota()
    wav = call_wav(tmp_path / "call.wav", rounds=4)
    try:
        coach = CliRun("replay", str(wav), "--port", "0", "--json", "--no-record")
        page = OverlayPage(coach.overlay_port())
        coach.wait_err("replaying")
        quota.set(7)
        quota.add(coach.pid)
        started = time.monotonic()
        time.sleep(20)
        quota.set(None)
        lifted = time.monotonic()
        assert coach.finish(120) == 0, coach.stderr
    finally:
        quota.remove()
    finals = coach.final_texts()  # one per utterance
    text = " ".join(f["text"] for f in finals).lower()
    # Five scripted utterances; pauses inside them may split them further.
    assert 5 <= len(finals) <= 10, finals
    # No final is dropped, however slow: every scripted line's words are there.
    assert "interested" in text and text.count("thoughts") == 4, finals
    stopped = [e for e in coach.events() if e["type"] == "Status"][-1]
    assert stopped["state"] == "stopped" and stopped["dropped_partials"] > 0
    latency = [f["decoded_wall"] - f["speech_end_wall"] for f in finals]
    slowdown_s = lifted - started
    # Bounded by the slowdown that caused it, not a backlog that grows with the
    # call (figures: docs/performance.md; timing itself is the benchmark's job).
    assert max(latency) < 1.5 * slowdown_s, latency
    # Caught up: what was said once the CPU came back waits far less than what was
    # said while it was starved.
    spoken_after = [
        lat for f, lat in zip(finals, latency, strict=True) if f["speech_end_wall"] > lifted + 3
    ]
    assert spoken_after and max(spoken_after) < max(latency) / 4, latency
    behind = [(t, m["lag"]["behind_s"]) for t, m in page.messages if m["type"] == "metrics"]
    during = [b for t, b in behind if started < t < lifted + 1]
    after = [b for t, b in behind if t > lifted + 6]
    assert during and max(during) > 0, behind
    assert max(during) < 1.5 * slowdown_s, behind  # bounded by the slowdown, like the text
    assert after and after[-1] == 0.0, behind


# -- start-up: model, PortAudio, port -----------------------------------------------------


def _one_line_error(coach: CliRun, rc: int, *fragments: str) -> str:
    assert rc == 2, coach.stderr
    assert "Traceback" not in coach.stderr
    errors = [line for line in coach.err if "error" in line]
    assert len(errors) == 1 and errors[0] == coach.err[-1], coach.err
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def test_truncated_model_names_the_fix(wav: Path, tmp_path: Path) -> None:
    from assistant.asr.models import resolve_model

    model = tmp_path / "tiny.en"
    shutil.copytree(resolve_model().path, model)
    weights = model / "model.bin"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 3])
    coach = CliRun("replay", str(wav), "--fast", "--model-dir", str(model))
    # The folder came from --model-dir: the fix is that folder, not the package.
    _one_line_error(coach, coach.finish(60), "cannot load model", "damaged", "--model-dir")


def test_missing_model_directory_names_the_fix(wav: Path, tmp_path: Path) -> None:
    coach = CliRun("replay", str(wav), "--fast", "--model-dir", str(tmp_path / "nothing"))
    _one_line_error(coach, coach.finish(60), "does not exist", "--model-dir")


def test_port_in_use_fails_before_the_model_loads(wav: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        coach = CliRun("replay", str(wav), "--port", str(port), "--no-record")
        line = _one_line_error(coach, coach.finish(60), f"127.0.0.1:{port}", "--port")
    assert "Address already in use" in line and "--no-server" in line
    assert not any("loading Whisper" in x for x in coach.err)  # failed fast


def test_missing_portaudio_names_the_package(tmp_path: Path) -> None:
    """PortAudio made unloadable for real: a private mount namespace in which the
    library file is an empty one."""
    need_root("a private mount namespace")
    import ctypes.util

    name = ctypes.util.find_library("portaudio")
    libs = (
        [Path(d) / name for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib", "/lib")] if name else []
    )
    lib = next((p.resolve() for p in libs if p.exists()), None)
    if lib is None or shutil.which("unshare") is None:
        pytest.skip("needs libportaudio2 installed and util-linux unshare")
    empty = tmp_path / "empty.so"
    empty.write_bytes(b"")
    for command in (["devices"], ["live", "--no-record"]):
        coach = CliRun(
            *command,
            prefix=("unshare", "-m", "sh", "-c", f'mount --bind {empty} {lib} && exec "$@"', "-"),
        )
        _one_line_error(coach, coach.finish(60), "PortAudio is not installed", "libportaudio2")


# -- the session file (issue 12, item 5: the recorder's, fixed with issue 11) -------------


def test_a_session_being_recorded_is_not_deleted_and_a_dead_recorder_leaves_no_lock(
    tmp_path: Path,
) -> None:
    """``sessions --delete last --yes`` while ``replay --record`` runs deleted the file
    without a word and the whole call was lost. Now it is refused, saying why; once
    the recorder is killed (no clean end, no chance to unlock) the kernel has dropped
    its lock and the same command deletes it."""
    coach = CliRun("replay", "--sample", "--no-server", "--no-partials", "--record", str(tmp_path))
    try:
        coach.wait_err("recording the transcript")
        (session,) = tmp_path.glob("session-*.jsonl")
        for yes in (["--yes"], []):
            refused = CliRun("sessions", "--dir", str(tmp_path), "--delete", "last", *yes)
            _one_line_error(refused, refused.finish(60), "still being recorded", "Ctrl-C",
                            session.name[8:-6])  # fmt: skip
        assert session.exists() and coach.proc.poll() is None  # the call goes on
    finally:
        coach.proc.kill()
        coach.finish(10)
    done = CliRun("sessions", "--dir", str(tmp_path), "--delete", "last", "--yes")
    assert done.finish(60) == 0, done.stderr
    assert not session.exists()


def test_session_file_is_private(tmp_path: Path) -> None:
    coach = CliRun("replay", str(AUDIO / "rep_question.flac"), "--fast", "--record", str(tmp_path))
    assert coach.finish(60) == 0, coach.stderr
    (path,) = tmp_path.glob("session-*.jsonl")
    assert path.stat().st_mode & 0o777 == 0o600, oct(path.stat().st_mode)


def test_sessions_started_in_the_same_second_get_their_own_files(tmp_path: Path) -> None:
    from assistant.sessions.recorder import TranscriptRecorder

    first = TranscriptRecorder.in_dir(tmp_path)
    second = TranscriptRecorder.in_dir(tmp_path)  # the same second
    first.close()
    second.close()
    assert first.path != second.path


def test_sighup_under_nohup_is_left_ignored(tmp_path: Path) -> None:
    """Started with SIGHUP ignored (``nohup``), the user asked the call to outlive its
    terminal: a hang-up must not stop it."""
    coach = CliRun("replay", "--sample", "--fast", "--json", "--no-record", prefix=("nohup",))
    coach.wait_out("FinalTranscript")
    coach.proc.send_signal(signal.SIGHUP)
    assert coach.finish(120) == 0, coach.stderr
    assert "stopping" not in coach.stderr
    assert coach.events()[-1]["type"] == "Status" and len(coach.finals()) >= 12
