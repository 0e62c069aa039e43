"""Command line: `turnaround devices | live | replay | models | sessions | report`.

Options are declared in ``cli.parser``; each command here turns them into routes
(which audio is whose voice) and options, and ``assemble()`` builds the session."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.asr.config import StreamingConfig
from assistant.asr.models import DEFAULT_MODEL, load_catalog, resolve_model, search_dirs
from assistant.cli.args import GIVEN, check_overlay_options
from assistant.cli.exits import exit_status, prepare_process
from assistant.cli.parser import build_parser
from assistant.cli.record import input_kind, record_meta
from assistant.cli.sessions import cmd_report, cmd_sessions
from assistant.errors import AudioInputError, TurnaroundError
from assistant.events import Speaker
from assistant.logs import safe_line, safe_text, say
from assistant.pipeline.core import PipelineConfig
from assistant.pipeline.routes import Route, file_routes
from assistant.pipeline.runner import Handler, SessionOptions
from assistant.sessions.store import default_sessions_dir
from assistant.vad.segmenter import VadConfig

if TYPE_CHECKING:
    from assistant.assemble import Transcript
    from assistant.cli.browser_capture import BrowserCapture

SAMPLE_CALL = Path(__file__).resolve().parent.parent / "samples" / "sample_call.ogg"


def cmd_devices() -> int:
    from assistant.audio.devices import list_inputs
    from assistant.audio.monitor import monitor_lines

    inputs = list_inputs()
    if not inputs:
        print("no audio input devices found (use `turnaround replay FILE`, or --sample)")
    else:
        print(f"{'idx':>3}  {'ch':>2}  {'rate':>6}  name")
    for dev in inputs:
        mark = " (default)" if dev.is_default else ""
        name = safe_line(dev.name)  # the driver's text
        print(f"{dev.index:>3}  {dev.channels:>2}  {dev.default_rate_hz:>6}  {name}{mark}")
    for line in monitor_lines():  # the sound server's names: shown, never obeyed
        print(safe_line(line))
    return 0 if inputs else 1


def cmd_models() -> int:
    """Every catalogued model and where it resolves, and any other model folder found
    in the places searched, which are listed first: a converted model in the wrong
    place was silently never found."""
    dirs = search_dirs()
    print("models are looked for in --model-dir PATH, then:")
    for origin, folder in dirs:
        print(f"  {safe_line(str(folder))}/NAME/  ({origin})")
    catalog = load_catalog()
    packages = ", ".join(f"{n}: {e['package']}" for n, e in catalog.items() if e.get("package"))
    print(f"  the weights package the catalogue names ({packages})\n")
    found = {
        p.name for _, folder in dirs if folder.is_dir() for p in folder.iterdir() if p.is_dir()
    }
    extra = {name: {"description": "(not in the catalogue)"} for name in found - set(catalog)}
    for name, entry in {**catalog, **extra}.items():
        try:
            spec = resolve_model(name)
            where = f"installed ({spec.origin}: {spec.path})"
        except TurnaroundError as exc:
            where = f"not installed: {exc}"
        default = " [default]" if name == DEFAULT_MODEL else ""
        description = entry.get("description", "")
        print(safe_text(f"{name}{default}: {description}\n    {where}"))
    return 0


def _record_dir(args: argparse.Namespace, realtime: bool) -> Path | None:
    """Live and real-time sessions are recorded unless told not to; a fast replay
    (an experiment, a benchmark) only when asked."""
    if args.no_record:
        return None
    if args.record is not None:
        return args.record
    return default_sessions_dir() if realtime else None


def _run_session(
    routes: list[Route] | Transcript,
    args: argparse.Namespace,
    realtime: bool,
    banner: str,
    browser: BrowserCapture | None = None,
) -> int:
    """Run a session, with the overlay server when it is a real-time one; with
    ``browser``, the routes come from the page's first Listen."""
    from assistant.assemble import assemble
    from assistant.cli.overlay import announce, start_server

    server = start_server(args) if realtime and not args.no_server else None
    try:
        playbook = None
        if not args.no_coach:
            from assistant.coach.playbook import load_playbook

            playbook = load_playbook(args.playbook)
        decoder = None
        if browser is not None and server is not None:
            from assistant.cli.browser_capture import wait_for_page

            assert isinstance(routes, list)
            routes, decoder = wait_for_page(server, browser, args, _options(args, realtime))
            banner = _listening(routes)
        call = assemble(
            routes,
            _options(args, realtime),
            playbook=playbook,
            decoder=decoder,
            server=server,
            output=_printer(args),
        )
        if browser is not None:
            browser.attach(call.recorder)
        elif server is not None:
            announce(server, args)
        say(banner)
        code = call.run()
        if server is not None and call.recorder is not None:
            from assistant.cli.call_summary import offer_summary

            offer_summary(server, call.recorder.path, wait=sys.stdin.isatty())
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
        record_meta=record_meta(
            args, "browser" if getattr(args, "browser", False) else input_kind(args), realtime
        ),
        pipeline=PipelineConfig(
            vad=VadConfig(end_silence_s=args.end_silence),
            streaming=StreamingConfig(partials=realtime and not args.no_partials),
        ),
    )


