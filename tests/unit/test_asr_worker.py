"""The ASR worker's scheduling (``asr.worker.AsrWorker``) with a decoder double that
stands in for the encoder pass: a final never waits behind a partial's text."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from assistant.asr.requests import DecodeKind, DecodeRequest
from assistant.asr.results import DecodeAbandoned, DecodeResult
from assistant.asr.worker import AsrWorker
from assistant.events import Speaker


class EncoderGate:
    """A decoder whose partials stop after their 'encoder pass' until released, so
    a test can submit a final while a partial is on the model."""

    def __init__(self) -> None:
        self.encoding = threading.Event()
        self.release = threading.Event()
        self.decoded: list[str] = []

    def decode(
        self,
        audio: np.ndarray,
        prefix: Sequence[int] = (),
        context: Sequence[int] = (),
        timestamps: bool = True,
        offline: bool = False,
        proceed: Callable[[], bool] | None = None,
    ) -> DecodeResult:
        kind = "final" if offline else "partial"
        if not offline:
            self.encoding.set()
            assert self.release.wait(10)
        if proceed is not None and not proceed():
            raise DecodeAbandoned
        self.decoded.append(kind)
        return DecodeResult(kind, -0.2, 0.0, len(audio) / 16000, 0.01)


def _request(kind: DecodeKind, answers: list[tuple[str, object]], done: threading.Event):
    def reply(request: DecodeRequest, result: DecodeResult | None) -> None:
        answers.append((request.kind.value, None if result is None else result.text))
        done.set()

    return DecodeRequest(
        kind=kind,
        speaker=Speaker.REP if kind is DecodeKind.FINAL else Speaker.CUSTOMER,
        utterance_id=1,
        version=0,
        audio=np.zeros(16000, dtype=np.float32),
        start_s=0.0,
        end_s=1.0,
        requested_wall=float("inf"),  # never stale: the test decides what is dropped
        reply=reply,
        offline=kind is DecodeKind.FINAL,
    )


def _scene(final_during_partial: bool) -> tuple[list[tuple[str, object]], EncoderGate, AsrWorker]:
    decoder = EncoderGate()
    worker = AsrWorker(decoder)
    answers: list[tuple[str, object]] = []
    done = threading.Event()
    worker.start()
    try:
        partial_answered = threading.Event()
        worker.submit(_request(DecodeKind.PARTIAL, answers, partial_answered))
        assert decoder.encoding.wait(10)
        if final_during_partial:
            worker.submit(_request(DecodeKind.FINAL, answers, done))
            # The final is queued while the partial is still on the model.
            assert worker.pending_finals == 2
        decoder.release.set()
        if not final_during_partial:
            assert partial_answered.wait(10)  # before the final comes
            worker.submit(_request(DecodeKind.FINAL, answers, done))
        assert done.wait(10)
    finally:
        worker.stop()
    return answers, decoder, worker


def test_a_partial_gives_way_to_a_final_that_came_in_during_its_encoder_pass() -> None:
    answers, decoder, worker = _scene(final_during_partial=True)
    assert answers == [("partial", None), ("final", "final")]
    assert decoder.decoded == ["final"]  # the partial's text was never decoded
    assert worker.dropped_partials == 1
    assert worker.skipped_finals == 0


def test_a_partial_with_no_final_waiting_is_decoded() -> None:
    answers, decoder, worker = _scene(final_during_partial=False)
    assert answers == [("partial", "partial"), ("final", "final")]
    assert decoder.decoded == ["partial", "final"]
    assert worker.dropped_partials == 0
