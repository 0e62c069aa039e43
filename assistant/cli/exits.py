"""How the command line ends: an exit status and at most one line on stderr.

Whatever goes wrong -- a bad file, a closed pipe, a full disk, Ctrl-C or SIGTERM at
any moment, a bug -- the user sees ``turnaround: error: <what> ...`` and never a
traceback (``TURNAROUND_DEBUG=1`` brings tracebacks back for developers).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading

from assistant.cli.output import silence_stdout
from assistant.errors import OutputError, TurnaroundError
from assistant.logs import configure, debug_enabled, one_line

EXIT_INTERRUPTED = 130


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM (a service manager, `kill`) and SIGHUP (the terminal closed) stop like
    Ctrl-C: the last utterance is finished and recorded, the session file gets its
    ``SessionEnd``, and the overlay is told the call has stopped. SIGHUP used to kill
    the process outright (exit 129), losing the utterance in progress."""
    raise KeyboardInterrupt


def prepare_process() -> None:
    configure()
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        # Text this terminal cannot encode is escaped, never fatal.
        reconfigure(errors="backslashreplace")
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
        # Started under nohup (SIGHUP ignored): the user asked to outlive the terminal.
        if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
            signal.signal(signal.SIGHUP, _terminate)


def error_line(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):  # stderr gone too: the status is left
        print(f"turnaround: error: {one_line(message)}", file=sys.stderr, flush=True)


def _interrupted(exc: BaseException) -> bool:
    """Ctrl-C, also when it came while an extension module initialised: pybind11
    modules (onnxruntime, imported when the VAD starts) turn any exception in their
    init into ``ImportError("initialization failed")`` raised *from* it."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__
    return False


def exit_status(exc: BaseException) -> int:
    """Report ``exc`` in one line and return the exit status (re-raises SystemExit:
    argparse's own usage errors and --help)."""
    if isinstance(exc, SystemExit):
        raise exc
    if _interrupted(exc):  # before TurnaroundError: one may wrap the interrupt
        return EXIT_INTERRUPTED
    if isinstance(exc, BrokenPipeError):  # `turnaround models | head -1`: the reader left
        silence_stdout()
        return 0
    if isinstance(exc, OutputError):
        silence_stdout()
        if not exc.quiet:
            error_line(str(exc))
        return exc.exit_code
    if isinstance(exc, TurnaroundError):
        error_line(str(exc))
        return exc.exit_code
    if debug_enabled() or not isinstance(exc, Exception):
        raise exc
    if isinstance(exc, RecursionError):
        error_line("input nested too deeply to read")
        return 2
    if isinstance(exc, MemoryError):
        error_line("out of memory")
        return 1
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        error_line(f"{exc.strerror or exc}{where}")
        return 1
    error_line(
        f"unexpected {type(exc).__name__}: {exc} (this is a bug: please report it; "
        "TURNAROUND_DEBUG=1 shows the details)"
    )
    return 1
