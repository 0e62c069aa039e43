"""The coaching report, from sessions recorded by real runs: the bundled call replayed
through the real pipeline, a transcript replayed through the real coach, a run
killed mid-call. Figures are checked against values computed here, independently,
from the raw event log."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from assistant.coach.utterance import is_backchannel
from assistant.report.figures import build_report
from assistant.report.model import Fate
from assistant.sessions.log import read_session
from assistant.sessions.recorder import TranscriptRecorder
from tests.helpers.cli import turnaround
from tests.helpers.paths import REPO

TRANSCRIPTS = REPO / "tests" / "fixtures" / "transcripts"


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def report_json(session: Path) -> dict[str, Any]:
    result = turnaround("report", str(session), "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# -- independent figures -------------------------------------------------------------


def utterances_from(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Finals joined by (speaker, utterance id), pieces in order, sorted by start."""
    joined: dict[tuple[str, int], dict[str, Any]] = {}
    for r in log:
        if r["type"] != "FinalTranscript" or not r["text"].strip():
            continue
        key = (r["speaker"], r["utterance_id"])
        if key in joined:
            u = joined[key]
            u["start"], u["end"] = min(u["start"], r["start_s"]), max(u["end"], r["end_s"])
            u["text"] += " " + r["text"]
        else:
            joined[key] = {"speaker": r["speaker"], "start": r["start_s"], "end": r["end_s"],
                           "text": r["text"]}  # fmt: skip
    return sorted(joined.values(), key=lambda u: u["start"])


def longest_runs(utts: list[dict[str, Any]]) -> dict[str, float]:
    """Runs of one speaker; the other side's backchannels do not break a run."""
    best: dict[str, float] = defaultdict(float)
    run: dict[str, Any] | None = None
    for u in utts:
        if run is not None and u["speaker"] == run["speaker"]:
            run["end"] = max(run["end"], u["end"])
        elif run is not None and is_backchannel(u["text"]):
            continue
        else:
            run = dict(u)
        best[run["speaker"]] = max(best[run["speaker"]], run["end"] - run["start"])
    return dict(best)


def test_sample_call_figures_match_the_event_log(sample_session: Path) -> None:
    log = records(sample_session)
    utts = utterances_from(log)
    report = report_json(sample_session)

    talk: dict[str, float] = defaultdict(float)
    for u in utts:
        talk[u["speaker"]] += u["end"] - u["start"]
    assert set(report["talk"]["seconds"]) == {"rep", "customer"}
    for speaker, seconds in talk.items():
        assert report["talk"]["seconds"][speaker] == pytest.approx(seconds, abs=0.01)
    rep_share = talk["rep"] / (talk["rep"] + talk["customer"])
    assert report["talk"]["coached_share"] == pytest.approx(rep_share, abs=0.001)
    assert report["talk"]["above_lost_deal_share"] == (rep_share > 0.65)

    times = [r["end_s"] for r in log if r["type"] in ("FinalTranscript", "SessionEnd")]
    times += [r["at_s"] for r in log if r["type"] in ("Suggestion", "Signal")]
    assert report["duration_s"] == pytest.approx(max(times), abs=0.01)

    for speaker, seconds in longest_runs(utts).items():
        assert report["longest_monologue"][speaker]["duration_s"] == pytest.approx(
            seconds, abs=0.01
        )
    assert report["longest_other_stretch"] == report["longest_monologue"]["customer"]

    for speaker in ("rep", "customer"):
        asked = sum(u["text"].count("?") for u in utts if u["speaker"] == speaker)
        assert report["questions"][speaker]["total"] == asked
    assert report["questions"]["rep"]["total"] >= 2  # the rep does ask, in this call

    gaps = []
    for i, u in enumerate(utts):
        if u["text"].rstrip().endswith("?"):
            later = [v for v in utts[i + 1 :] if v["end"] > u["end"]]
            gaps.append(max(0.0, later[0]["start"] - u["end"]) if later else None)
    measured = [g["silence_s"] for g in report["silences_after_questions"]]
    assert measured == pytest.approx(gaps, abs=0.01)
    assert max(g for g in gaps if g is not None) > 5  # "What would it take ...?" met silence

    cards = [r for r in log if r["type"] == "Suggestion"]
    assert [c["id"] for c in report["cards"]] == [c["id"] for c in cards] and cards
    # A fast replay has no overlay: no card could be answered.
    assert {c["fate"] for c in report["cards"]} == {Fate.NOT_SHOWN.value}
    assert len(report["transcript"]) == len(utts)
    customer = [u for u in utts if u["speaker"] == "customer"]
    assert [n["end_s"] for n in report["other_negativity"]] == pytest.approx(
        sorted(u["end"] for u in customer), abs=0.01
    )
    assert set(report["method"]) >= {"talk", "monologue", "questions", "silences", "timeline"}


