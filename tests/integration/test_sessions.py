"""Sessions as records: unique private files, a metadata line, forgiving reads, and
one-line errors for a folder that cannot be written, before the model loads."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from assistant.errors import TurnaroundError
from assistant.sessions.log import SessionReadError, read_session
from assistant.sessions.recorder import TranscriptRecorder
from assistant.sessions.store import (
    RecordingError,
    SessionNotFound,
    create_session_file,
    default_sessions_dir,
    prepare_dir,
    resolve,
)
from tests.helpers.cli import assert_one_line_error
from tests.helpers.cli import turnaround as _turnaround
from tests.helpers.paths import REPO

TRANSCRIPTS = REPO / "tests" / "fixtures" / "transcripts"
# Root ignores file modes; with no capabilities it is held to them like anyone else.
AS_USER = (
    ["setpriv", "--bounding-set=-all", "--inh-caps=-all"]
    if os.geteuid() == 0 and shutil.which("setpriv")
    else []
)


def turnaround(*args: str, prefix: list[str] = AS_USER, **kwargs):
    """The command as the unprivileged user these tests run it as."""
    return _turnaround(*args, prefix=prefix, **kwargs)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- ids, privacy, format ------------------------------------------------------------


def test_two_sessions_started_in_the_same_second_get_their_own_files(tmp_path: Path) -> None:
    now = datetime(2025, 6, 11, 14, 22, 33)
    draws = iter(["aaaaaa", "aaaaaa", "bbbbbb"])  # the second run draws a taken suffix first
    first = create_session_file(tmp_path, now, suffix=lambda: next(draws))
    second = create_session_file(tmp_path, now, suffix=lambda: next(draws))
    for _id, _path, fd in (first, second):
        os.close(fd)
    assert first[0] == "20250611-142233-aaaaaa" and second[0] == "20250611-142233-bbbbbb"
    assert first[1] != second[1] and len(list(tmp_path.iterdir())) == 2


def test_concurrent_runs_record_to_separate_private_files(tmp_path: Path) -> None:
    sessions = tmp_path / "new" / "sessions"
    args = ["replay", "--transcript", str(TRANSCRIPTS / "friendly_call.jsonl"), "--json"]
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "assistant", *args, "--record", str(sessions)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    for run in runs:
        assert run.wait(timeout=120) == 0, run.stderr.read() if run.stderr else ""
    files = sorted(sessions.glob("session-*.jsonl"))
    assert len(files) == 3
    assert mode(sessions) == 0o700 and mode(sessions.parent) == 0o700  # both made here
    for file in files:
        assert mode(file) == 0o600
        meta = json.loads(file.read_text().splitlines()[0])
        assert meta["type"] == "Session" and file.name == f"session-{meta['id']}.jsonl"
        assert meta["input"] == {"kind": "transcript", "names": ["friendly_call.jsonl"]}
        assert meta["mode"] == "sales" and meta["playbook"] == "sales-call"
        assert meta["model"] is None and meta["version"]
        last = json.loads(file.read_text().splitlines()[-1])
        assert last["type"] == "SessionEnd" and last["end_s"] > 0


def test_the_default_folder_is_made_private_even_if_it_was_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    folder = default_sessions_dir()
    folder.mkdir(parents=True, mode=0o755)
    folder.chmod(0o755)  # as an older version left it
    prepare_dir(folder)
    assert mode(folder) == 0o700


def test_recorder_writes_metadata_first_and_never_audio(tmp_path: Path) -> None:
    recorder = TranscriptRecorder.create(tmp_path, mode="coaching", playbook="coaching-1on1")
    recorder.write({"type": "FinalTranscript", "speaker": "rep", "utterance_id": 1,
                    "start_s": 0.5, "end_s": 2.0, "text": "Fine."})  # fmt: skip
    recorder.end(12.5, "end of input")
    log = read_session(recorder.path)
    assert log.meta.id == recorder.session_id and log.meta.mode == "coaching"
    assert [f.text for f in log.finals] == ["Fine."]
    assert log.end_s == 12.5 and log.notes == []
    assert [p.suffix for p in tmp_path.iterdir()] == [".jsonl"]


def test_a_cut_off_last_line_and_a_damaged_line_are_skipped_and_said(tmp_path: Path) -> None:
    recorder = TranscriptRecorder.create(tmp_path)
    for i in range(3):
        recorder.write({"type": "FinalTranscript", "speaker": "customer", "utterance_id": i,
                        "start_s": i * 2.0, "end_s": i * 2.0 + 1, "text": f"line {i}"})  # fmt: skip
    recorder.close()
    lines = recorder.path.read_text().splitlines()
    lines[2] = '{"type": "FinalTranscript", "speaker": "nobody"}'  # damaged
    recorder.path.write_text("\n".join(lines) + '\n{"type": "FinalTransc')  # killed mid-write
    log = read_session(recorder.path)
    assert [f.text for f in log.finals] == ["line 0", "line 2"]
    assert any("cut off" in note for note in log.notes)
    assert any("1 damaged line(s) skipped (line 3)" in note for note in log.notes)
    assert any("did not close" in note for note in log.notes)


def test_a_session_from_before_the_metadata_line_still_reads(tmp_path: Path) -> None:
    old = tmp_path / "session-20250102-030405.jsonl"
    old.write_text(json.dumps({"type": "FinalTranscript", "speaker": "rep", "utterance_id": 1,
                               "start_s": 1.0, "end_s": 3.0, "text": "Hi."}) + "\n")  # fmt: skip
    log = read_session(old)
    assert log.meta.legacy and log.meta.id == "20250102-030405"
    assert log.meta.started == datetime(2025, 1, 2, 3, 4, 5)
    assert resolve("20250102", tmp_path) == old


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00\xff\xfe binary", b"[" * 100_000, b'{"type": "Other"}\n', b"not json\n"],
)
def test_a_file_that_is_not_a_session_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "session-20250101-120000-cccccc.jsonl"
    path.write_bytes(content)
    with pytest.raises(SessionReadError, match="session"):
        read_session(path)


def test_session_references_resolve_or_say_why(tmp_path: Path) -> None:
    for suffix in ("aaaaaa", "abbbbb"):
        (tmp_path / f"session-20250101-120000-{suffix}.jsonl").write_text("{}\n")
    newer = tmp_path / "session-20250102-090000-cccccc.jsonl"
    newer.write_text("{}\n")
    assert resolve("last", tmp_path) == newer
    assert resolve("20250101-120000-ab", tmp_path).name.endswith("abbbbb.jsonl")
    assert resolve(str(newer), tmp_path) == newer
    with pytest.raises(SessionNotFound, match="ambiguous: it matches .*aaaaaa.*abbbbb"):
        resolve("20250101", tmp_path)
    with pytest.raises(SessionNotFound, match="no session"):
        resolve("20240101", tmp_path)
    with pytest.raises(SessionNotFound, match="no sessions in"):
        resolve("last", tmp_path / "empty")
    with pytest.raises(TurnaroundError, match="folder"):
        resolve(str(tmp_path), tmp_path)


# -- unwritable folders: a clear line before the model loads --------------------------


def test_a_file_given_as_the_folder(tmp_path: Path) -> None:
    afile = tmp_path / "notes.txt"
    afile.write_text("x")
    result = turnaround("replay", "--sample", "--fast", "--record", str(afile), prefix=[])
    assert_one_line_error(result, "is a file, not a folder", "--no-record")
    assert "loading Whisper" not in result.stderr


@pytest.mark.skipif(not AS_USER and os.geteuid() == 0, reason="root without setpriv")
def test_a_folder_that_is_not_writable(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    for target in (locked, locked / "deeper"):
        result = turnaround("replay", "--sample", "--fast", "--record", str(target))
        assert_one_line_error(result, "permission denied", "--record DIR")
        assert "loading Whisper" not in result.stderr
    result = turnaround("replay", "--transcript", str(TRANSCRIPTS / "friendly_call.jsonl"),
                        "--record", str(locked))  # fmt: skip
    assert_one_line_error(result, "permission denied")
    assert list(locked.iterdir()) == []


@pytest.mark.skipif(not AS_USER and os.geteuid() == 0, reason="root without setpriv")
def test_a_home_whose_local_share_is_not_writable(tmp_path: Path) -> None:
    share = tmp_path / "home" / ".local" / "share"
    share.mkdir(parents=True)
    share.chmod(0o500)
    env = {"HOME": str(tmp_path / "home"), "XDG_DATA_HOME": ""}
    result = turnaround("replay", "--sample", "--no-server", env=env)  # records by default
    line = assert_one_line_error(result, str(share / "turnaround"), "XDG_DATA_HOME")
    assert "loading Whisper" not in result.stderr, line


def test_a_read_only_mount(tmp_path: Path) -> None:
    mount = tmp_path / "ro"
    mount.mkdir()
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("no user namespaces here to mount a read-only file system")
    script = (
        f"mount -t tmpfs -o ro tmpfs {mount} && "
        f"exec {sys.executable} -m assistant replay --sample --fast --record {mount}"
    )
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, cwd=REPO
    )
    assert_one_line_error(result, "read-only file system")
    assert "loading Whisper" not in result.stderr


def test_recording_error_names_the_folder(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(RecordingError, match=r"cannot record the session in .*/f/x"):
        TranscriptRecorder.create(tmp_path / "f" / "x")


@pytest.mark.parametrize("command", [["sessions"], ["report"]])
def test_help_for_the_session_commands(command: list[str]) -> None:
    result = turnaround(*command, "--help", prefix=[])
    assert result.returncode == 0 and "usage: turnaround" in result.stdout
    assert "--dir" in result.stdout


def test_deleting_a_session_asks_or_needs_yes(tmp_path: Path) -> None:
    recorder = TranscriptRecorder.create(tmp_path)
    recorder.end(0.0, "end of input")
    report = recorder.path.with_suffix(".html")
    report.write_text("<p>report</p>")
    refused = turnaround("sessions", "--dir", str(tmp_path), "--delete", "last", prefix=[])
    assert_one_line_error(refused, "--yes")
    assert recorder.path.exists()
    done = turnaround("sessions", "--dir", str(tmp_path), "--delete", "last", "--yes", prefix=[])
    assert done.returncode == 0 and recorder.session_id in done.stdout
    assert list(tmp_path.iterdir()) == []  # the session and its report
    listing = turnaround("sessions", "--dir", str(tmp_path), prefix=[])
    assert listing.returncode == 0 and "no sessions" in listing.stdout


# -- a session still being recorded (issue 17, item 5) -------------------------------


def test_the_recording_lock_is_held_while_recording_and_released_at_the_end(
    tmp_path: Path,
) -> None:
    from assistant.sessions.store import SessionBusy, check_not_recording, delete

    recorder = TranscriptRecorder.create(tmp_path)
    with pytest.raises(SessionBusy, match="still being recorded"):
        check_not_recording(recorder.path)
    with pytest.raises(SessionBusy):
        delete(recorder.path)
    assert recorder.path.exists()
    recorder.end(1.0, "end of input")
    check_not_recording(recorder.path)
    assert delete(recorder.path) == [recorder.path]
