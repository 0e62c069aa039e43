"""Fuzzing the text inputs (hypothesis): at least 1,000 transcript lines, playbook
TOML documents and command lines each. Each ends in a valid result or one clear
line; valid odd playbooks and command lines also run."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import re
import signal
import string
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomllib
from hypothesis import example, given, settings
from hypothesis import strategies as st

from assistant.audio.transcript_file import TranscriptError, parse_line, read_transcript
from assistant.cli import args as cli_args
from assistant.cli import main as cli
from assistant.coach.playbook import Playbook, PlaybookError, load_playbook
from assistant.errors import TurnaroundError
from assistant.events import Speaker
from tests.helpers.fuzz import (
    EXAMPLES,
    FUZZ,
    SALES,
    TRANSCRIPT,
    Counter,
    any_text,
    deep,
    huge_ints,
    json_values,
    odd_floats,
    one_line,
)

# -- transcript lines ---------------------------------------------------------------------

speakers = st.sampled_from([s.value for s in Speaker] + ["prospect", "Agent ", "x"]) | json_values
times = st.floats(0, 90_000) | huge_ints | odd_floats | json_values
line_fields = st.fixed_dictionaries(
    {},
    optional={
        "speaker": speakers,
        "start": times,
        "end": times,
        "text": any_text
        | st.sampled_from(["hi \ud800 there", "a\u2028b", "\x85", " "])
        | st.integers(99_990, 100_010).map(lambda n: "a" * n)
        | json_values,
    },
)
LINE_END_1 = '{"speaker":"rep","start":0,"end":1'
transcript_lines = st.one_of(
    line_fields.map(lambda d: json.dumps(d, allow_nan=True)),
    line_fields.map(lambda d: json.dumps(d, allow_nan=True, ensure_ascii=False)),
    json_values.map(lambda v: json.dumps(v, allow_nan=True)),
    any_text,
    deep("[]"),
    st.integers(1, 5000).map(lambda n: LINE_END_1 + "0" * n + ',"text":"x"}'),
)


def test_transcript_lines() -> None:
    count = Counter()

    @FUZZ
    @given(raw=transcript_lines)
    @example(raw="\n\n}")  # an error on the text's third line is still line 7's
    def one(raw: str) -> None:
        count()
        try:
            line = parse_line(raw, 7, "call.jsonl")
        except TranscriptError as exc:
            one_line(str(exc))
            assert str(exc).startswith("call.jsonl:7: ")
            return
        assert 0 <= line.start_s <= line.end_s <= 86_400
        assert math.isfinite(line.end_s) and line.text.strip()
        line.text.encode("utf-8")  # printable, recordable, sendable

    one()
    assert count.n >= EXAMPLES


BOM = "\ufeff".encode()
transcript_files = st.tuples(
    st.lists(transcript_lines | line_fields.map(json.dumps), max_size=5),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),  # a JSON array of the lines instead of JSON lines
)


def _read_or_error(path: Path) -> list[Any] | str:
    try:
        return read_transcript(path)
    except TranscriptError as exc:
        return str(exc).replace(str(path), "FILE")


def test_a_bom_never_changes_what_a_transcript_file_says(tmp_path: Path) -> None:
    """Issue 17: a file saved with a byte-order mark (Windows editors) reads exactly
    as the same file without one: the same lines, or the same error at the same line
    and byte of the file."""
    count = Counter()
    plain, marked = tmp_path / "plain.jsonl", tmp_path / "marked.jsonl"

    @FUZZ
    @given(file=transcript_files)
    @example(file=(['{"speaker":"rep","start":0,"end":1,"text":"hi"}'], "\r\n", False))
    @example(file=(['{"speaker":"rep","start":0,"end":1,"text":"hi"}'], "\n", True))
    def one(file: tuple[list[str], str, bool]) -> None:
        count()
        lines, newline, as_array = file
        text = "[" + ",".join(lines) + "]" if as_array else newline.join(lines)
        data = text.encode("utf-8", "surrogatepass")  # a lone surrogate: not UTF-8
        plain.write_bytes(data)
        marked.write_bytes(BOM + data)
        expected, got = _read_or_error(plain), _read_or_error(marked)
        if isinstance(expected, str) and (byte := re.search(r"\(byte (\d+)\)", expected)):
            # Bytes are counted from the start of the file, the mark included.
            expected = expected.replace(byte[0], f"(byte {int(byte[1]) + len(BOM)})")
        assert got == expected
        if isinstance(got, str):
            one_line(got, limit=1000)

    one()
    assert count.n >= EXAMPLES


# -- playbook TOML ------------------------------------------------------------------------


def toml_value(value: Any) -> str:
    """A small TOML writer for generated values (nan and inf included)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid TOML basic strings
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def toml_document(data: dict[str, Any]) -> str:
    out = []
    for key, value in data.items():
        if key in ("limits", "sources") and isinstance(value, dict):
            continue
        if key == "rules" and isinstance(value, list) and all(isinstance(r, dict) for r in value):
            continue
        out.append(f"{json.dumps(key)} = {toml_value(value)}")
    for table in ("limits", "sources"):
        if isinstance(data.get(table), dict):
            out.append(f"[{table}]")
            out += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in data[table].items()]
    rules = data.get("rules")
    if isinstance(rules, list) and all(isinstance(r, dict) for r in rules):
        for rule in rules:
            out.append("[[rules]]")
            out += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in rule.items()]
    return "\n".join(out) + "\n"


