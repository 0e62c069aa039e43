"""The team server's pure rules: the team file (tokens, ids, every mistake said
with the file and the field) and the manager's board (most urgent call first)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.team.board import CallRow, board
from assistant.team.config import TeamFileError, load_team, parse_team
from assistant.team.stats import CallFigures, CardNow

MANAGER = "manager-0123456789abcdef"
DANA = "dana-0123456789abcdefgh"


def _team(**rep: object) -> dict:
    return {"manager": {"token": MANAGER}, "rep": [{"id": "dana", "token": DANA, **rep}]}


def test_a_team_file_gives_each_rep_their_token_and_playbook() -> None:
    team = parse_team(_team(playbook="coaching-1on1"))
    assert team.rep_for(DANA).id == "dana"  # type: ignore[union-attr]
    assert team.rep_for(DANA[:-1]) is None and team.rep_for("") is None
    assert team.is_manager(MANAGER) and not team.is_manager(DANA)
    assert team.reps[0].playbook == "coaching-1on1" and team.reps[0].name == "dana"


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"rep": [{"id": "dana", "token": DANA}]}, "[manager]"),
        ({"manager": {"token": MANAGER}}, "no [[rep]]"),
        (_team(token="short"), "16-256 characters"),
        (_team(token="has spaces in it 0123456789"), "16-256 characters"),
        (_team(token=MANAGER), "also someone else's"),
        (_team(id="Dana Reyes"), "id must be"),
        (_team(colour="red"), "unknown field(s) ['colour']"),
        (_team(name="two\nlines"), "one line"),
        ({**_team(), "extra": 1}, "unknown field(s) ['extra']"),
    ],
)
def test_every_mistake_in_a_team_file_is_said_with_where(data: dict, says: str) -> None:
    with pytest.raises(TeamFileError) as err:
        parse_team(data, "team.toml")
    assert says in str(err.value) and str(err.value).startswith("team.toml")


def test_a_team_file_others_can_read_is_flagged(tmp_path: Path) -> None:
    path = tmp_path / "team.toml"
    path.write_text(f'[manager]\ntoken = "{MANAGER}"\n[[rep]]\nid = "dana"\ntoken = "{DANA}"\n')
    path.chmod(0o644)
    assert load_team(path).readable_by_others
    path.chmod(0o600)
    assert not load_team(path).readable_by_others
    path.write_text("[manager\n")
    with pytest.raises(TeamFileError, match="not valid TOML"):
        load_team(path)
    with pytest.raises(TeamFileError, match="no such team file"):
        load_team(tmp_path / "missing.toml")


def _row(call: str, state: str = "live", **figures: object) -> CallRow:
    return CallRow(call, call, call, state, 60.0, CallFigures(**figures), "rep", f"/?token={call}")


def test_the_board_puts_the_call_that_needs_help_first() -> None:
    card = CardNow("c1", "objection", "alert", "Acknowledge, then ask", 30.0)
    rows = [
        _row("quiet"),
        _row("ended", state="ended", cards=[card]),
        _row("talky", talk_s={"rep": 80.0, "customer": 20.0}),
        _row("waiting", state="waiting"),
        _row("stalled", cards=[card], stalls=1),
        _row("silent", silence_s=12.0),
        _row("slow", slow=1, slow_detail="a decode failed on a replica and was retried"),
    ]
    order = [r["call"] for r in board(rows)["calls"]]
    assert order[0] == "stalled"  # an alert card on screen beats everything
    assert order[-2:] == ["waiting", "ended"]  # not live: last, whatever they show
    assert order.index("silent") < order.index("quiet")
    assert order.index("talky") < order.index("quiet")
    assert order.index("slow") < order.index("quiet")
    top = board(rows)["calls"][0]
    assert top["why"][0] == "card: objection (alert)" and top["card"]["severity"] == "alert"
