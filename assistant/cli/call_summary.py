"""The "call summary" at the end of a session with the overlay: the coaching report,
served by the overlay server at ``/summary`` and linked from every open page.

The server goes down with the process, so on a terminal the command keeps serving
(up to ``LINGER_S``) until Ctrl-C; a script's run (no terminal) ends at once, and its
summary is one ``turnaround report`` away.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from assistant.errors import TurnaroundError
from assistant.logs import say
from assistant.sessions.store import id_of

if TYPE_CHECKING:
    from assistant.server.server import OverlayServer

# Long enough to read the summary after a call; a forgotten terminal still ends.
LINGER_S = 600.0


def summary_url(overlay_url: str, path: str) -> str:
    return urlunsplit(urlsplit(overlay_url)._replace(path=path))


def offer_summary(server: OverlayServer, session_file: Path, wait: bool) -> None:
    """Render the report of ``session_file``, publish it on ``server`` and keep serving
    until Ctrl-C; without ``wait`` (no terminal) only say how to get the report, since
    a link on the page would die with this process."""
    from assistant.cli.sessions import render

    later = f"turnaround report {id_of(session_file) or session_file} --open"
    if not wait:
        say(f"call summary: {later}")
        return
    say("writing the call summary")
    try:
        html = render(session_file, "html")
    except TurnaroundError as exc:  # matplotlib missing, the file gone: say, go on
        say(f"no call summary: {exc}")
        return
    # Ctrl-C is the way to quit from the moment the link is said: a person (or a
    # test) may press it before the next line is printed, and that is no interruption.
    with contextlib.suppress(KeyboardInterrupt):
        url = summary_url(server.url, server.publish_summary(html))
        say(f"call summary: {url} (later: {later})")
        say(f"the overlay stays up for the summary; Ctrl-C to quit (or wait {LINGER_S / 60:g} min)")
        time.sleep(LINGER_S)