BASE = tomllib.loads(SALES.read_text(encoding="utf-8"))
toml_scalars = (
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(string.ascii_letters, min_size=1, max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def playbooks(draw: st.DrawFn) -> str:
    data = json.loads(json.dumps(BASE))  # a deep copy
    for _ in range(draw(st.integers(1, 4))):
        table = draw(st.sampled_from(["top", "limits", "sources", "rules"]))
        target: Any = data
        if table == "rules" and isinstance(data.get("rules"), list) and data["rules"]:
            target = draw(st.sampled_from(data["rules"]))
        elif table == "sources" and isinstance(data.get("sources"), dict) and data["sources"]:
            target = data["sources"][draw(st.sampled_from(sorted(data["sources"])))]
        elif table == "limits":
            target = data.get("limits")
        if not isinstance(target, dict):
            target = data
        keys = sorted(target) + ["extra", "prompts", "min_confidence", "cooldown_s"]
        key = draw(st.sampled_from(keys))
        if draw(st.integers(0, 5)) == 0:
            target.pop(key, None)
        else:
            target[key] = draw(toml_values)
    text = toml_document(data)
    mode = draw(st.integers(0, 9))
    if mode == 0:  # damage the text itself
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(max_size=5)) + text[at:]
    elif mode == 1:
        text += f"deep = {'[' * draw(st.integers(10, 3000))}"
    return text


def _playbook_or_error(path: Path) -> Playbook | str:
    try:
        return load_playbook(path)
    except PlaybookError as exc:
        return str(exc).replace(str(path), "FILE")


def test_playbook_toml(tmp_path: Path) -> None:
    count, valid = Counter(), Counter()
    path, marked = tmp_path / "playbook.toml", tmp_path / "marked.toml"

    @FUZZ
    @given(text=playbooks())
    def one(text: str) -> None:
        count()
        data = text.encode("utf-8", "surrogatepass")
        path.write_bytes(data)
        playbook = _playbook_or_error(path)
        # Issue 17: a byte-order mark (a Windows editor's) changes nothing.
        marked.write_bytes(BOM + data)
        expected = playbook
        if isinstance(playbook, str) and (byte := re.search(r"\(byte (\d+)\)", playbook)):
            expected = playbook.replace(byte[0], f"(byte {int(byte[1]) + len(BOM)})")
        assert _playbook_or_error(marked) == expected
        if isinstance(playbook, str):
            one_line(playbook, limit=2000)
            return
        valid()
        assert isinstance(playbook, Playbook) and playbook.rules
        limits = playbook.limits
        for number in (limits.min_gap_s, limits.default_cooldown_s, limits.repeat_prompt_after_s):
            assert math.isfinite(number) and number >= 0
        assert limits.max_cards_per_minute >= 1
        for rule in playbook.rules:
            assert 0 <= rule.min_confidence <= 1 and math.isfinite(rule.cooldown_s)

    one()
    assert count.n >= EXAMPLES and valid.n > 0


# -- command-line options -----------------------------------------------------------------

option_values = (
    st.sampled_from(["0", "1", "-1", "70000", "65535", "nan", "inf", "-inf", "1e400", "0.04",
                     "0.5", "10", "11", "2", "-5", "1_000", " 3", "0x10", "", "a b", "127.0.0.1",
                     "::1", "[::1]", "0.0.0.0", "abcdefgh", "tok/en!!", "~nobody/x", "sales-call",
                     "coaching-1on1", "1" + "0" * 400, "a" * 300])
    | st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
    .filter(lambda s: "\x00" not in s)
)  # fmt: skip
OPTIONS = ["--port", "--threads", "--end-silence", "--host", "--token", "--playbook", "--mic",
           "--remote", "--model", "--record"]  # fmt: skip
FLAGS = ["--json", "--signals", "--ticks", "--no-coach", "--no-partials", "--no-server",
         "--no-record", "--fast", "--realtime", "--mix", "--open", "--or-sample",
         "--bogus"]  # fmt: skip


VALID = {
    "--port": ["0", "8765", "65535"],
    "--threads": ["1", "2", "256"],
    "--end-silence": ["0.06", "0.5", "10"],
    "--host": ["127.0.0.1", "::1", "localhost"],
    "--token": ["abcdefgh", "A.b_c~d-e"],
    "--playbook": ["sales-call", "coaching-1on1", str(SALES)],
}


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    if draw(st.booleans()):  # a text replay: it runs, in milliseconds
        argv = ["replay", "--transcript", str(TRANSCRIPT)]
    else:
        argv = [draw(st.sampled_from(["replay", "live", "devices", "models", "nope"]))]
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.integers(0, 2))
        if kind == 0:
            option = draw(st.sampled_from(sorted(VALID)))
            argv += [option, draw(st.sampled_from(VALID[option]))]
        elif kind == 1:
            argv += [draw(st.sampled_from(OPTIONS)), draw(option_values)]
        else:
            argv.append(draw(st.sampled_from(FLAGS)))
    return argv


