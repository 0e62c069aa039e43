"""What the command line records about a session.

The session file's metadata line needs things only the command line knows (mode,
playbook, what was listened to, whether an overlay showed the cards); the rest
(model, input names) the Session adds.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

Emit = Callable[[dict[str, Any]], None]


def input_kind(args: argparse.Namespace) -> str:
    """What the session listened to: a transcript, audio devices, or a file
    (cmd_live sets sample when it falls back to the bundled call)."""
    if getattr(args, "transcript", None) is not None:
        return "transcript"
    return "file" if getattr(args, "sample", False) or getattr(args, "file", None) else "devices"


def record_meta(args: argparse.Namespace, kind: str, realtime: bool) -> dict[str, Any]:
    """The session file's metadata that only the command line knows."""
    coach = not args.no_coach
    mode = "sales"
    if coach:
        from assistant.coach.playbook import load_playbook

        mode = load_playbook(args.playbook).mode.value
    return {
        "mode": mode,
        "playbook": args.playbook if coach else None,
        "coach": coach,
        "input": {"kind": kind},
        "realtime": realtime,
        "overlay": realtime and not getattr(args, "no_server", True),
    }