def _printer(args: argparse.Namespace) -> Handler:
    from assistant.cli.output import CaptionPrinter, JsonPrinter

    if args.json:
        return JsonPrinter(ticks=args.ticks)
    return CaptionPrinter(partials=None if not args.no_partials else False, signals=args.signals)


def cmd_replay_transcript(args: argparse.Namespace) -> int:
    """A text transcript through the same session, coach, recorder and overlay as
    audio: as fast as possible, or paced on its own clock with ``--realtime``."""
    from assistant.assemble import Transcript

    realtime = "--realtime" in (getattr(args, GIVEN, None) or ())
    pace = "real time" if realtime else "fast"
    banner = f"replaying the transcript {args.transcript} ({pace}); Ctrl-C to stop"
    return _run_session(Transcript(args.transcript, realtime), args, realtime, banner)


def speaker_roles(args: argparse.Namespace) -> tuple[Speaker, Speaker]:
    """(the user's own voice, the other side): rep and customer on a sales call;
    manager and rep in a coaching 1:1."""
    if getattr(args, "no_coach", False):
        return Speaker.REP, Speaker.CUSTOMER
    from assistant.coach.detectors.base import Roles
    from assistant.coach.playbook import load_playbook

    roles = Roles.for_mode(load_playbook(args.playbook).mode)
    return roles.coached, roles.other


def cmd_replay(args: argparse.Namespace) -> int:
    if args.transcript is not None:
        return cmd_replay_transcript(args)
    path = SAMPLE_CALL if args.sample or args.file is None else args.file
    if args.file is None and not args.sample:
        raise TurnaroundError("replay needs a FILE (or --sample for the bundled sample call)")
    routes = file_routes(
        path, args.realtime, args.mix, speaker_roles(args), split=getattr(args, "split", False)
    )
    banner = f"replaying {path} ({'real time' if args.realtime else 'fast'}); Ctrl-C to stop"
    return _run_session(routes, args, args.realtime, banner)


def cmd_live_browser(args: argparse.Namespace) -> int:
    """``live --browser``: both voices from the overlay page (``cli.browser_capture``)."""
    from assistant.cli.browser_capture import BrowserCapture

    if args.mic is not None or args.remote is not None:
        raise TurnaroundError("--browser takes the audio from the page; drop --mic/--remote")
    if args.no_server:
        raise TurnaroundError("--browser captures in the overlay page; drop --no-server")
    return _run_session([], args, True, "", browser=BrowserCapture(speaker_roles(args)))


def _listening(routes: list[Route]) -> str:
    names = " + ".join(f"{r.speaker.value}: {r.source.name}" for r in routes)
    return f"listening to {names}; Ctrl-C to stop"


def cmd_live(args: argparse.Namespace) -> int:
    from assistant.audio.devices import resolve_input
    from assistant.audio.mic import MicSource
    from assistant.audio.monitor import MonitorSource, is_monitor_spec, resolve_monitor
    from assistant.audio.native_noise import filter_native_stderr

    if args.browser:
        return cmd_live_browser(args)
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
    if is_monitor_spec(args.remote):
        # What this machine plays (a desktop call app), through the sound server.
        routes.append(Route(MonitorSource(resolve_monitor(args.remote)), other))
    elif args.remote:
        remote = resolve_input(args.remote)
        if remote.index == mic.device.index:
            raise AudioInputError("--remote must be a different input from --mic")
        routes.append(Route(MicSource(remote), other))
    return _run_session(routes, args, True, _listening(routes))


def main(argv: Sequence[str] | None = None) -> int:
    try:
        prepare_process()
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command == "devices":
            return cmd_devices()
        if args.command == "models":
            return cmd_models()
        if args.command in ("live", "replay"):
            check_overlay_options(args)
            return cmd_live(args) if args.command == "live" else cmd_replay(args)
        if args.command == "sessions":
            return cmd_sessions(args)
        if args.command == "report":
            return cmd_report(args)
        if args.command == "serve":
            from assistant.cli.serve import cmd_serve

            return cmd_serve(args)
        parser.print_help()
        return 2
    except BaseException as exc:  # every way out: one line on stderr at most
        return exit_status(exc)


if __name__ == "__main__":
    sys.exit(main())
