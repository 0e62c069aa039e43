"""Where session files live, how a new one is made, and how to find one again.

A session is one file, ``session-<id>.jsonl``, in the sessions folder (default
``$XDG_DATA_HOME/turnaround/sessions``, i.e. ``~/.local/share/turnaround/sessions``).
The id is the local start time to the second plus six random hex digits
(``20250611-142233-3fa9c1``): readable, sortable, and two runs started in the same
second still get different files, because the file is created with ``O_EXCL`` and a
clash simply draws another suffix.

Sessions hold what was said on a call, so they are private: each file is created
0600, and each folder this module creates is 0700 (the default folder is tightened
to 0700 even when an older version made it world-readable).

A run that is recording holds an exclusive ``flock`` on its session file, and
``delete`` refuses a file so held: deleting it mid-call lost the whole call without a
word. The kernel drops the lock when the file is closed or its process dies, so a
crashed recorder never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets
import stat
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from assistant.errors import TurnaroundError

FILE_PREFIX = "session-"
FILE_SUFFIX = ".jsonl"
REPORT_SUFFIX = ".html"
# New ids: stamp + random suffix. Files from before ids existed: stamp only.
ID_RE = re.compile(r"^[0-9]{8}-[0-9]{6}(?:-[0-9a-f]{6})?$")
# Draws before giving up on a unique name: 16**6 suffixes per second make a second
# clash all but impossible; repeated clashes mean something else is wrong.
ID_ATTEMPTS = 20
# Ambiguous prefixes name this many candidates in the error.
AMBIGUOUS_SHOWN = 4


class RecordingError(TurnaroundError):
    """The session folder or file cannot be written."""


class SessionNotFound(TurnaroundError):
    """A session reference matches no session, or more than one."""


class SessionBusy(TurnaroundError):
    """A session that a running Turnaround is still recording."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"session {id_of(path) or path.name} is still being recorded by a running "
            "turnaround; stop that call first (Ctrl-C), then delete it"
        )


def default_sessions_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "turnaround" / "sessions"


def session_path(directory: Path, session_id: str) -> Path:
    return directory / f"{FILE_PREFIX}{session_id}{FILE_SUFFIX}"


def report_path(session_file: Path) -> Path:
    """Where ``turnaround report`` writes the HTML: beside the session, as private."""
    return session_file.with_suffix(REPORT_SUFFIX)


def id_of(path: Path) -> str | None:
    """The session id a file name carries, or None for any other file."""
    name = path.name
    if not (name.startswith(FILE_PREFIX) and name.endswith(FILE_SUFFIX)):
        return None
    candidate = name[len(FILE_PREFIX) : -len(FILE_SUFFIX)]
    return candidate if ID_RE.match(candidate) else None


def new_session_id(now: datetime, suffix: str | None = None) -> str:
    return f"{now.strftime('%Y%m%d-%H%M%S')}-{suffix or secrets.token_hex(3)}"


# -- creating ------------------------------------------------------------------------


def _why(exc: OSError) -> str:
    if exc.errno == errno.EROFS:
        return "it is on a read-only file system"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno == errno.ENOTDIR:
        return "part of that path is a file, not a folder"
    return exc.strerror or str(exc)


def _fail(directory: Path, reason: str) -> RecordingError:
    where = "--record DIR"
    if directory == default_sessions_dir():
        where = "--record DIR (or XDG_DATA_HOME)"
    return RecordingError(
        f"cannot record the session in {directory}: {reason}; "
        f"choose a writable folder with {where}, or --no-record"
    )


def prepare_dir(directory: Path) -> None:
    """Create ``directory`` (each new level 0700) or check the one that is there.

    Raises RecordingError, one line, before anything slow (the model) has started.
    """
    try:
        _prepare_dir(directory)
    except RecordingError:
        raise
    except OSError as exc:  # a stat refused on the way down, say
        raise _fail(directory, _why(exc)) from None


