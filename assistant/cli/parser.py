"""The command line's options: ``turnaround devices | live | replay | models |
sessions | report``, each with ``--help`` that says what it does and its defaults."""

from __future__ import annotations

import argparse
from pathlib import Path

from assistant import __version__
from assistant.asr.models import DEFAULT_MODEL
from assistant.cli import args as cli_args
from assistant.cli.serve import add_serve_command
from assistant.cli.sessions import add_commands as add_session_commands
from assistant.sessions.store import default_sessions_dir
from assistant.vad.segmenter import VadConfig

EPILOG = """examples:
  turnaround devices                      list audio inputs
  turnaround live                         captions from the default microphone
  turnaround live --mic 2 --remote 5      rep on input 2, customer on input 5 (call loopback)
  turnaround live --remote monitor        customer from what this machine plays (Linux)
  turnaround live --browser --open        the overlay page captures the mic and the call's tab
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
        action=cli_args.Remembered,
        type=cli_args.host,
        default="127.0.0.1",
        help="address to serve the overlay on (default: %(default)s; any other "
        "address requires a token)",
    )
    g.add_argument(
        "--port",
        action=cli_args.Remembered,
        type=cli_args.port,
        default=8765,
        help="overlay port (default: %(default)s; 0 picks a free one)",
    )
    g.add_argument(
        "--token",
        action=cli_args.Remembered,
        type=cli_args.token,
        help="access token for a non-loopback --host (default: generated)",
    )
    g.add_argument(
        "--open",
        action=cli_args.Remembered,
        flag=True,
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
        "--remote",
        metavar="DEV",
        help="second input carrying the other side of the call; 'monitor' (Linux: "
        "PulseAudio/PipeWire) is what the default output plays, 'monitor:SOURCE' a "
        "given monitor source (see `turnaround devices`)",
    )
    live.add_argument(
        "--browser",
        action="store_true",
        help="take the audio from the overlay page instead of sound devices: press "
        "Listen there and share the call's tab (or screen, with its audio)",
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
        "split: left channel = rep, right channel = customer (use --mix to merge); one whose "
        "two channels carry the same signal is one speaker (use --split to split it anyway).",
    )
    src = replay.add_mutually_exclusive_group()
    src.add_argument("file", nargs="?", type=Path, help="audio file to replay")
    src.add_argument("--sample", action="store_true", help="replay the bundled sample call")
    src.add_argument(
        "--transcript",
        type=Path,
        metavar="FILE.jsonl",
        help="replay a text transcript through the coach, with cards, as fast as possible "
        "(with --realtime on its own clock, with the overlay); lines like "
        '{"speaker": "rep", "start": 1.0, "end": 2.5, "text": "..."}',
    )
    pace = replay.add_mutually_exclusive_group()
    pace.add_argument(
        "--realtime",
        dest="realtime",
        action=cli_args.Remembered,
        flag=True,
        default=True,
        help="pace the file in real time, like a live call (the default for audio; a "
        "--transcript replays fast unless given this)",
    )
    pace.add_argument(
        "--fast",
        dest="realtime",
        action="store_false",
        help="as fast as possible (no partial captions)",
    )
    stereo = replay.add_mutually_exclusive_group()
    stereo.add_argument("--mix", action="store_true", help="mix stereo to one 'unknown' speaker")
    stereo.add_argument(
        "--split",
        action="store_true",
        help="split stereo into rep (left) and customer (right) even when both channels "
        "carry the same signal",
    )
    _add_stream_args(replay)
    _add_overlay_args(replay)
    _add_model_args(replay)
    add_session_commands(sub)
    add_serve_command(sub)
    return parser
