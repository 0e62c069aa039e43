"""Command line: `turnaround devices | live | replay | models | sessions | report`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from assistant import __version__
from assistant.asr.models import DEFAULT_MODEL, load_catalog, resolve_model
from assistant.asr.streaming import StreamingConfig
from assistant.cli import args as cli_args
from assistant.cli.exits import exit_status, prepare_process
from assistant.cli.record import input_kind, record_meta, recording_transcript_replay
from assistant.cli.sessions import add_commands as add_session_commands
from assistant.cli.sessions import cmd_report, cmd_sessions
from assistant.errors import AudioInputError, TurnaroundError
from assistant.events import Speaker
from assistant.logs import say
from assistant.pipeline.core import PipelineConfig, Route
from assistant.pipeline.session import Handler, Session, SessionOptions
from assistant.sessions.store import default_sessions_dir
from assistant.vad.segmenter import VadConfig

SAMPLE_CALL = Path(__file__).resolve().parent.parent / "samples" / "sample_call.ogg"

EPILOG = """examples:
  turnaround devices                      list audio inputs
  turnaround live                         captions from the default microphone
  turnaround live --mic 2 --remote 5      rep on input 2, customer on input 5 (call loopback)
  turnaround replay --sample              replay the bundled sample call in real time
  turnaround replay call.m4a --fast --json   one JSON event per line, as fast as possible
  turnaround sessions                     past sessions: date, length, cards, feedback
  turnaround report last --open           the coaching report of the latest session
