"""The team file (``turnaround serve --team FILE``): who may open the server, and how.

A small TOML file, read once at start-up and validated in full (a typo is an
error naming the file and the field, never a surprise mid-shift)::

    playbook = "sales-call"          # optional: the team's default playbook

    [manager]
    token = "m-2b7c...-at-least-16-characters"

    [[rep]]
    id = "dana"                      # a folder name: a-z, 0-9, - and _
    name = "Dana Reyes"              # optional: what the manager's view shows
    token = "r-9f1e...-at-least-16-characters"
    playbook = "coaching-1on1"       # optional: this rep's playbook

Every token is a secret that opens that rep's call (or, for the manager, every
call, read-only): at least ``MIN_TOKEN_CHARS`` characters of letters, digits,
``-``, ``_``, ``.`` or ``~`` (they travel in a URL), and no two alike. The file
holds them, so it should be readable by its owner only; a file others can read is
warned about.
"""

from __future__ import annotations

import hmac
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import TurnaroundError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# 16 characters of a URL-safe alphabet is ~95 bits: not guessable over a network.
# `python -c "import secrets; print(secrets.token_urlsafe(24))"` makes a good one.
MIN_TOKEN_CHARS = 16
MAX_TOKEN_CHARS = 256
_TOKEN_RE = re.compile(r"^[A-Za-z0-9._~-]+$")
# A rep id names the rep's sessions folder.
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
MAX_NAME_CHARS = 80
# A team of hundreds is a few tens of kilobytes.
MAX_FILE_BYTES = 1024 * 1024
MAX_REPS = 10_000
DEFAULT_PLAYBOOK = "sales-call"

_TOP_KEYS = {"playbook", "manager", "rep"}
_MANAGER_KEYS = {"token"}
_REP_KEYS = {"id", "name", "token", "playbook"}


class TeamFileError(TurnaroundError):
    """The team file is missing or invalid."""


@dataclass(frozen=True)
class Rep:
    id: str
    name: str
    token: str
    playbook: str


@dataclass(frozen=True)
class Team:
    path: Path
    manager_token: str
    reps: tuple[Rep, ...]
    playbook: str = DEFAULT_PLAYBOOK
    # Others may read the file (and so the tokens): said at start-up.
    readable_by_others: bool = False

    def rep_for(self, token: str) -> Rep | None:
        """The rep whose token this is. Every token is compared, in constant time,
        so the time taken says nothing about which one nearly matched."""
        found = None
        given = token.encode()
        for rep in self.reps:
            if hmac.compare_digest(given, rep.token.encode()):
                found = rep
        return found

    def is_manager(self, token: str) -> bool:
        return hmac.compare_digest(token.encode(), self.manager_token.encode())

    def rep(self, rep_id: str) -> Rep | None:
        return next((r for r in self.reps if r.id == rep_id), None)


def load_team(path: Path) -> Team:
    where = str(path)
    try:
        raw = path.read_bytes()[: MAX_FILE_BYTES + 1]
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise TeamFileError(f"{where}: no such team file") from None
    except PermissionError:
        raise TeamFileError(f"{where}: permission denied") from None
    except IsADirectoryError:
        raise TeamFileError(f"{where}: is a folder, not a team file") from None
    except OSError as exc:
        raise TeamFileError(f"{where}: cannot read it ({exc.strerror or exc})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise TeamFileError(f"{where}: over {MAX_FILE_BYTES // 1024} KiB; not a team file")
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise TeamFileError(f"{where}: not UTF-8 text") from None
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise TeamFileError(f"{where}: not valid TOML ({exc})") from None
    except RecursionError:
        raise TeamFileError(f"{where}: not a team file (values nested too deeply)") from None
    team = parse_team(data, where)
    return Team(
        path, team.manager_token, team.reps, team.playbook, readable_by_others=bool(mode & 0o077)
    )


def parse_team(data: dict[str, Any], where: str = "team file") -> Team:
    _keys(data, _TOP_KEYS, where)
    playbook = _text(data.get("playbook", DEFAULT_PLAYBOOK), f"{where}: playbook")
    manager = data.get("manager")
    if not isinstance(manager, dict):
        raise TeamFileError(f"{where}: needs a [manager] table with the manager's token")
    _keys(manager, _MANAGER_KEYS, f"{where}: [manager]")
    manager_token = _token(manager.get("token"), f"{where}: [manager] token")
    reps_data = data.get("rep", [])
    if not isinstance(reps_data, list) or not all(isinstance(r, dict) for r in reps_data):
        raise TeamFileError(f"{where}: reps are [[rep]] tables")
    if not reps_data:
        raise TeamFileError(f"{where}: no [[rep]] in it: the team has nobody to coach")
    if len(reps_data) > MAX_REPS:
        raise TeamFileError(f"{where}: more than {MAX_REPS} reps")
    reps: list[Rep] = []
    seen_ids: set[str] = set()
    seen_tokens = {manager_token}
    for n, entry in enumerate(reps_data, 1):
        label = f"{where}: rep {n}"
        _keys(entry, _REP_KEYS, label)
        rep_id = entry.get("id")
        if not isinstance(rep_id, str) or not _ID_RE.match(rep_id):
            raise TeamFileError(
                f"{label}: id must be 1-32 of a-z, 0-9, - and _, starting with a letter or digit"
            )
        label = f"{where}: rep {rep_id!r}"
        if rep_id in seen_ids:
            raise TeamFileError(f"{label}: the id is used twice")
        token = _token(entry.get("token"), f"{label} token")
        if token in seen_tokens:
            raise TeamFileError(f"{label}: its token is also someone else's; every token differs")
        name = _text(entry.get("name", rep_id), f"{label} name")
        if len(name) > MAX_NAME_CHARS or any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise TeamFileError(f"{label}: name must be one line of at most {MAX_NAME_CHARS}")
        rep_playbook = _text(entry.get("playbook", playbook), f"{label} playbook")
        seen_ids.add(rep_id)
        seen_tokens.add(token)
        reps.append(Rep(rep_id, name, token, rep_playbook))
    return Team(Path(where), manager_token, tuple(reps), playbook)


def _keys(table: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise TeamFileError(f"{where}: unknown field(s) {extra}; expected {sorted(allowed)}")


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TeamFileError(f"{where} must be a non-empty string")
    return value


def _token(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise TeamFileError(f"{where} is missing (a string of {MIN_TOKEN_CHARS}+ characters)")
    if not MIN_TOKEN_CHARS <= len(value) <= MAX_TOKEN_CHARS or not _TOKEN_RE.match(value):
        raise TeamFileError(
            f"{where} must be {MIN_TOKEN_CHARS}-{MAX_TOKEN_CHARS} characters of A-Z, a-z, "
            "0-9, '-', '_', '.' or '~' (e.g. from: python3 -c \"import secrets; "
            'print(secrets.token_urlsafe(24))")'
        )
    return value