def test_markdown_links_every_moment_to_the_transcript(sample_session: Path) -> None:
    result = turnaround("report", str(sample_session), "--format", "md")
    assert result.returncode == 0, result.stderr
    md = result.stdout
    for heading in ("Talk ratio", "Longest monologue", "Questions asked", "Silences after",
                    "Stall moments", "Transcript", "Longest customer stretch"):  # fmt: skip
        assert f"## {heading}" in md
    targets = {line.split('"')[1] for line in md.splitlines() if line.startswith('<a id="')}
    links = {part.split(")")[0] for part in md.split("](#")[1:]}
    assert links and links <= targets
    assert md.count("*How:*") >= 6


def test_coaching_report_shows_defensive_moments_and_question_kinds(tmp_path: Path) -> None:
    result = turnaround(
        "replay", "--transcript", str(TRANSCRIPTS / "defensive_rep_1on1.jsonl"),
        "--playbook", "coaching-1on1", "--record", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (session,) = tmp_path.glob("session-*.jsonl")
    log = records(session)
    assert log[0]["mode"] == "coaching" and log[0]["input"]["kind"] == "transcript"
    flagged = [r for r in log if r["type"] == "Signal" and r["detector"] == "rep_defensive"]
    report = report_json(session)
    assert report["roles"] == {"coached": "manager", "other": "rep"}
    defensive = report["coaching"]["defensive"]
    assert [m["at_s"] for m in defensive] == [s["at_s"] for s in flagged] and flagged
    assert all(m["anchor"].startswith("t-rep-") for m in defensive)
    kinds = [q["kind"] for q in report["coaching"]["manager_questions"]]
    # "Walk me through how you see it." is open; the three "Did/Have/Are you ...?" closed.
    assert kinds.count("open") == 1 and kinds.count("closed") == 3
    assert report["talk"]["benchmark_rep_share"] is None  # a sales benchmark; not a 1:1's


def test_card_fates_come_from_feedback_and_the_overlay(tmp_path: Path) -> None:
    recorder = TranscriptRecorder.create(tmp_path, mode="sales", overlay=True)
    fates = {"s1": "helpful", "s2": "dismiss", "s3": "expired", "s4": "replaced", "s5": None}
    for n, (card, outcome) in enumerate(fates.items()):
        recorder.write({"type": "Suggestion", "id": card, "trigger": "dead_air",
                        "prompt": f"prompt {n}", "why": "w", "source": "s", "severity": "info",
                        "at_s": 10.0 * (n + 1), "evidence": {}})  # fmt: skip
        if outcome in ("helpful", "dismiss"):
            recorder.write({"type": "Feedback", "card_id": card, "action": outcome,
                            "at_s": 10.0 * n + 12})  # fmt: skip
        elif outcome:
            recorder.write({"type": "CardClosed", "card_id": card, "reason": outcome,
                            "at_s": 10.0 * n + 70})  # fmt: skip
    recorder.write({"type": "Feedback", "card_id": "s1", "action": "dismiss"})  # later: ignored
    recorder.end(60.0, "end of input")
    report = build_report(read_session(recorder.path))
    assert [c.fate for c in report.cards] == [
        Fate.HELPFUL, Fate.DISMISSED, Fate.EXPIRED, Fate.REPLACED, Fate.OPEN,
    ]  # fmt: skip
    listing = turnaround("sessions", "--dir", str(tmp_path), "--json")
    (row,) = [json.loads(line) for line in listing.stdout.splitlines()]
    assert (row["cards"], row["helpful"], row["dismissed"]) == (5, 1, 1)


def test_a_killed_run_leaves_a_session_that_lists_and_reports(tmp_path: Path) -> None:
    run = subprocess.Popen(
        [sys.executable, "-m", "assistant", "replay", "--sample", "--no-server",
         "--record", str(tmp_path)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            files = list(tmp_path.glob("session-*.jsonl"))
            finals = (
                [r for r in records(files[0]) if r["type"] == "FinalTranscript"] if files else []
            )
            # Two whole utterances (a long turn is recorded in pieces as it commits).
            if sum(1 for r in finals if r.get("last", True)) >= 2:
                break
            assert run.poll() is None and time.monotonic() < deadline, "no finals recorded"
            time.sleep(0.2)
        run.send_signal(signal.SIGKILL)  # mid-call, no chance to clean up
        run.wait(timeout=10)
    finally:
        if run.poll() is None:
            run.kill()
    (session,) = files
    listing = turnaround("sessions", "--dir", str(tmp_path))
    assert listing.returncode == 0 and session.name[8:-6] in listing.stdout
    assert "unreadable" not in listing.stdout
    report = report_json(session)
    killed = records(session)
    assert not any(r["type"] == "SessionEnd" for r in killed)
    assert len(report["transcript"]) == len(utterances_from(killed)) >= 2
    last_end = max(r["end_s"] for r in killed if r["type"] == "FinalTranscript")
    assert report["duration_s"] == pytest.approx(last_end, abs=0.01)
    assert any("did not close" in note for note in report["notes"])
    html = turnaround("report", "last", "--dir", str(tmp_path))
    assert html.returncode == 0, html.stderr
    assert (tmp_path / session.name.replace(".jsonl", ".html")).stat().st_mode & 0o077 == 0


def test_report_errors_are_one_line(tmp_path: Path, sample_session: Path) -> None:
    for name in ("20250101-120000-aaaaaa", "20250101-120000-bbbbbb"):
        (tmp_path / f"session-{name}.jsonl").write_bytes(sample_session.read_bytes())
    (tmp_path / "session-20250102-120000-cccccc.jsonl").write_bytes(b"\x00\x01garbage\xff\n")
    cases = {
        "20250101": "ambiguous",
        "nope": "no session",
        "20250102": "not a Turnaround session",
        str(tmp_path / "missing.jsonl"): "no such session file",
    }
    for ref, words in cases.items():
        result = turnaround("report", ref, "--dir", str(tmp_path))
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1, result.stderr
        assert lines[0].startswith("turnaround: error: ") and words in lines[0]
    listing = turnaround("sessions", "--dir", str(tmp_path))
    assert listing.returncode == 0 and "unreadable:" in listing.stdout


def test_open_hands_the_private_file_to_the_browser(tmp_path: Path, sample_session: Path) -> None:
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    out = tmp_path / "call.html"
    result = turnaround("report", str(sample_session), "-o", str(out), "--open",
                        env={"BROWSER": str(browser)})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert opened.read_text().strip() == out.resolve().as_uri()
    assert oct(out.stat().st_mode & 0o777) == oct(0o600)


def test_missing_matplotlib_is_a_clear_error(tmp_path: Path, sample_session: Path) -> None:
    fake = tmp_path / "matplotlib"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('no matplotlib here')\n")
    result = turnaround("report", str(sample_session), "-o", str(tmp_path / "r.html"),
                        env={"PYTHONPATH": str(tmp_path)})  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "needs matplotlib" in result.stderr and "--format md" in result.stderr
    md = turnaround("report", str(sample_session), "--format", "md",
                    env={"PYTHONPATH": str(tmp_path)})  # fmt: skip
    assert md.returncode == 0, md.stderr


def test_on_a_terminal_the_overlay_stays_up_with_the_call_summary(tmp_path: Path) -> None:
    import http.client
    import pty
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller, terminal = pty.openpty()  # stdin is a terminal, as for a person
    run = subprocess.Popen(
        [sys.executable, "-m", "assistant", "replay", str(REPO / "tests" / "fixtures" / "audio"
         / "customer_objection.flac"), "--record", str(tmp_path), "--port", str(port)],
        cwd=REPO, stdin=terminal, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        said = []
        for line in run.stderr or []:
            said.append(line)
            if "call summary: http://" in line:
                break
        assert f"call summary: http://127.0.0.1:{port}/summary" in said[-1], said
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/summary")
        page = conn.getresponse()
        assert page.status == 200 and b"<h1>Call summary</h1>" in page.read()
        assert run.poll() is None  # still serving
        run.send_signal(signal.SIGINT)  # Ctrl-C
        assert run.wait(timeout=20) == 0
    finally:
        if run.poll() is None:
            run.kill()
        os.close(controller)
        os.close(terminal)


def final_record(speaker: str, uid: int, start: float, end: float, text: str, **kw: Any) -> dict:
    from assistant.events import FinalTranscript, Speaker, to_json_dict

    return to_json_dict(FinalTranscript(Speaker(speaker), uid, start, end, text, 0.0, 0.0, **kw))


def test_pieces_of_one_utterance_are_one_line_of_the_report(tmp_path: Path) -> None:
    recorder = TranscriptRecorder.create(tmp_path, mode="sales", overlay=False)
    recorder.write(final_record("rep", 1, 0.0, 4.0, "So our platform", piece=0, last=False))
    recorder.write(final_record("customer", 2, 4.2, 4.6, "mm-hmm"))  # backchannel between
    recorder.write(final_record("rep", 1, 4.0, 9.5, "does three things. Does that help?",
                                piece=1, last=True))  # fmt: skip
    recorder.write(final_record("customer", 3, 12.0, 15.0, "Okay. Tell me about pricing."))
    recorder.end(15.0, "end of input")
    report = build_report(read_session(recorder.path))
    rep = [ln for ln in report.transcript if ln.speaker == "rep"]
    assert [(ln.start_s, ln.end_s, ln.text) for ln in rep] == [
        (0.0, 9.5, "So our platform does three things. Does that help?")
    ]
    assert report.talk_s["rep"] == pytest.approx(9.5)
    assert report.questions["rep"].total == 1 and report.questions["customer"].total == 1
    assert report.monologues["rep"].duration_s == pytest.approx(9.5)
    (gap,) = [g for g in report.gaps if g.asker == "rep"]
    assert gap.silence_s == pytest.approx(12.0 - 9.5) and gap.next_speaker == "customer"


def test_hostile_text_in_a_session_stays_text(tmp_path: Path) -> None:
    from assistant.report.html import render_html
    from assistant.report.text import render_markdown

    recorder = TranscriptRecorder.create(tmp_path, mode="sales", overlay=True)
    evil = '<script>alert(1)</script><img src=x onerror=alert(2)> "quoted" [x](http://e.vil)'
    recorder.write(final_record("customer", 1, 0.0, 2.0, evil))
    recorder.write({"type": "Suggestion", "id": 'c"><script>x</script>', "trigger": "t<b>",
                    "prompt": evil, "why": evil, "source": evil, "severity": "info",
                    "at_s": 2.0, "evidence": {"utterances": [{"id": 1, "speaker": "customer",
                    "start_s": 0.0, "text": evil}]}})  # fmt: skip
    recorder.close()
    report = build_report(read_session(recorder.path))
    html = render_html(report).lower()
    assert "<script" not in html and "<img" not in html and 'href="http' not in html
    md = render_markdown(report)
    assert not re.search(r"(?<!\\)<(script|img)", md) and "[x](http" not in md


def test_a_session_killed_before_anyone_spoke_still_reports(tmp_path: Path) -> None:
    from assistant.report.html import render_html
    from assistant.report.text import render_markdown, report_json

    recorder = TranscriptRecorder.create(tmp_path, mode="coaching", playbook="coaching-1on1")
    recorder.close()  # no events, no end: killed during the first seconds
    report = build_report(read_session(recorder.path))
    assert report.duration_s == 0 and report.transcript == () and report.coached_share is None
    assert "<svg" in render_html(report) and "Transcript" in render_markdown(report)
    assert report_json(report)["coaching"] == {"defensive": [], "manager_questions": []}


def test_report_never_writes_onto_a_session(tmp_path: Path) -> None:
    """``report ID -o <dir>/session-ID.jsonl`` replaced the session with HTML (exit 0)
    and ``report last`` then failed for the whole folder (issue 17, item 4)."""
    for _ in range(2):
        recorded = turnaround("replay", "--transcript", str(TRANSCRIPTS / "friendly_call.jsonl"),
                              "--record", str(tmp_path))  # fmt: skip
        assert recorded.returncode == 0, recorded.stderr
    first, last = sorted(tmp_path.glob("session-*.jsonl"))
    before = {p: p.read_bytes() for p in (first, last)}
    (tmp_path / "link.jsonl").symlink_to(last)
    os.link(last, tmp_path / "hard.txt")
    (tmp_path / "folder").mkdir()
    cases = {
        str(last): "the session file being reported on",
        str(tmp_path / "link.jsonl"): "the session file being reported on",
        str(tmp_path / "hard.txt"): "the session file being reported on",
        str(first): "a session file",
        str(tmp_path / "session-20250101-120000-abcdef.jsonl"): "a session file",  # new
        str(tmp_path / "folder"): "a folder",
    }
    for target, why in cases.items():
        for fmt in ("html", "md", "json"):
            result = turnaround("report", "last", "--dir", str(tmp_path), "--format", fmt,
                                "-o", target)  # fmt: skip
            lines = result.stderr.strip().splitlines()
            assert result.returncode == 2 and len(lines) == 1, (target, result.stderr)
            assert lines[0].startswith("turnaround: error: not writing the report to ")
            assert why in lines[0] and "-o FILE" in lines[0], lines[0]
    assert {p: p.read_bytes() for p in (first, last)} == before
    assert not (tmp_path / "session-20250101-120000-abcdef.jsonl").exists()
    again = turnaround("report", "last", "--dir", str(tmp_path))
    assert again.returncode == 0, again.stderr
    elsewhere = turnaround("report", "last", "--dir", str(tmp_path), "-o", str(tmp_path / "r.html"))
    assert elsewhere.returncode == 0 and (tmp_path / "r.html").read_text().startswith("<!doctype")


@pytest.mark.parametrize(
    "end", ["1e300", "-5", "1e12", "NaN", "Infinity", '"soon"', "1" + "0" * 400]
)
def test_an_impossible_end_time_gives_a_sane_duration(tmp_path: Path, end: str) -> None:
    """``end_s = 1e300`` gave a 300-digit duration and a matplotlib warning (issue 17,
    item 8). A time that is no time into the call is ignored, and said so; the call
    lasts until the last thing recorded, and the run still counts as closed."""
    recorder = TranscriptRecorder.create(tmp_path, mode="sales")
    recorder.write(final_record("rep", 1, 0.5, 2.0, "Hi there, thanks for joining."))
    recorder.close()
    with recorder.path.open("a") as fh:
        fh.write('{"type": "SessionEnd", "end_s": ' + end + ', "reason": "end of input"}\n')
    report = report_json(recorder.path)
    assert report["duration_s"] == 2.0
    assert any("end time is not a time into the call" in n for n in report["notes"])
    assert not any("did not close" in n for n in report["notes"])
    html = turnaround("report", str(recorder.path))
    assert html.returncode == 0 and html.stderr == "", html.stderr  # no matplotlib warning
    listing = turnaround("sessions", "--dir", str(tmp_path))
    assert listing.returncode == 0 and "  0:02  " in listing.stdout, listing.stdout
