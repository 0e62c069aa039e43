"""`turnaround sessions` (list or delete past sessions) and `turnaround report SESSION`.

Both read the sessions folder (``--dir``, default the one live sessions record to);
neither loads a model or touches audio.
"""

from __future__ import annotations

import argparse
import os
import sys
import webbrowser
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import TurnaroundError
from assistant.logs import safe_json, safe_line
from assistant.report.plot import clock
from assistant.sessions.log import SessionLog, SessionReadError, read_meta_line, read_session
from assistant.sessions.store import (
    check_not_recording,
    default_sessions_dir,
    delete,
    id_of,
    report_path,
    resolve,
    session_files,
)

SESSION_HELP = "an id from `turnaround sessions`, a unique prefix of one, last, or a file's path"


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    dir_help = f"the sessions folder (default: {default_sessions_dir()})"
    sessions = sub.add_parser(
        "sessions",
        help="list recorded sessions (or delete one)",
        description="List recorded sessions, newest last: date, duration, mode, speakers, "
        "cards shown and how many were marked helpful or dismissed.",
    )
    sessions.add_argument("--dir", type=Path, metavar="DIR", help=dir_help)
    sessions.add_argument("--delete", metavar="SESSION", help=f"delete one session: {SESSION_HELP}")
    sessions.add_argument("-y", "--yes", action="store_true", help="with --delete: do not ask")
    sessions.add_argument("--json", action="store_true", help="one JSON object per session")

    report = sub.add_parser(
        "report",
        help="the coaching report of a session (HTML, Markdown or JSON)",
        description="Write a session's coaching report: talk ratio, monologues, questions, "
        "silences, a timeline, the stall moments and the prompts suggested, and the "
        "transcript. The HTML is one self-contained file that works offline.",
    )
    report.add_argument("session", metavar="SESSION", help=SESSION_HELP)
    report.add_argument(
        "--format", choices=("html", "md", "json"), default="html", help="(default: %(default)s)"
    )
    report.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write it; '-' for standard output (default: HTML beside the session "
        "file, Markdown and JSON to standard output)",
    )
    report.add_argument("--open", action="store_true", help="open the HTML report in a browser")
    report.add_argument("--dir", type=Path, metavar="DIR", help=dir_help)


# -- sessions ------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRow:
    id: str
    date: str
    duration_s: float | None
    mode: str
    speakers: str
    cards: int
    helpful: int
    dismissed: int
    path: Path
    problem: str | None = None


def summarize(log: SessionLog) -> SessionRow:
    meta = log.meta
    speakers = ", ".join(dict.fromkeys(f.speaker.value for f in log.finals)) or "-"
    by_card: dict[str, str] = {}
    for event in log.card_events:
        by_card.setdefault(event.card_id, event.outcome)
    date = meta.started.strftime("%Y-%m-%d %H:%M") if meta.started else "?"
    mode = meta.mode if meta.coach else f"{meta.mode} (no coach)"
    outcomes = list(by_card.values())
    return SessionRow(
        id_of(log.path) or meta.id,  # what `report` and `--delete` match
        date,
        log.last_s,
        mode,
        speakers,
        len(log.suggestions),
        outcomes.count("helpful"),
        outcomes.count("dismiss"),
        log.path,
    )


def _row(path: Path) -> SessionRow:
    try:
        return summarize(read_session(path))
    except SessionReadError as exc:
        name = path.name.removeprefix("session-").removesuffix(".jsonl")
        return SessionRow(name, "?", None, "?", "?", 0, 0, 0, path, str(exc))


