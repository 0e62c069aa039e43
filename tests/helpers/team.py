"""A real team server for a test (``turnaround serve`` as ``start_team`` builds it),
its team file, and HTTP requests against it with and without the right token."""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from pathlib import Path

from assistant.team.launch import TeamOptions, TeamRun, start_team

MANAGER = "manager-Zq8uY2kP1wLx4nTb"
REPS = {"dana": "dana-Hc3rV9mQe2sK7yAp", "eli": "eli-Wb6tN1xJf5gR8uDo"}

TEAM_TOML = f"""
playbook = "sales-call"

[manager]
token = "{MANAGER}"

[[rep]]
id = "dana"
name = "Dana Reyes"
token = "{REPS["dana"]}"

[[rep]]
id = "eli"
name = "Eli Moss"
token = "{REPS["eli"]}"
"""


def team_file(folder: Path) -> Path:
    path = folder / "team.toml"
    path.write_text(TEAM_TOML)
    path.chmod(0o600)
    return path


def start(folder: Path, **options: object) -> TeamRun:
    """A team server on a free loopback port, recording into ``folder/sessions``."""
    opts = TeamOptions(
        team_file=team_file(folder),
        port=0,
        sessions_dir=folder / "sessions",
        quiet=True,
        **options,  # type: ignore[arg-type]
    )
    return start_team(opts)


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str


def get(run: TeamRun, target: str, origin: str | None = None) -> Answer:
    conn = http.client.HTTPConnection("127.0.0.1", run.server.port, timeout=20)
    headers = {"Origin": origin} if origin else {}
    try:
        conn.request("GET", target, headers=headers)
        response = conn.getresponse()
        return Answer(response.status, response.read(), response.getheader("Content-Type") or "")
    finally:
        conn.close()