def _prepare_dir(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise _fail(directory, f"{directory} is a file, not a folder")
    missing: list[Path] = []
    level = directory
    while not level.exists():
        missing.append(level)
        if level.parent == level:
            break
        level = level.parent
    if not level.is_dir():
        raise _fail(directory, f"{level} is a file, not a folder")
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            if not path.is_dir():
                raise _fail(directory, f"{path} is a file, not a folder") from None
        except OSError as exc:
            raise _fail(directory, f"{_why(exc)} (creating {path})") from None
    # Our own folder: an older version may have left it 0755.
    if directory == default_sessions_dir() and stat.S_IMODE(directory.stat().st_mode) & 0o077:
        directory.chmod(0o700)


def create_session_file(
    directory: Path,
    now: datetime,
    suffix: Callable[[], str] = lambda: secrets.token_hex(3),
) -> tuple[str, Path, int]:
    """A new, empty, private (0600) session file: ``(id, path, fd)`` open for append.

    ``O_EXCL`` makes the name ours alone even when another run started this second.
    """
    prepare_dir(directory)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
    for _ in range(ID_ATTEMPTS):
        session_id = new_session_id(now, suffix())
        path = session_path(directory, session_id)
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            continue
        except OSError as exc:
            raise _fail(directory, _why(exc)) from None
        # 0600 whatever the umask; a file system without modes (FAT) cannot do more.
        with contextlib.suppress(OSError):
            os.fchmod(fd, 0o600)
        hold_recording_lock(fd)
        return session_id, path, fd
    raise _fail(directory, f"no unused session name after {ID_ATTEMPTS} tries")


# -- finding -------------------------------------------------------------------------


def session_files(directory: Path) -> list[Path]:
    """Every session file in ``directory``, oldest id first."""
    try:
        entries = list(directory.iterdir())
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise SessionNotFound(f"cannot read the sessions folder {directory}: {_why(exc)}") from None
    files = [p for p in entries if id_of(p) is not None and p.is_file()]
    return sorted(files, key=lambda p: p.name)


def _looks_like_path(ref: str) -> bool:
    return "/" in ref or os.sep in ref or ref.endswith(FILE_SUFFIX) or ref.startswith(".")


def resolve(ref: str, directory: Path) -> Path:
    """The session file ``ref`` names: an id, a unique prefix of one, ``last``, or a
    path. Raises SessionNotFound with a one-line message."""
    ref = ref.strip()
    if not ref:
        raise SessionNotFound("no session given: use an id from `turnaround sessions`, or last")
    if _looks_like_path(ref):
        path = Path(ref).expanduser()
        if path.is_dir():
            raise SessionNotFound(f"{ref} is a folder; give a session file, or --dir {ref}")
        if not path.is_file():
            raise SessionNotFound(f"no such session file: {ref}")
        return path
    files = session_files(directory)
    if ref == "last":
        if not files:
            raise SessionNotFound(
                f"no sessions in {directory} yet (record one: turnaround replay --sample)"
            )
        return files[-1]  # ids start with the start time
    exact = [p for p in files if id_of(p) == ref]
    if exact:
        return exact[0]
    matches = [p for p in files if (id_of(p) or "").startswith(ref)]
    if not matches:
        shown = ref if ref.isprintable() and len(ref) <= 40 else repr(ref[:40])
        raise SessionNotFound(
            f"no session {shown} in {directory} (list them with: turnaround sessions)"
        )
    if len(matches) > 1:
        ids = [id_of(p) or "" for p in matches]
        more = f" and {len(ids) - AMBIGUOUS_SHOWN} more" if len(ids) > AMBIGUOUS_SHOWN else ""
        raise SessionNotFound(
            f"session id {ref!r} is ambiguous: it matches {', '.join(ids[:AMBIGUOUS_SHOWN])}"
            f"{more}; give more of the id"
        )
    return matches[0]


# -- the recording lock ----------------------------------------------------------------


def hold_recording_lock(fd: int) -> None:
    """Mark the session file open on ``fd`` as being recorded, until ``fd`` closes or
    this process dies (then the kernel drops the lock)."""
    # A file system without flock (some network mounts): record unlocked.
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _try_lock(fd: int, path: Path) -> None:
    """Lock ``fd`` exclusively, or raise SessionBusy when a recorder holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SessionBusy(path) from None
    except OSError:
        pass  # no flock on this file system: nothing can be told, as before


def check_not_recording(path: Path) -> None:
    """Raise SessionBusy when a running Turnaround is still recording ``path``."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return  # gone or unreadable: whoever acts on it next says so
    try:
        _try_lock(fd, path)
    finally:
        os.close(fd)


def delete(path: Path) -> list[Path]:
    """Remove a session file and the HTML report made from it; returns what went.
    Raises SessionBusy, deleting nothing, while the session is being recorded."""
    removed: list[Path] = []
    try:
        fd: int | None = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        fd = None  # gone, or unreadable: unlink says which below
    try:
        if fd is not None:
            _try_lock(fd, path)  # held until the file is gone
        for target in (path, report_path(path)):
            try:
                target.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise SessionNotFound(f"cannot delete {target}: {_why(exc)}") from None
            removed.append(target)
    finally:
        if fd is not None:
            os.close(fd)
    return removed