def _has_no_overlay(args: Any) -> bool:
    """A run that serves no overlay page: a fast replay (a text replay is fast unless
    given --realtime), or --no-server."""
    if args.command not in ("live", "replay"):
        return False
    if args.command == "replay" and getattr(args, "transcript", None) is not None:
        return "--realtime" not in (getattr(args, cli_args.GIVEN, None) or ()) or args.no_server
    if args.command == "replay" and not args.realtime:
        return True
    return bool(args.no_server)


def _runs_cheaply(args: Any, argv: list[str]) -> bool:
    """Commands that finish in milliseconds and touch no device or model (a run
    without an overlay given an overlay option is refused before anything loads)."""
    if set(argv) & set(cli_args.OVERLAY_OPTIONS) and _has_no_overlay(args):
        return True
    realtime_text = "--realtime" in (getattr(args, cli_args.GIVEN, None) or ())
    return args.command == "models" or (
        args.command == "replay"
        and getattr(args, "transcript", None) is not None
        and not realtime_text  # a real-time text replay takes the call's length
    )


@pytest.fixture
def restore_process_state() -> Iterator[None]:
    """main() installs a SIGTERM handler and a log handler: undo both."""
    old_term, old_hup = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)
    handlers = list(logging.getLogger().handlers)
    yield
    signal.signal(signal.SIGTERM, old_term)
    signal.signal(signal.SIGHUP, old_hup)
    for handler in logging.getLogger().handlers:
        if handler not in handlers:
            logging.getLogger().removeHandler(handler)


