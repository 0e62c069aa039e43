"""Recorded sessions per rep, and their reports, for the manager's view.

Each rep's sessions are in their own folder under the sessions folder
(``<sessions>/<rep id>/session-<id>.jsonl``, 0700 and 0600 as every session).
Nothing here takes a path from a request: a rep is one of the team file's ids and
a session is named by its id, which must look like one, inside that rep's folder.
Listings and reports are cached by file size and modification time, so the view
polling them costs a ``stat`` per file.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from assistant.sessions.log import SessionLog, SessionReadError, read_session
from assistant.sessions.store import id_of, session_files, session_path
from assistant.team.config import Team

# "20250611-142233-3fa9c1" (sessions.store.new_session_id).
SESSION_ID_RE = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")
# Sessions listed per rep: the newest, a few weeks of calls.
LISTED_PER_REP = 50
# Rendered reports kept in memory (a report is ~100-300 KB of HTML).
REPORTS_CACHED = 16

_Key = tuple[str, int, int]


class SessionShelf:
    def __init__(self, team: Team, sessions_dir: Path | None) -> None:
        self.team = team
        self.sessions_dir = sessions_dir
        self._lock = threading.Lock()
        self._rows: dict[_Key, dict[str, Any]] = {}
        self._reports: OrderedDict[_Key, str] = OrderedDict()

    def folder(self, rep_id: str) -> Path | None:
        if self.sessions_dir is None or self.team.rep(rep_id) is None:
            return None
        return self.sessions_dir / rep_id

    def listing(self) -> dict[str, Any]:
        """Every rep with their latest sessions, newest first."""
        reps = []
        for rep in self.team.reps:
            folder = self.folder(rep.id)
            files = session_files(folder) if folder is not None and folder.is_dir() else []
            rows = [self._row(p) for p in reversed(files[-LISTED_PER_REP:])]
            reps.append({"rep": rep.id, "name": rep.name, "sessions": [r for r in rows if r]})
        return {"recording": self.sessions_dir is not None, "reps": reps}

    def report(self, rep_id: str, session_id: str) -> str | None:
        """The HTML report of one of a rep's sessions; None if there is no such one."""
        folder = self.folder(rep_id)
        if folder is None or not SESSION_ID_RE.match(session_id):
            return None
        path = session_path(folder, session_id)
        key = _key(path)
        if key is None:
            return None
        with self._lock:
            cached = self._reports.get(key)
        if cached is not None:
            return cached
        from assistant.team.call import render_report

        try:
            html = render_report(path)
        except SessionReadError:
            return None
        with self._lock:
            self._reports[key] = html
            while len(self._reports) > REPORTS_CACHED:
                self._reports.popitem(last=False)
        return html

    def _row(self, path: Path) -> dict[str, Any] | None:
        key = _key(path)
        if key is None:
            return None
        with self._lock:
            cached = self._rows.get(key)
        if cached is not None:
            return cached
        try:
            row = summarize(read_session(path))
        except SessionReadError as exc:
            row = {"id": id_of(path) or path.stem, "problem": str(exc)}
        with self._lock:
            self._rows[key] = row
        return row


def summarize(log: SessionLog) -> dict[str, Any]:
    outcomes: dict[str, str] = {}
    for event in log.card_events:
        outcomes.setdefault(event.card_id, event.outcome)
    started = log.meta.started
    return {
        "id": id_of(log.path) or log.meta.id,
        "started": started.isoformat(timespec="seconds") if started else None,
        "duration_s": round(log.last_s, 1),
        "cards": len(log.suggestions),
        "helpful": list(outcomes.values()).count("helpful"),
        "dismissed": list(outcomes.values()).count("dismiss"),
        "ended": log.closed,
        "end_reason": log.end_reason,
    }


def _key(path: Path) -> _Key | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (str(path), st.st_size, st.st_mtime_ns)
