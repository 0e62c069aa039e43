"""The team server's decode queue (``scale.scheduler``): the local worker's rules,
applied across calls, and the retry of a decode whose replica died
(``scale.jobs.retry_once``). The backend here is a gate the test opens decode by
decode, so every rule is checked in a known order; no model, no Ray."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from assistant.asr.requests import DecodeKind, DecodeRequest
from assistant.asr.results import DecodeResult
from assistant.events import Speaker
from assistant.scale.jobs import DecodeJob, retry_once, window_frames
from assistant.scale.scheduler import DecodeScheduler

WAIT_S = 10.0


class GateBackend:
    """Decodes only when the test says so; records what each call carried."""

    def __init__(
        self, slots: int = 1, max_batch: int = 1, fail: bool = False, give_way: bool = False
    ) -> None:
        self.slots = slots
        self.give_way = give_way  # honour ``proceed`` as the local backend does
        self.proceeds: list[Any] = []
        self.max_batch = max_batch
        self.fail = fail
        self.calls: list[list[DecodeJob]] = []
        self.started = threading.Semaphore(0)
        self._go = threading.Semaphore(0)

    def decode(
        self, jobs: list[DecodeJob], notice: Any, proceed: Any = None
    ) -> list[DecodeResult | None]:
        self.calls.append(jobs)
        self.proceeds.append(proceed)
        self.started.release()
        assert self._go.acquire(timeout=WAIT_S), "the test never let this decode finish"
        if self.fail:
            raise RuntimeError("model crashed")
        if self.give_way and proceed is not None and not proceed():
            return [None] * len(jobs)
        return [DecodeResult(f"{len(j.audio)}", -0.1, 0.0, j.audio_s, 0.01) for j in jobs]

    def release(self, n: int = 1) -> None:
        for _ in range(n):
            self._go.release()

    def wait_started(self) -> None:
        assert self.started.acquire(timeout=WAIT_S), "no decode started"

    def describe(self) -> dict[str, Any]:
        return {"backend": "gate"}

    def close(self) -> None:
        self.release(100)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Replies:
    """Every reply a request got, by its label."""

    def __init__(self) -> None:
        self.got: dict[str, list[DecodeResult | None]] = {}
        self._cond = threading.Condition()

    def request(
        self,
        label: str,
        kind: DecodeKind,
        speaker: Speaker = Speaker.REP,
        samples: int = 16000,
        at: float = 1000.0,
    ) -> DecodeRequest:
        def reply(_req: DecodeRequest, result: DecodeResult | None) -> None:
            with self._cond:
                self.got.setdefault(label, []).append(result)
                self._cond.notify_all()

        return DecodeRequest(
            kind=kind,
            speaker=speaker,
            utterance_id=1,
            version=1,
            audio=np.zeros(samples, dtype=np.float32),
            start_s=0.0,
            end_s=samples / 16000,
            requested_wall=at,
            reply=reply,
            offline=kind is DecodeKind.FINAL,
        )

    def wait(self, *labels: str) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: all(x in self.got for x in labels), WAIT_S), (
                f"no reply for {[x for x in labels if x not in self.got]}"
            )


@pytest.fixture
def clock() -> Clock:
    return Clock()


def scheduler(backend: GateBackend, clock: Clock) -> DecodeScheduler:
    return DecodeScheduler(backend, stale_partial_s=0.75, clock=clock)  # type: ignore[arg-type]


def test_a_final_goes_before_partials_queued_earlier(clock: Clock) -> None:
    backend = GateBackend()
    sched = scheduler(backend, clock)
    a, b, c = sched.lane(), sched.lane(), sched.lane()
    r = Replies()
    a.submit(r.request("busy", DecodeKind.FINAL))
    backend.wait_started()
    b.submit(r.request("partial-b", DecodeKind.PARTIAL))
    c.submit(r.request("final-c", DecodeKind.FINAL, samples=32000))
    backend.release(3)
    r.wait("busy", "partial-b", "final-c")
    assert [job.final for call in backend.calls for job in call] == [True, True, False]
    assert len(backend.calls[1][0].audio) == 32000  # call c's final, then b's partial
    sched.close()


def test_a_partial_gives_way_to_a_final_that_came_in_during_it(clock: Clock) -> None:
    backend = GateBackend(give_way=True)
    sched = scheduler(backend, clock)
    lane = sched.lane()
    r = Replies()
    lane.submit(r.request("partial", DecodeKind.PARTIAL))
    backend.wait_started()
    ask = backend.proceeds[0]
    assert ask is not None and ask()  # nothing waits yet: go on
    lane.submit(r.request("final", DecodeKind.FINAL, speaker=Speaker.CUSTOMER))
    assert not ask()
    backend.release(2)
    r.wait("partial", "final")
    assert r.got["partial"] == [None]
    assert r.got["final"][0] is not None and r.got["final"][0].text == "16000"
    assert backend.proceeds[1] is None  # a final's decode is never asked to give way
    assert lane.dropped_partials == 1 and sched.stats.dropped_partials == 1
    sched.close()


def test_a_final_is_never_dropped_however_long_it_waited(clock: Clock) -> None:
    backend = GateBackend()
    sched = scheduler(backend, clock)
    lane = sched.lane()
    r = Replies()
    lane.submit(r.request("busy", DecodeKind.FINAL))
    backend.wait_started()
    lane.submit(r.request("old-final", DecodeKind.FINAL, speaker=Speaker.CUSTOMER))
    clock.now += 60.0  # a minute behind: a partial would be long stale
    backend.release(2)
    r.wait("old-final")
    assert r.got["old-final"][0] is not None and r.got["old-final"][0].text == "16000"
    assert lane.pending_finals == 0 and sched.stats.dropped_partials == 0
    sched.close()


def test_a_newer_partial_replaces_the_queued_one_of_its_speaker(clock: Clock) -> None:
    backend = GateBackend()
    sched = scheduler(backend, clock)
    busy, lane = sched.lane(), sched.lane()
    r = Replies()
    busy.submit(r.request("busy", DecodeKind.FINAL))
    backend.wait_started()
    lane.submit(r.request("p1", DecodeKind.PARTIAL, samples=8000))
    lane.submit(r.request("p2", DecodeKind.PARTIAL, samples=9000))
    lane.submit(r.request("other", DecodeKind.PARTIAL, speaker=Speaker.CUSTOMER))
    r.wait("p1")
    assert r.got["p1"] == [None]  # replaced at once, before any decode
    backend.release(3)
    r.wait("p2", "other")
    assert r.got["p2"][0] is not None and r.got["p2"][0].text == "9000"
    assert r.got["other"][0] is not None  # another speaker's partial is its own
    assert lane.dropped_partials == 1 and sched.stats.dropped_partials == 1
    sched.close()


def test_a_stale_partial_is_dropped_not_decoded(clock: Clock) -> None:
    backend = GateBackend()
    sched = scheduler(backend, clock)
    busy, lane = sched.lane(), sched.lane()
    r = Replies()
    busy.submit(r.request("busy", DecodeKind.FINAL))
    backend.wait_started()
    lane.submit(r.request("stale", DecodeKind.PARTIAL, at=clock.now))
    clock.now += 0.8  # older than stale_partial_s when a decoder is free
    backend.release(1)
    r.wait("stale")
    assert r.got["stale"] == [None]
    assert len(backend.calls) == 1 and lane.dropped_partials == 1
    sched.close()


def test_one_decode_per_speaker_at_a_time_even_with_free_slots(clock: Clock) -> None:
    backend = GateBackend(slots=2)
    sched = scheduler(backend, clock)
    lane = sched.lane()
    r = Replies()
    lane.submit(r.request("f1", DecodeKind.FINAL))
    backend.wait_started()
    lane.submit(r.request("f2", DecodeKind.FINAL))
    # The second slot is free, but f2 is the same speaker's: it must wait for f1.
    assert not backend.started.acquire(timeout=0.3)
    backend.release(1)
    r.wait("f1")
    backend.wait_started()
    backend.release(1)
    r.wait("f2")
    assert [len(c) for c in backend.calls] == [1, 1]
    sched.close()


def test_partials_of_one_window_share_a_batch_and_other_windows_wait(clock: Clock) -> None:
    backend = GateBackend(max_batch=2)
    sched = scheduler(backend, clock)
    busy = sched.lane()
    lanes = [sched.lane() for _ in range(4)]
    r = Replies()
    busy.submit(r.request("busy", DecodeKind.FINAL))
    backend.wait_started()
    # Three calls' partials with a 2 s window, one with a 12 s window.
    for i, lane in enumerate(lanes[:3]):
        lane.submit(r.request(f"short{i}", DecodeKind.PARTIAL, samples=16000))
    lanes[3].submit(r.request("long", DecodeKind.PARTIAL, samples=16000 * 11))
    backend.release(10)
    r.wait("short0", "short1", "short2", "long")
    sizes = [len(c) for c in backend.calls[1:]]
    assert sizes[0] == 2 and sum(sizes) == 4  # at most max_batch, never mixed windows
    for call in backend.calls[1:]:
        assert len({window_frames(len(j.audio), j.offline) for j in call}) == 1
    sched.close()


def test_a_failed_decode_answers_a_failed_final_and_tells_the_call(clock: Clock) -> None:
    backend = GateBackend(fail=True)
    sched = scheduler(backend, clock)
    errors: list[str] = []
    lane = sched.lane(on_error=errors.append)
    r = Replies()
    lane.submit(r.request("final", DecodeKind.FINAL))
    backend.release(1)
    r.wait("final")
    result = r.got["final"][0]
    assert result is not None and result.failed
    assert errors == ["decode failed: model crashed"] and sched.stats.failed == 1
    # The dispatcher lives on: the next decode is made.
    backend.fail = False
    lane.submit(r.request("next", DecodeKind.FINAL))
    backend.release(1)
    r.wait("next")
    assert r.got["next"][0] is not None and not r.got["next"][0].failed
    sched.close()


def test_a_lane_stop_waits_for_its_finals(clock: Clock) -> None:
    backend = GateBackend()
    sched = scheduler(backend, clock)
    lane = sched.lane()
    r = Replies()
    lane.submit(r.request("final", DecodeKind.FINAL))
    backend.wait_started()
    stopper = threading.Thread(target=lane.stop)
    stopper.start()
    stopper.join(0.3)
    assert stopper.is_alive()  # the final is in flight: stop waits for it
    backend.release(1)
    stopper.join(WAIT_S)
    assert not stopper.is_alive() and "final" in r.got
    sched.close()


class ActorDiedError(RuntimeError):
    """What Ray raises for a request whose replica died (the name is what counts)."""


def _job(waited_s: float = 0.1) -> DecodeJob:
    return DecodeJob(final=False, audio=np.zeros(1600, dtype=np.float32), waited_s=waited_s)


def test_a_decode_whose_replica_died_is_retried_once_with_its_wait_counted() -> None:
    tries: list[tuple[DecodeJob, bool]] = []
    notices: list[str] = []
    times = iter([10.0, 12.5])

    def send(job: DecodeJob, retry: bool) -> DecodeResult | None:
        tries.append((job, retry))
        if not retry:
            raise ActorDiedError("the actor died unexpectedly")
        return DecodeResult("ok", 0.0, 0.0, job.audio_s, 0.0)

    result = retry_once(send, _job(0.1), notices.append, clock=lambda: next(times))
    assert result is not None and result.text == "ok"
    assert [r for _, r in tries] == [False, True]
    assert tries[1][0].waited_s == pytest.approx(2.6)  # 0.1 before + 2.5 lost
    assert notices == ["a decode failed on a replica (ActorDiedError) and was retried"]


def test_a_second_failure_is_the_decodes_own() -> None:
    calls: list[bool] = []

    def send(job: DecodeJob, retry: bool) -> DecodeResult | None:
        calls.append(retry)
        raise ActorDiedError("still dead")

    with pytest.raises(ActorDiedError):
        retry_once(send, _job(), lambda _why: None)
    assert calls == [False, True]  # once more, never a third time


def test_a_decode_that_succeeds_is_sent_once_and_says_nothing() -> None:
    calls: list[bool] = []
    notices: list[str] = []

    def send(job: DecodeJob, retry: bool) -> DecodeResult | None:
        calls.append(retry)
        return None  # a partial the replica found stale

    assert retry_once(send, _job(), notices.append) is None
    assert calls == [False] and notices == []