def test_command_line_options(
    restore_process_state: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Generated --record folders (and the default one) must land in a scratch
    # folder, not in the checkout or the user's sessions.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    count, ran = Counter(), Counter()

    @FUZZ
    @given(argv=command_lines())
    @example(argv=["replay", "--fast", "--port", "8765"])
    @example(argv=["live", "--no-server", "--host", "::1", "--open"])
    def one(argv: list[str]) -> None:
        count()
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                args = cli.build_parser().parse_args(argv)
            except SystemExit as exc:
                assert exc.code == 2
                last = err.getvalue().strip().split("\n")[-1]
                assert re.match(r"turnaround( \w+)?: error: ", last), last
                one_line(last)
                return
            assert 0 <= args.port <= cli_args.MAX_PORT if hasattr(args, "port") else True
            if hasattr(args, "threads"):
                assert 1 <= args.threads <= cli_args.MAX_THREADS
                assert math.isfinite(args.end_silence) and 0.05 < args.end_silence <= 10
                assert args.token is None or re.fullmatch(r"[A-Za-z0-9._~-]{8,256}", args.token)
            if not _runs_cheaply(args, argv):
                return
            ran()
            rc = cli.main(argv)
        assert rc in (0, 2), (argv, rc, err.getvalue())
        lines = err.getvalue().strip().split("\n")
        assert all("Traceback" not in line for line in lines)
        if rc:
            one_line(lines[-1])
            assert lines[-1].startswith("turnaround: error: ")
        # Issue 17: an overlay option on a run without an overlay (a text or fast
        # replay, --no-server) is refused, never silently ignored.
        if set(argv) & set(cli_args.OVERLAY_OPTIONS) and _has_no_overlay(args):
            assert rc == 2 and " no effect with --" in lines[-1], (argv, lines)

    one()
    assert count.n >= EXAMPLES and ran.n >= 100, ran.n


def test_generated_playbooks_run_a_call(tmp_path: Path) -> None:
    """Valid-but-odd playbooks (huge limits, long prompt rotations) coach a real
    transcript without error: the engine keeps serving whatever it was given."""
    from assistant.assemble import replay_transcript

    count = Counter()
    path = tmp_path / "playbook.toml"

    @settings(FUZZ, max_examples=60)
    @given(text=playbooks())
    def one(text: str) -> None:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load_playbook(path)
        except TurnaroundError:
            return
        count()
        out: list[dict[str, Any]] = []
        replay_transcript(TRANSCRIPT, str(path), out.append)
        assert any(e["type"] == "FinalTranscript" for e in out)
        json.dumps(out)

    one()
    assert count.n > 0, "no generated playbook was valid"
    assert sys.getrecursionlimit() >= 1000


# -- text that reaches a terminal (issue 17, item 6) --------------------------------------

CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
terminal_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60) | (
    st.lists(st.sampled_from(["\x1b[2J", "\x1b]0;t\x07", "\x9b31m", "\x00", "\r", "\x7f",
                              "\x08", "\n", "\t", "a", "é", "\u2028"]), max_size=12).map("".join)
)  # fmt: skip