"""


def _add_model_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help="model name from models/catalog.toml (default: %(default)s)",
    )
    g.add_argument("--model-dir", type=Path, help="a CTranslate2 Whisper directory to load instead")
    g.add_argument(
        "--threads",
        type=cli_args.threads,
        default=2,
        help="CPU threads for Whisper (default: %(default)s)",
    )


def _add_stream_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("streaming")
    g.add_argument(
        "--end-silence",
        type=cli_args.end_silence,
        default=VadConfig.end_silence_s,
        metavar="S",
        help="silence that ends an utterance, seconds (default: %(default)s)",
    )
    g.add_argument("--no-partials", action="store_true", help="only print final text")
    g.add_argument("--json", action="store_true", help="print one JSON event per line")
    g.add_argument("--ticks", action="store_true", help="with --json, include silence-clock ticks")
    g.add_argument(
        "--record",
        type=Path,
        metavar="DIR",
        default=None,
        help="where the session (transcript, cards and card feedback; never audio) is "
        "appended as it goes: DIR/session-ID.jsonl, private to you (default for live and "
        f"real-time replay: {default_sessions_dir()}; a fast or --transcript replay records "
        "only when given)",
    )
    g.add_argument("--no-record", action="store_true", help="do not write a session transcript")
    _add_coach_args(p)


def _add_overlay_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("overlay (browser page with captions and cards)")
    g.add_argument(
        "--host",
        type=cli_args.host,
        default="127.0.0.1",
        help="address to serve the overlay on (default: %(default)s; any other "
        "address requires a token)",
    )
    g.add_argument(
        "--port",
        type=cli_args.port,
        default=8765,
        help="overlay port (default: %(default)s; 0 picks a free one)",
    )
    g.add_argument(
        "--token",
        type=cli_args.token,
        help="access token for a non-loopback --host (default: generated)",
    )
    g.add_argument(
        "--open",
        action="store_true",
        help="open the overlay (a Chromium app window where available)",
    )
    g.add_argument("--no-server", action="store_true", help="terminal only: no overlay server")


def _add_coach_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("coaching")
    g.add_argument(
        "--playbook",
        default="sales-call",
        metavar="NAME|FILE",
        help="sales-call, coaching-1on1, or a path to your own playbook TOML "
        "(default: %(default)s)",
    )
    g.add_argument("--no-coach", action="store_true", help="captions only: no detectors or cards")
    g.add_argument(
        "--signals",
        action="store_true",
        help="also print detector signals (always included with --json)",
    )


def build_parser() -> argparse.ArgumentParser:
    # Subcommand parsers are of the same class (one-line usage errors).
    parser = cli_args.Parser(
        prog="turnaround",
        description="Local, real-time call coach: live captions and reset prompts, "
        "on your machine.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"turnaround {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser(
        "devices",
        help="list audio input devices",
        description="List audio inputs: index, name, channels, default sample rate.",
    )
    models = sub.add_parser(
        "models",
        help="list known models and whether they are installed",
        description="List models from models/catalog.toml and where each resolves.",
    )
    models.set_defaults()

    live = sub.add_parser(
        "live",
        help="live captions from a microphone (and the call's audio)",
        description="Transcribe live audio. The microphone is the rep; --remote (the call's "
        "loopback or monitor input) is the customer. With one input the speaker is 'unknown'.",
    )
    live.add_argument("--mic", metavar="DEV", help="input index or name (default: system default)")
    live.add_argument(
        "--remote", metavar="DEV", help="second input carrying the other side of the call"
    )
    live.add_argument(
        "--or-sample",
        action="store_true",
        help="with no input device, replay the bundled sample call instead",
    )
    _add_stream_args(live)
    _add_overlay_args(live)
    _add_model_args(live)

    replay = sub.add_parser(
        "replay",
        help="replay an audio file as if it were live",
        description="Replay a recording (wav, flac, mp3, ogg/opus, m4a). A stereo file is "
        "split: left channel = rep, right channel = customer (use --mix to merge).",
    )
    src = replay.add_mutually_exclusive_group()
    src.add_argument("file", nargs="?", type=Path, help="audio file to replay")
    src.add_argument("--sample", action="store_true", help="replay the bundled sample call")
    src.add_argument(
        "--transcript",
        type=Path,
        metavar="FILE.jsonl",
        help="replay a text transcript through the detectors (no audio; "
        'lines like {"speaker": "rep", "start": 1.0, "end": 2.5, "text": "..."})',
    )
    pace = replay.add_mutually_exclusive_group()
    pace.add_argument(
        "--realtime",
        dest="realtime",
        action="store_true",
        default=True,
        help="pace the file in real time, like a live call (default)",
    )
    pace.add_argument(
        "--fast",
        dest="realtime",
        action="store_false",
        help="as fast as possible (no partial captions)",
    )
    replay.add_argument("--mix", action="store_true", help="mix stereo to one 'unknown' speaker")
    _add_stream_args(replay)
    _add_overlay_args(replay)
    _add_model_args(replay)
    add_session_commands(sub)
    return parser


def cmd_devices() -> int:
    from assistant.audio.devices import list_inputs

    inputs = list_inputs()
    if not inputs:
        print("no audio input devices found (use `turnaround replay FILE`, or --sample)")
        return 1
    print(f"{'idx':>3}  {'ch':>2}  {'rate':>6}  name")
    for dev in inputs:
        mark = " (default)" if dev.is_default else ""
        print(f"{dev.index:>3}  {dev.channels:>2}  {dev.default_rate_hz:>6}  {dev.name}{mark}")
    return 0


def cmd_models() -> int:
    for name, entry in load_catalog().items():
        try:
            spec = resolve_model(name)
            where = f"installed ({spec.origin}: {spec.path})"
        except TurnaroundError as exc:
            where = f"not installed: {exc}"
        default = " [default]" if name == DEFAULT_MODEL else ""
        print(f"{name}{default}: {entry.get('description', '')}\n    {where}")
    return 0


def _record_dir(args: argparse.Namespace, realtime: bool) -> Path | None:
    """Live and real-time sessions are recorded unless told not to; a fast replay
    (an experiment, a benchmark) only when asked."""
    if args.no_record:
        return None
    if args.record is not None:
        return args.record
    return default_sessions_dir() if realtime else None


def _run_session(routes: list[Route], args: argparse.Namespace, realtime: bool, banner: str) -> int:
    """Run a session, with the overlay server when it is a real-time one."""
    from assistant.cli.overlay import attach_server, start_server

    server = start_server(args) if realtime and not args.no_server else None
    try:
        session = Session(routes, _options(args, realtime), _handlers(args))
        recorder = session.recorder
        if server is not None:
            attach_server(server, session, routes, args)
        say(banner)
        code = session.run()
        if server is not None and recorder is not None:
            from assistant.cli.call_summary import offer_summary

            offer_summary(server, recorder.path, wait=sys.stdin.isatty())
        return code
    finally:
        if server is not None:
            server.stop()


def _options(args: argparse.Namespace, realtime: bool) -> SessionOptions:
    return SessionOptions(
        model=args.model,
        model_dir=args.model_dir,
        cpu_threads=args.threads,
        record_dir=_record_dir(args, realtime),
        record_meta=record_meta(args, input_kind(args), realtime),
        pipeline=PipelineConfig(
            vad=VadConfig(end_silence_s=args.end_silence),
            streaming=StreamingConfig(partials=realtime and not args.no_partials),
        ),
    )


def _handlers(args: argparse.Namespace) -> list[Handler]:
    """The suggestion engine first (its cards are dispatched like any event), then
    the printer."""
    from assistant.cli.output import CaptionPrinter, JsonPrinter
    from assistant.events import FinalTranscript, SilenceTick

    handlers: list[Handler] = []
    if not args.no_coach:
        from assistant.coach.engine import SuggestionEngine
        from assistant.coach.playbook import load_playbook

        engine = SuggestionEngine(load_playbook(args.playbook))

        def coach(event):  # type: ignore[no-untyped-def]
            if isinstance(event, (FinalTranscript, SilenceTick)):
                return engine.feed(event)
            return None

        handlers.append(coach)
    if args.json:
        handlers.append(JsonPrinter(ticks=args.ticks))
    else:
        handlers.append(
            CaptionPrinter(partials=None if not args.no_partials else False, signals=args.signals)
        )
    return handlers


def cmd_replay_transcript(args: argparse.Namespace) -> int:
    import json

    from assistant.cli.output import write_out
    from assistant.coach.transcript_replay import format_event_text, replay_transcript

    def emit(event: dict) -> None:
        if args.json:
            write_out(sys.stdout, json.dumps(event, ensure_ascii=False) + "\n")
        elif event.get("type") != "Signal" or args.signals:
            write_out(sys.stdout, format_event_text(event) + "\n")

    with recording_transcript_replay(args, emit) as emit_and_record:
        replay_transcript(args.transcript, args.playbook, emit_and_record)
    return 0


def speaker_roles(args: argparse.Namespace) -> tuple[Speaker, Speaker]:
    """(the user's own voice, the other side): rep and customer on a sales call;
    manager and rep in a coaching 1:1."""
    if getattr(args, "no_coach", False):
        return Speaker.REP, Speaker.CUSTOMER
    from assistant.coach.detectors.base import Roles
    from assistant.coach.playbook import load_playbook

    roles = Roles.for_mode(load_playbook(args.playbook).mode)
    return roles.coached, roles.other


def file_routes(
    path: Path,
    realtime: bool,
    mix: bool,
    roles: tuple[Speaker, Speaker] = (Speaker.REP, Speaker.CUSTOMER),
) -> list[Route]:
    """A stereo file is two speakers: left = the user, right = the other side."""
    from assistant.audio.file_source import FileSource

    source = FileSource(path, realtime=realtime, channels=1 if mix else None)
    if source.channels == 2:
        return [Route(source, roles[0], 0), Route(source, roles[1], 1)]
    return [Route(source, Speaker.UNKNOWN, None)]


def cmd_replay(args: argparse.Namespace) -> int:
    if args.transcript is not None:
        return cmd_replay_transcript(args)
    path = SAMPLE_CALL if args.sample or args.file is None else args.file
    if args.file is None and not args.sample:
        raise TurnaroundError("replay needs a FILE (or --sample for the bundled sample call)")
    routes = file_routes(path, args.realtime, args.mix, speaker_roles(args))
    banner = f"replaying {path} ({'real time' if args.realtime else 'fast'}); Ctrl-C to stop"
    return _run_session(routes, args, args.realtime, banner)


def cmd_live(args: argparse.Namespace) -> int:
    from assistant.audio.devices import resolve_input
    from assistant.audio.mic import MicSource
    from assistant.audio.native_noise import filter_native_stderr

    filter_native_stderr()  # PortAudio's C-level lines when a device fails

    try:
        mic = MicSource(resolve_input(args.mic))
    except AudioInputError as exc:
        if args.or_sample and args.mic is None:
            say(f"{exc}: replaying the bundled sample call instead")
            args.file, args.sample, args.realtime, args.mix = None, True, True, False
            args.transcript = None
            return cmd_replay(args)
        raise
    own, other = speaker_roles(args)
    routes = [Route(mic, own if args.remote else Speaker.UNKNOWN)]
    if args.remote:
        remote = resolve_input(args.remote)
        if remote.index == mic.device.index:
            raise AudioInputError("--remote must be a different input from --mic")
        routes.append(Route(MicSource(remote), other))
    names = " + ".join(f"{r.speaker.value}: {r.source.name}" for r in routes)
    return _run_session(routes, args, True, f"listening to {names}; Ctrl-C to stop")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        prepare_process()
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command == "devices":
            return cmd_devices()
        if args.command == "models":
            return cmd_models()
        if args.command == "live":
            return cmd_live(args)
        if args.command == "replay":
            return cmd_replay(args)
        if args.command == "sessions":
            return cmd_sessions(args)
        if args.command == "report":
            return cmd_report(args)
        parser.print_help()
        return 2
    except BaseException as exc:  # every way out: one line on stderr at most
        return exit_status(exc)


if __name__ == "__main__":
    sys.exit(main())
