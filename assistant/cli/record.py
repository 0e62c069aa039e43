"""What the command line records about a session, and the text replay's recording.

The session file's metadata line needs things only the command line knows (mode,
playbook, what was listened to, whether an overlay showed the cards); the rest
(model, input names) the Session adds.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from assistant.logs import say
from assistant.sessions.recorder import TranscriptRecorder

Emit = Callable[[dict[str, Any]], None]


def input_kind(args: argparse.Namespace) -> str:
    """What the session listened to: audio devices, or a file (cmd_live sets sample
    when it falls back to the bundled call)."""
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


@contextmanager
def recording_transcript_replay(args: argparse.Namespace, emit: Emit) -> Iterator[Emit]:
    """``emit`` that also records each event when ``--record`` was given; the session
    is closed when the block ends, or removed if the replay failed before any event."""
    if args.record is None or args.no_record:
        yield emit
        return
    meta = record_meta(args, "transcript", realtime=False)
    meta["input"]["names"] = [args.transcript.name]
    meta["model"] = None  # text in, no speech recognition
    recorder = TranscriptRecorder.create(args.record, **meta)
    say(f"recording the session to {recorder.path}")
    stream_s = 0.0

    def record_and_emit(event: dict[str, Any]) -> None:
        nonlocal stream_s
        stream_s = max(stream_s, float(event.get("end_s") or event.get("at_s") or 0.0))
        recorder.write(event)
        emit(event)

    try:
        yield record_and_emit
    except BaseException:
        recorder.abandon()  # a bad transcript: no empty session left behind
        raise
    recorder.end(stream_s, "end of input")