def test_text_shown_on_a_terminal_is_inert() -> None:
    """Whatever a transcript, a playbook or a speaker puts in the text, the caption
    printer (which a text replay prints through too) and the JSON printer hold no raw
    control character but newline and tab, and the JSON still decodes to the same
    text."""
    from assistant.cli.output import CaptionPrinter, JsonPrinter
    from assistant.events import FinalTranscript, Suggestion
    from assistant.logs import one_line as stderr_line

    count = Counter()

    @FUZZ
    @given(text=terminal_text)
    def one(text: str) -> None:
        count()
        said = FinalTranscript(Speaker.REP, 1, 0.0, 1.0, text, 0.0, 0.0)
        card = Suggestion("s1-x", "x", text, text, text, "warn", 1.0)
        out, as_json = io.StringIO(), io.StringIO()
        for event in (said, card):
            CaptionPrinter(out, partials=True)(event)
            JsonPrinter(as_json)(event)
        assert not CONTROL_CHARS.search(out.getvalue()), repr(out.getvalue())
        assert not CONTROL_CHARS.search(as_json.getvalue()), repr(as_json.getvalue())
        decoded = [json.loads(x) for x in as_json.getvalue().split("\n") if x]
        assert decoded[0]["text"] == text and decoded[1]["prompt"] == text
        line = stderr_line(f"no such file: {text}")
        assert "\n" not in line and not CONTROL_CHARS.search(line), repr(line)

    one()
    assert count.n >= EXAMPLES


# -- audio files cut short (issue 17, item 8) ---------------------------------------------


def test_cut_audio_files_are_told_apart_from_whole_ones(tmp_path: Path) -> None:
    """A WAV whose data is shorter than its header says, and any Ogg file cut anywhere
    (mid-page or at a page boundary), is reported as truncated; a whole one never."""
    import struct

    import numpy as np

    from assistant.audio.file_source import write_encoded
    from assistant.audio.integrity import truncation

    audio = np.sin(np.linspace(0, 2000, 16000 * 3, dtype=np.float32))[:, None] * 0.3
    ogg = write_encoded(tmp_path / "whole.ogg", audio, "ogg", "libopus").read_bytes()
    assert truncation(tmp_path / "whole.ogg") is None
    count = Counter()
    path = tmp_path / "probe"

    @FUZZ
    @given(
        kind=st.sampled_from(["wav", "ogg"]),
        declared=st.integers(1, 20 * 32000),
        held=st.integers(0, 20 * 32000),
        cut=st.integers(4, len(ogg) - 1),
    )
    def one(kind: str, declared: int, held: int, cut: int) -> None:
        count()
        if kind == "ogg":
            path.write_bytes(ogg[:cut])
            assert truncation(path) is not None, cut
            return
        fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
        header = b"RIFF" + struct.pack("<I", 36 + declared) + b"WAVE"
        header += b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", declared)
        path.write_bytes(header + b"\0" * held)
        problem = truncation(path)
        assert (problem is not None) == (held < declared), (declared, held, problem)

    one()
    assert count.n >= EXAMPLES


# -- session end times (issue 17, item 8) -------------------------------------------------


def test_session_times_give_a_sane_duration(tmp_path: Path) -> None:
    """Any end time a session file may hold (1e300, negative, NaN, inf, 400 digits,
    text) gives a finite duration between 0 and a week, and the report renders."""
    from assistant.report.figures import build_report
    from assistant.report.text import duration, render_markdown
    from assistant.sessions.log import MAX_STREAM_S, read_session

    path = tmp_path / "session.jsonl"
    meta = {"type": "Session", "format": 1, "id": "x", "started": "2025-06-11T14:22:33+02:00"}
    count = Counter()
    any_time = huge_ints | odd_floats | json_values | st.floats(-1e308, 1e308)

    @FUZZ
    @given(end=any_time, final_end=any_time)
    def one(end: Any, final_end: Any) -> None:
        count()
        records = [
            meta,
            {"type": "FinalTranscript", "speaker": "rep", "utterance_id": 1, "start_s": 0.0,
             "end_s": final_end, "text": "Hello there."},
            {"type": "SessionEnd", "end_s": end, "reason": "end of input"},
        ]  # fmt: skip
        path.write_text("\n".join(json.dumps(r, allow_nan=True) for r in records) + "\n")
        report = build_report(read_session(path))
        assert math.isfinite(report.duration_s) and 0 <= report.duration_s <= MAX_STREAM_S
        assert len(duration(report.duration_s)) < 20
        assert "Call summary" in render_markdown(report)

    one()
    assert count.n >= EXAMPLES
