"""``turnaround serve --asr ray`` on a real Ray cluster that the test starts on
127.0.0.1 (``ray start --head``, 2 CPUs, one Whisper replica) and stops: a rep's
page streams a real recording as the browser's frames, in real time; mid-call the
replica is killed (SIGKILL) while a final is being decoded on it. Serve does not
retry that request; the team server does, once, and the call is told it was slow.

Small on purpose (one replica, one call): CI is a 2-core machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.scale.cluster import LocalCluster
from assistant.scale.ray_backend import RayBackend
from assistant.team.launch import TeamRun
from benchmarks.team_reps import conversation, run_rep
from tests.helpers.team import MANAGER, REPS, get, start

pytestmark = pytest.mark.serve

CLIP_S = 45.0
RATE_HZ = 16000
# Kills tried before giving up on catching a final in flight (each costs a restart).
MAX_KILLS = 4
WAIT_S = 60.0


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    local = LocalCluster(num_cpus=2).start()
    try:
        yield local
    finally:
        local.stop()
        assert local.processes() == [], "the test's Ray cluster left processes behind"


@pytest.fixture(scope="module")
def team(cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamRun]:
    run = start(
        tmp_path_factory.mktemp("team-ray"),
        asr="ray",
        ray_address=cluster.address,
        replicas=1,
        replica_cpus=1.0,
    )
    try:
        yield run
    finally:
        run.stop()


class Killer(threading.Thread):
    """Kills the replica while a final is on it, until a decode was retried."""

    def __init__(self, run: TeamRun) -> None:
        super().__init__(daemon=True)
        self.run_ = run
        self.kills: list[int] = []
        self.done = threading.Event()

    @staticmethod
    def _final_on_replica(sched: Any) -> bool:
        """A final sent and still out 0.1 s later: past the handle's queue and on the
        replica (a final's decode takes ~0.5 s of a core there), not about to end."""
        if sched.stats.finals_in_flight == 0:
            return False
        time.sleep(0.1)
        return sched.stats.finals_in_flight > 0

    def run(self) -> None:
        sched = self.run_.scheduler
        backend = sched.backend
        assert isinstance(backend, RayBackend)
        deadline = time.monotonic() + CLIP_S
        while len(self.kills) < MAX_KILLS and time.monotonic() < deadline:
            if sched.stats.retried:
                break
            pid = backend.info()["pid"]  # the live replica (a restarted one after a kill)
            time.sleep(3.0)  # into the call: some speech first
            while not self._final_on_replica(sched) and time.monotonic() < deadline:
                time.sleep(0.005)
            os.kill(pid, signal.SIGKILL)
            self.kills.append(pid)
            give_up = time.monotonic() + 20.0
            while not sched.stats.retried and time.monotonic() < give_up:
                time.sleep(0.1)
        self.done.set()


def test_a_replica_killed_mid_call_loses_no_final_and_the_call_says_it_was_slow(
    team: TeamRun,
) -> None:
    audio = conversation("phone_call")[: int(CLIP_S * RATE_HZ)]
    killer = Killer(team)
    killer.start()
    rep = asyncio.run(run_rep(team.server.url, REPS["dana"], audio, tail_s=6.0, settle_s=3.0))
    killer.done.wait(WAIT_S)
    print(f"replica kills: {len(killer.kills)}, decodes retried: {team.scheduler.stats.retried}")
    stats = team.scheduler.stats

    assert rep.error is None, rep.error
    assert killer.kills, "the replica was never killed"
    assert stats.retried >= 1, f"no decode was retried after {len(killer.kills)} kill(s)"
    # Wait for the decodes still out (the tail's finals) before counting.
    deadline = time.monotonic() + WAIT_S
    while stats.finals_in_flight and time.monotonic() < deadline:
        time.sleep(0.1)
    # No final lost: every final asked for was answered with its text (or skipped as
    # overtaken by speech), none failed; the page got them.
    assert stats.failed == 0
    assert stats.finals_submitted == stats.finals_answered + stats.finals_skipped
    finals = [m for m in rep.final_captions() if m["text"].strip()]
    assert len(finals) >= 4, finals
    assert {"hello", "jersey"} & {
        w.strip(".,?!").lower() for m in finals for w in m["text"].split()
    }

    # The call says it was slow: on the rep's page, on the manager's board, in the file.
    slow = [m for m in rep.of("status") if "transcription slow" in (m.get("detail") or "")]
    assert slow, [m.get("detail") for m in rep.of("status")]
    board = json.loads(get(team, f"/team/calls?token={MANAGER}").body)
    row = next(r for r in board["calls"] if r["rep"] == "dana")
    assert row["slow"] >= 1 and "retried" in row["slow_detail"]
    assert board["asr"]["backend"] == "ray" and board["asr"]["retried"] >= 1

    call = next(c for c in team.server.calls() if c.rep.id == "dana")
    call.end("test over")
    assert call.join(WAIT_S)
    assert call.session_file is not None
    lines = [json.loads(x) for x in Path(call.session_file).read_text().splitlines() if x]
    assert any(x.get("type") == "Transcription" and x.get("event") == "slow" for x in lines)
