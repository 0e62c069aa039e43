"""``assemble()``: one running session, wired the same way wherever it runs.

The command line, the tests and the benchmarks all build a call here, from audio
routes or from a text transcript -- one pipeline for every input:

* the **session file** (``sessions.recorder``), opened first, so an unwritable
  folder is an error at once and not after a long model load; it is a handler like
  any other;
* the **input**: for audio, the Whisper model (or one already loaded) and the
  pipeline of sources -> VAD -> transcription; for a transcript, the text pipeline
  that turns its lines into the same events;
* the **coach** (``coach.metrics.Coach``): the suggestion engine with the
  playbook's detectors and pacing, and the metrics frames the overlay shows. With
  no playbook it still keeps the conversation figures when an overlay is attached;
* the terminal **output**, and any other consumers (benchmarks timing events);
* the **overlay server**: it receives every event, pauses and resumes the input for
  its pages, and what its pages say about a card comes back into the session, to
  the coach's pacing and to the recorder.

Handlers run in that order; what a handler returns (the coach's cards and frames)
is dispatched to all of them after the event that caused it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import DeviceLostError, TurnaroundError
from assistant.logs import say
from assistant.pipeline.routes import Route
from assistant.pipeline.runner import Handler, Input, Session, SessionOptions

if TYPE_CHECKING:
    from assistant.asr.decoder import WhisperDecoder
    from assistant.coach.metrics import Coach
    from assistant.coach.playbook import Playbook
    from assistant.pipeline.core import Pipeline
    from assistant.server.server import OverlayServer
    from assistant.sessions.recorder import TranscriptRecorder


@dataclass(frozen=True)
class Transcript:
    """A text transcript as the input (``turnaround replay --transcript``)."""

    path: Path
    realtime: bool = False


@dataclass
class Assembly:
    """A session and the parts wired around it."""

    session: Session
    coach: Coach | None
    server: OverlayServer | None
    recorder: TranscriptRecorder | None
    decoder: WhisperDecoder | None

    @property
    def pipeline(self) -> Pipeline:
        return self.session.pipeline  # type: ignore[return-value]

    def run(self) -> int:
        """Listen until the input ends (or Ctrl-C); the exit code. The session file
        is closed with how the run ended, whatever happened."""
        try:
            code = self.session.run()
        finally:
            if self.recorder is not None:
                error = self.session.pipeline.error
                reason = self.session.stop_reason if error is None else f"error: {error}"
                self.recorder.end(self.recorder.stream_s, reason)
        error = self.session.pipeline.error
        if error is not None:
            saved = f"; transcript so far is in {self.recorder.path}" if self.recorder else ""
            if isinstance(error, DeviceLostError):
                saved += "; reconnect it and run the same command to go on (a new session)"
            if isinstance(error, TurnaroundError):
                raise type(error)(f"{error}{saved}") from error
            raise TurnaroundError(f"{error}{saved}") from error
        return code


def assemble(
    source: Sequence[Route] | Transcript,
    options: SessionOptions | None = None,
    *,
    playbook: Playbook | None = None,
    decoder: WhisperDecoder | None = None,
    server: OverlayServer | None = None,
    output: Handler | None = None,
    handlers: Sequence[Handler] = (),
) -> Assembly:
    """Build a session over audio ``source`` routes or a ``Transcript``, ready to
    ``run()``.

    ``playbook``: coach with it (None: captions only). ``decoder``: a model already
    loaded (tests and benchmarks share one); None loads ``options.model`` (audio
    only). ``server``: an overlay server already listening (the CLI starts it before
    the model loads, so a port in use is said at once). ``output``: the terminal
    printer. ``handlers``: more consumers, after the output.
    """
    opts = options or SessionOptions()
    recorder = _recorder(source, opts, decoder)
    try:
        if isinstance(source, Transcript):
            pipeline, decoder = _text_input(source), None
        else:
            decoder = decoder or _load_decoder(opts)
            pipeline = _audio_input(list(source), decoder, opts)
    except BaseException:
        if recorder is not None:
            recorder.abandon()
        raise
    coach = _coach(playbook, overlay=server is not None)
    chain: list[Handler] = [recorder] if recorder is not None else []
    if coach is not None:
        chain.append(coach)
    if output is not None:
        chain.append(output)
    chain.extend(handlers)
    session = Session(
        pipeline, chain, quiet=opts.quiet, on_abort=recorder.close if recorder else None
    )
    if server is not None:
        _attach(server, session, _input_names(source), decoder)
    return Assembly(session, coach, server, recorder, decoder)


def _load_decoder(opts: SessionOptions) -> WhisperDecoder:
    from assistant.asr.decoder import WhisperDecoder
    from assistant.asr.models import resolve_model

    spec = resolve_model(opts.model, opts.model_dir)
    say(
        f"loading Whisper {spec.name} ({spec.compute_type}, CPU) from {spec.origin}: {spec.path}",
        opts.quiet,
    )
    decoder = WhisperDecoder(spec, cpu_threads=opts.cpu_threads)
    decoder.warm_up()
    say(f"model ready: load {decoder.load_s:.2f} s, warm-up {decoder.warmup_s:.2f} s", opts.quiet)
    return decoder


def _audio_input(routes: list[Route], decoder: WhisperDecoder, opts: SessionOptions) -> Input:
    from assistant.pipeline.core import Pipeline

    return Pipeline(routes, decoder, opts.pipeline)


def _text_input(source: Transcript) -> Input:
    from assistant.audio.transcript_file import read_transcript
    from assistant.pipeline.text import TranscriptPipeline

    return TranscriptPipeline(read_transcript(source.path), source.path.name, source.realtime)


def _input_names(source: Sequence[Route] | Transcript) -> list[str]:
    if isinstance(source, Transcript):
        return [source.path.name]
    return list(dict.fromkeys(route.source.name for route in source))


def _recorder(
    source: Sequence[Route] | Transcript, opts: SessionOptions, decoder: WhisperDecoder | None
) -> TranscriptRecorder | None:
    if opts.record_dir is None:
        return None
    from assistant.sessions.recorder import TranscriptRecorder

    meta: dict[str, Any] = {"input": {"kind": "devices", "names": _input_names(source)}}
    meta.update(opts.record_meta)
    if isinstance(source, Transcript):
        meta["model"] = None  # text in, no speech recognition
    else:
        meta.setdefault(
            "model", decoder.spec.name if decoder is not None else str(opts.model_dir or opts.model)
        )
    if isinstance(meta.get("input"), dict):
        names = meta["input"].get("names") or _input_names(source)
        meta["input"] = {**meta["input"], "names": names}
    recorder = TranscriptRecorder.create(opts.record_dir, **meta)
    say(f"recording the transcript (text only) to {recorder.path}", opts.quiet)
    return recorder


def _coach(playbook: Playbook | None, overlay: bool) -> Coach | None:
    if playbook is None and not overlay:
        return None
    from assistant.coach.metrics import Coach

    engine = None
    if playbook is not None:
        from assistant.coach.engine import SuggestionEngine

        engine = SuggestionEngine(playbook)  # loads the sentiment model: before Whisper
    return Coach(engine, frames=overlay)


def _attach(
    server: OverlayServer, session: Session, names: list[str], decoder: WhisperDecoder | None
) -> None:
    from assistant.server.protocol import ControlAction

    pipeline = session.pipeline

    def control(action: ControlAction) -> None:
        # Idempotent: a page (or several) repeating "pause" changes nothing and
        # sends nobody another status frame.
        if action is ControlAction.PAUSE and not pipeline.paused:
            pipeline.pause()
        elif action is ControlAction.RESUME and pipeline.paused:
            pipeline.resume()

    server.on_control = control
    # What the pages say about a card goes through the session: to the coach's
    # pacing and to the recorder alike.
    server.on_feedback = session.inject
    server.on_card_closed = session.inject
    server.describe(model=decoder.spec.name if decoder else "", devices=names)
    session.handlers.append(server.handler)
    # Captions still reach the user through the page when stdout goes away.
    session.keep_going_without_output = True


def replay_transcript(
    path: Path,
    playbook: str,
    emit: Callable[[dict[str, Any]], None],
    include_transcript: bool = True,
) -> None:
    """A text transcript through the coach, as ``turnaround replay --transcript``
    runs it (fast, no session file, no overlay); ``emit`` each final, signal and
    card as its JSON record (tools and tests that read a transcript's cards)."""
    from assistant.coach.playbook import load_playbook
    from assistant.events import Event, FinalTranscript, Signal, Suggestion, to_json_dict

    kinds = (FinalTranscript, Signal, Suggestion) if include_transcript else (Signal, Suggestion)

    def collect(event: Event) -> None:
        if isinstance(event, kinds):
            emit(to_json_dict(event))

    call = assemble(
        Transcript(Path(path)),
        SessionOptions(quiet=True),
        playbook=load_playbook(playbook),
        handlers=[collect],
    )
    call.run()