def cmd_sessions(args: argparse.Namespace) -> int:
    directory = args.dir or default_sessions_dir()
    if args.delete is not None:
        return _delete(args.delete, directory, args.yes)
    rows = [_row(p) for p in session_files(directory)]
    if args.json:
        for r in rows:
            print(safe_json({**r.__dict__, "path": str(r.path)}))
        return 0
    if not rows:
        print(f"no sessions in {directory} yet (live calls and real-time replays record there;")
        print("try: turnaround replay --sample)")
        return 0
    head = ("ID", "DATE", "LENGTH", "MODE", "SPEAKERS", "CARDS", "HELPFUL", "DISMISSED")
    table = [head] + [
        (
            r.id,
            r.date,
            "?" if r.duration_s is None else clock(r.duration_s),
            safe_line(r.mode),  # the file's text: shown, never obeyed
            r.speakers,
            str(r.cards),
            str(r.helpful),
            str(r.dismissed),
        )
        for r in rows
        if r.problem is None
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for row in table:
        cells = [
            cell.rjust(width) if i in (2, 5, 6, 7) else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
    for r in rows:
        if r.problem is not None:
            print(f"unreadable: {safe_line(r.problem)}")
    print(f"\n{len(rows)} session(s) in {safe_line(str(directory))}")
    print("report: turnaround report ID|last [--open] · delete: turnaround sessions --delete ID")
    return 0


def _delete(ref: str, directory: Path, yes: bool) -> int:
    path = resolve(ref, directory)
    meta, _legacy = read_meta_line(path)  # refuse to delete a file that is not a session
    check_not_recording(path)  # before asking: the answer would not matter
    shown = safe_line(str(path))
    if not yes:
        if not sys.stdin.isatty():
            raise TurnaroundError(f"not deleting {path} without --yes (no terminal to ask)")
        answer = input(f"delete session {safe_line(meta.id)} ({shown})? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("kept")
            return 1
    removed = delete(path)  # checks the lock again, holding it while it deletes
    gone = ", ".join(safe_line(str(p)) for p in removed)
    print(f"deleted session {id_of(path) or safe_line(meta.id)} ({gone})")
    return 0


# -- report --------------------------------------------------------------------------


def _write_private(path: Path, text: str) -> None:
    """The report holds the transcript: 0600, like the session it came from."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(text)
    except OSError as exc:
        raise TurnaroundError(
            f"cannot write the report to {path}: {exc.strerror or exc} "
            "(choose another place with -o FILE)"
        ) from None


def _check_target(target: Path, session: Path) -> None:
    """Refuse an ``-o`` that would destroy what reports are made from: the session
    itself (it was replaced with HTML, exit 0), or any session file, which would then
    break ``report last`` for its whole folder."""
    why = None
    if target.is_dir():
        why = "it is a folder (give a file name)"
    elif target.exists() and os.path.samefile(target, session):
        why = "it is the session file being reported on"
    elif id_of(target) is not None or (target.is_file() and _is_session(target)):
        why = "it is a session file"
    if why is not None:
        raise TurnaroundError(f"not writing the report to {target}: {why}; choose another -o FILE")


def _is_session(path: Path) -> bool:
    try:
        read_meta_line(path)
    except (SessionReadError, OSError):
        return False
    return True


def render(path: Path, fmt: str) -> str:
    """The report of the session file at ``path`` in ``fmt`` (html, md or json)."""
    from assistant.report.figures import build_report

    report = build_report(read_session(path))
    if fmt == "json":
        from assistant.report.text import report_json

        return safe_json(report_json(report), indent=1) + "\n"
    if fmt == "md":
        from assistant.report.text import render_markdown

        return render_markdown(report)
    from assistant.report.html import render_html

    return render_html(report)


def cmd_report(args: argparse.Namespace) -> int:
    if args.open and args.format != "html":
        raise TurnaroundError("--open shows the HTML report; drop --format or use --format html")
    if args.open and args.output == "-":
        raise TurnaroundError("--open needs a file: drop -o - or give -o FILE")
    path = resolve(args.session, args.dir or default_sessions_dir())
    text = render(path, args.format)
    output = args.output
    if output is None and args.format == "html":
        output = str(report_path(path))
    if output is None or output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return 0
    target = Path(output).expanduser()
    _check_target(target, path)
    _write_private(target, text)
    print(f"wrote the report to {safe_line(str(target))}")
    if args.open and not webbrowser.open(target.resolve().as_uri()):
        print(f"no browser found: open {safe_line(str(target))} yourself", file=sys.stderr)
    return 0
