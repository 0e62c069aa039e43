"""Keep PortAudio's and ALSA's own complaints off the user's terminal.

When an input device goes away mid-call, PortAudio's ALSA backend writes lines like
``Expression 'alsa_snd_pcm_poll_descriptors_revents( ... )' failed in
'src/hostapi/alsa/pa_linux_alsa.c', line: 3665`` straight to file descriptor 2,
from C, before Turnaround can say anything useful. The user then reads three
cryptic lines and our one clear one.

:func:`filter_native_stderr` routes descriptor 2 through a pipe read by a thread
that drops lines of that shape and passes everything else on unchanged, in order.
It is undone at exit (after our last line has gone through). Linux only; a no-op
elsewhere or when anything about it fails.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import sys
import threading

# C-library lines a user can do nothing with (the device loss itself is reported by
# Turnaround in one line).
NOISE = re.compile(
    rb"^(Expression '.*' failed in '.*', line: \d+"
    rb"|ALSA lib [\w./-]+:\d+:\(.*\) .*"
    rb"|PaAlsaStream\w*: .*)\r?$"
)
_CHUNK = 4096
_installed: _Filter | None = None


class _Filter:
    def __init__(self) -> None:
        sys.stderr.flush()
        self._original = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        self._read_end = read_end
        self.dropped = 0
        self._thread = threading.Thread(target=self._pump, name="stderr-filter", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(self._read_end, _CHUNK)
            except OSError:
                chunk = b""
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            self._forward(lines)
        self._forward([pending] if pending else [], newline=False)
        os.close(self._read_end)

    def _forward(self, lines: list[bytes], newline: bool = True) -> None:
        kept = []
        for line in lines:
            if NOISE.match(line):
                self.dropped += 1
            else:
                kept.append(line + (b"\n" if newline else b""))
        if kept:
            with contextlib.suppress(OSError):
                os.write(self._original, b"".join(kept))

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        with contextlib.suppress(OSError):
            os.dup2(self._original, 2)  # the pipe's last write end closes: EOF
        # A child (a browser) may still hold a copy of the write end: do not wait long.
        self._thread.join(1.0)


def filter_native_stderr() -> None:
    """Install the filter once for this process (see the module docstring)."""
    global _installed
    if _installed is not None or not sys.platform.startswith("linux"):
        return
    try:
        _installed = _Filter()
    except OSError:
        return
    atexit.register(_installed.close)
