"""Argument types for the command line: a bad value is argparse's one-line usage
error (exit 2) before anything loads, never a traceback from deep inside.

``--port 70000`` used to reach ``socket.bind`` (OverflowError), ``--threads -5`` the
model loader, and ``--end-silence nan`` passed every check (``nan <= 0.05`` is False).
"""

from __future__ import annotations

import argparse
import math
import re
from typing import Any, NoReturn

from assistant.errors import TurnaroundError
from assistant.logs import safe_line

MAX_PORT = 65535
# CTranslate2 takes any positive count; beyond this it is a typo, not a machine.
MAX_THREADS = 256
# Below 0.05 s an utterance ends inside a word; beyond 10 s nobody would ever get a
# caption before they hang up.
MIN_END_SILENCE_S = 0.05
MAX_END_SILENCE_S = 10.0
# The token goes in a URL the user opens: URL-safe characters only, so the printed
# link works as printed, and long enough not to be guessed.
TOKEN_RE = re.compile(r"[A-Za-z0-9._~-]{8,256}")
# A host name or address: letters, digits and the punctuation of IPv4/IPv6/DNS.
# A usage error echoes the arguments it did not understand; beyond this, cut.
MAX_ERROR_CHARS = 300
HOST_RE = re.compile(r"[A-Za-z0-9.:%_-]{1,253}|\[[0-9A-Fa-f:.%]{2,64}\]")


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error stays one line on the terminal: argparse echoes
    the offending arguments, and a carriage return or escape sequence in one of them
    would otherwise rewrite the screen."""

    def error(self, message: str) -> NoReturn:
        message = safe_line(message)
        if len(message) > MAX_ERROR_CHARS:  # a pasted essay is not echoed back whole
            message = message[: MAX_ERROR_CHARS - 1] + "…"
        super().error(message)


def _int(text: str) -> int:
    try:
        # int() accepts "1_000" and 4,000-digit numbers; a port or a thread count
        # is a few plain digits.
        if not re.fullmatch(r"[+-]?\d{1,9}", text.strip()):
            raise ValueError
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def port(text: str) -> int:
    value = _int(text)
    if not 0 <= value <= MAX_PORT:
        raise argparse.ArgumentTypeError(
            f"{value} is not a port number: use 1-{MAX_PORT} (0 picks a free port)"
        )
    return value


def threads(text: str) -> int:
    value = _int(text)
    if not 1 <= value <= MAX_THREADS:
        raise argparse.ArgumentTypeError(f"{value} threads: use 1 to {MAX_THREADS}")
    return value


def end_silence(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or not MIN_END_SILENCE_S < value <= MAX_END_SILENCE_S:
        raise argparse.ArgumentTypeError(
            f"{text!r}: use more than {MIN_END_SILENCE_S:g} and at most "
            f"{MAX_END_SILENCE_S:g} seconds"
        )
    return value


def token(text: str) -> str:
    if not TOKEN_RE.fullmatch(text):
        raise argparse.ArgumentTypeError("use 8-256 URL-safe characters (letters, digits, . _ ~ -)")
    return text


def host(text: str) -> str:
    if not HOST_RE.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text[:80]!r} is not a host name or address (e.g. 127.0.0.1, ::1, 0.0.0.0)"
        )
    return text


# -- options a run would ignore ----------------------------------------------------------

# Where a run records which options were on its command line (see ``Remembered``).
GIVEN = "given_options"
# The overlay's options, which only a run with an overlay server uses.
OVERLAY_OPTIONS = ("--host", "--port", "--token", "--open")


class Remembered(argparse.Action):
    """``store`` (or, with ``flag=True``, ``store_true``) that also notes the option
    was given: ``--port 8765 --fast`` was silently ignored, and a default value
    cannot tell "given" from "not given"."""

    def __init__(self, option_strings: list[str], dest: str, flag: bool = False, **kw: Any):
        if flag:
            kw["nargs"] = 0
            kw.setdefault("default", False)
        super().__init__(option_strings, dest, **kw)
        self.flag = flag

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, True if self.flag else values)
        given = set(getattr(namespace, GIVEN, None) or ())
        setattr(namespace, GIVEN, given | {self.option_strings[0]})


def check_overlay_options(args: argparse.Namespace) -> None:
    """An overlay option on a run that has no overlay is an error, before anything
    loads: the user expected a page that will never be served."""
    given = [o for o in OVERLAY_OPTIONS if o in (getattr(args, GIVEN, None) or ())]
    if not given:
        return
    given_all = getattr(args, GIVEN, None) or ()
    if getattr(args, "transcript", None) is not None and "--realtime" not in given_all:
        why = "with --transcript alone: a fast text replay has no overlay (add --realtime)"
    elif args.command == "replay" and not args.realtime:
        why = "with --fast: a fast replay has no overlay (replay in real time for one)"
    elif args.no_server:
        why = "with --no-server"
    else:
        return
    verb = "has" if len(given) == 1 else "have"
    raise TurnaroundError(f"{' '.join(given)} {verb} no effect {why}; drop {' '.join(given)}")
