"""``turnaround serve`` with in-process Whisper: two reps' pages streaming the
browser's binary frames of two different real recordings at once, in real time,
through real websockets; the manager's view over both; the doors a token opens.

Isolation is checked on what each page was actually sent: no caption text of one
call ever reaches the other call's page (nor its watcher, nor its session file).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from assistant.scale.batch import BatchDecoder
from assistant.scale.jobs import DecodeJob
from assistant.team.launch import TeamRun
from benchmarks.team_reps import RepRun, conversation, run_rep
from tests.helpers.team import MANAGER, REPS, get, start

REPO = Path(__file__).resolve().parents[2]
# Long enough for several utterances of each recording, short for a 2-core CI.
CLIP_S = 20.0
RATE_HZ = 16000


def _clip(name: str) -> np.ndarray:
    return conversation(name)[: int(CLIP_S * RATE_HZ)]


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamRun]:
    run = start(tmp_path_factory.mktemp("team"))
    try:
        yield run
    finally:
        run.stop()


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def test_each_token_opens_only_its_own_door(team: TeamRun) -> None:
    origin = team.server.url
    assert get(team, "/team").status == 403
    assert get(team, f"/team?token={REPS['dana']}").status == 403  # a rep is not the manager
    assert get(team, "/team/calls?token=not-a-token-at-all-123").status == 403
    page = get(team, f"/team?token={MANAGER}")
    assert page.status == 200 and b"/team.js" in page.body
    calls = get(team, f"/team/calls?token={MANAGER}")
    assert calls.status == 200 and {r["rep"] for r in json.loads(calls.body)["reps"]} == {
        "dana",
        "eli",
    }
    assert get(team, f"/summary?token={MANAGER}").status == 403

    async def handshake(token: str, origin_header: str) -> int:
        url = origin.replace("http://", "ws://") + f"/ws?token={token}"
        try:
            async with connect(url, origin=origin_header, open_timeout=20):  # type: ignore[arg-type]
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code

    assert asyncio.run(handshake("wrong-token-0123456789", origin)) == 403
    assert asyncio.run(handshake(MANAGER, origin)) == 403  # the manager watches, from /team
    assert asyncio.run(handshake(REPS["dana"], "http://evil.example")) == 403
    assert asyncio.run(handshake(REPS["dana"], origin)) == 101
    # The same host behind a TLS proxy: the page's origin is https.
    assert asyncio.run(handshake(REPS["dana"], origin.replace("http:", "https:"))) == 101


def _texts(run: RepRun) -> list[str]:
    return [m["text"] for m in run.final_captions() if m["text"].strip()]


def test_two_calls_at_once_never_see_each_others_words(team: TeamRun) -> None:
    url = team.server.url
    monologue, phone = _clip("monologue"), _clip("phone_call")
    watched: list[dict] = []

    async def watch_dana() -> None:
        # The manager's read-only view of Dana's call, from the board's link.
        for _ in range(200):
            rows = json.loads(get(team, f"/team/calls?token={MANAGER}").body)["calls"]
            mine = [r for r in rows if r["rep"] == "dana" and r["state"] != "ended"]
            if mine:
                break
            await asyncio.sleep(0.1)
        token = mine[0]["watch"].split("token=")[1]
        ws_url = url.replace("http://", "ws://") + f"/ws?token={token}"
        async with connect(ws_url, origin=url, open_timeout=20) as ws:  # type: ignore[arg-type]

            async def read() -> None:
                async for raw in ws:
                    if isinstance(raw, str):
                        watched.append(json.loads(raw))

            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(read(), CLIP_S + 8)

    async def both() -> tuple[RepRun, RepRun]:
        dana, eli, _ = await asyncio.gather(
            run_rep(url, REPS["dana"], monologue),
            run_rep(url, REPS["eli"], phone),
            watch_dana(),
        )
        return dana, eli

    dana, eli = asyncio.run(both())
    assert dana.error is None and eli.error is None, (dana.error, eli.error)
    dana_text, eli_text = _texts(dana), _texts(eli)
    assert len(dana_text) >= 2 and len(eli_text) >= 2, (dana_text, eli_text)
    # Each call heard its own recording...
    assert {"reader", "excuse", "narrative"} & _words(" ".join(dana_text)), dana_text
    assert {"hello", "jersey"} & _words(" ".join(eli_text)), eli_text
    # ...and no line of the other call ever reached its page, partial or final.
    for line in eli_text:
        assert line not in dana.text(), line
    for line in dana_text:
        assert line not in eli.text(), line
    watcher_text = " ".join(m.get("text", "") for m in watched if m.get("type") == "caption")
    assert any(line in watcher_text for line in dana_text), "the watcher saw nothing of Dana"
    assert not any(line in watcher_text for line in eli_text)

    # The manager's board has both calls, each with its own talk.
    rows = {
        r["rep"]: r for r in json.loads(get(team, f"/team/calls?token={MANAGER}").body)["calls"]
    }
    assert rows["dana"]["call"] != rows["eli"]["call"]
    assert sum(rows["eli"]["talk_s"].values()) > 0 and sum(rows["dana"]["talk_s"].values()) > 0
    assert team.scheduler.stats.failed == 0


def test_sessions_are_kept_per_rep_and_listed_for_the_manager(team: TeamRun) -> None:
    for call in team.server.calls():
        call.end("test over")
        assert call.join(60)
    sessions = team.server.setup.sessions_dir
    assert sessions is not None
    dana_files = list((sessions / "dana").glob("*.jsonl"))
    eli_files = list((sessions / "eli").glob("*.jsonl"))
    assert dana_files and eli_files
    dana_log = "\n".join(p.read_text() for p in dana_files)
    assert "Jersey" not in dana_log and "jersey" not in dana_log  # Eli's call's words
    assert (sessions / "dana").stat().st_mode & 0o077 == 0  # private, as today
    listing = json.loads(get(team, f"/team/sessions?token={MANAGER}").body)
    dana_rows = next(r for r in listing["reps"] if r["rep"] == "dana")["sessions"]
    assert dana_rows and dana_rows[0]["duration_s"] > 0
    report = get(team, f"/team/report?token={MANAGER}&rep=dana&session={dana_rows[0]['id']}")
    assert report.status == 200 and b"<html" in report.body.lower()
    assert get(team, f"/team/report?token={MANAGER}&rep=dana&session=../eli").status == 404


def test_batched_first_text_matches_one_at_a_time() -> None:
    """The batch decode the team server uses for partials gives the words of single
    decodes of the same real speech (same-window clips, one CTranslate2 call)."""
    from assistant.asr.models import DEFAULT_MODEL, resolve_model

    model = BatchDecoder(resolve_model(DEFAULT_MODEL, None), cpu_threads=2)
    audio = conversation("monologue")[:, 0]
    # Four 2.5 s windows of real speech: the same encoder window, so one batch.
    starts = [1.0, 4.0, 12.0, 15.0]
    jobs = [
        DecodeJob(final=False, audio=audio[int(s * RATE_HZ) : int((s + 2.5) * RATE_HZ)])
        for s in starts
    ]
    single = [r.text if (r := model.decode_job(job)) else None for job in jobs]
    batched = [r.text if r else None for r in model.decode_many(jobs)]
    assert all(single), single
    for one, many in zip(single, batched, strict=True):
        assert _words(one or "") == _words(many or ""), (one, many)
    # A final waiting: first text gives way after its encoder pass (batched or
    # alone), the final in the same call is decoded all the same.
    final = DecodeJob(final=True, audio=jobs[0].audio, offline=True)
    alone = model.decode_job(final)
    asked: list[str] = []
    gave_way = model.decode_many([*jobs, final], lambda: bool(asked.append("asked")))
    assert gave_way[:4] == [None] * 4 and asked
    assert alone is not None and gave_way[4] is not None
    assert alone.text and gave_way[4].text == alone.text
    assert model.decode_many(jobs[:1], lambda: False) == [None]


def test_serving_never_imports_ray_unless_asked() -> None:
    code = (
        "import sys, assistant.cli.main, assistant.team.launch, assistant.team.server; "
        "print('ray' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_the_serve_command_starts_says_where_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    import signal
    import urllib.error
    import urllib.request

    from tests.helpers.team import team_file

    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--team", str(team_file(tmp_path))]
        + ["--port", "0", "--no-record"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "team server: http://" in line:
                break
        url = re.search(r"http://127\.0\.0\.1:\d+", "".join(lines))
        assert url, lines
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{url.group(0)}/team", timeout=20)
        assert refused.value.code == 403
        with urllib.request.urlopen(f"{url.group(0)}/team?token={MANAGER}", timeout=20) as ok:
            assert ok.status == 200
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out
    assert "Traceback" not in "".join(lines) + out
