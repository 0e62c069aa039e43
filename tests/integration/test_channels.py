"""A stereo file whose two channels carry the same signal is one speaker, not a rep
and a customer saying everything twice; a real two-channel call stays split."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.file_source import decode_file, write_wav
from assistant.events import Speaker
from assistant.pipeline.routes import file_routes, identical_channels
from tests.helpers.paths import AUDIO, REPO

REAL = AUDIO / "real"


@pytest.fixture(scope="module")
def voice() -> np.ndarray:
    """A real recording (LibriSpeech, the committed monologue fixture), 8 s of it."""
    return decode_file(REAL / "monologue.ogg")[: 8 * 16000, 0]


def test_a_copied_channel_is_one_speaker(tmp_path: Path, voice: np.ndarray, capfd) -> None:
    path = write_wav(tmp_path / "dup.wav", np.stack([voice, voice], axis=1))
    assert identical_channels(path)
    routes = file_routes(path, realtime=False, mix=False)
    assert [(r.speaker, r.channel) for r in routes] == [(Speaker.UNKNOWN, None)]
    assert routes[0].source.channels == 1
    assert "same signal" in capfd.readouterr().err
    # --split forces the split.
    split = file_routes(path, realtime=False, mix=False, split=True)
    assert [r.speaker for r in split] == [Speaker.REP, Speaker.CUSTOMER]


def test_a_copy_at_another_level_is_still_one_signal(tmp_path: Path, voice: np.ndarray) -> None:
    path = write_wav(tmp_path / "quiet.wav", np.stack([voice, 0.3 * voice], axis=1))
    assert identical_channels(path)


def test_two_people_on_their_own_channels_stay_two(tmp_path: Path, voice: np.ndarray) -> None:
    # One speaker on the left, the other (the same clip, later) on the right, and a
    # little of each leaking into the other channel, as headsets in one room do.
    other = np.roll(voice, 3 * 16000)
    stereo = np.stack([voice + 0.05 * other, other + 0.05 * voice], axis=1)
    path = write_wav(tmp_path / "call.wav", stereo)
    assert not identical_channels(path)
    routes = file_routes(path, realtime=False, mix=False)
    assert [(r.speaker, r.channel) for r in routes] == [(Speaker.REP, 0), (Speaker.CUSTOMER, 1)]


def test_the_bundled_two_voice_sample_call_stays_split() -> None:
    assert not identical_channels(REPO / "assistant" / "samples" / "sample_call.ogg")


def test_replaying_a_copied_stereo_file_transcribes_each_sentence_once(
    tmp_path: Path, voice: np.ndarray
) -> None:
    path = write_wav(tmp_path / "dup.wav", np.stack([voice, voice], axis=1))
    run = subprocess.run(
        [sys.executable, "-m", "assistant", "replay", str(path), "--fast", "--json"]
        + ["--no-server", "--no-record"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    assert "same signal" in run.stderr
    finals = [e for e in map(json.loads, run.stdout.splitlines()) if e["type"] == "FinalTranscript"]
    assert finals and {e["speaker"] for e in finals} == {"unknown"}
    text = " ".join(e["text"] for e in finals).lower()
    assert text.count("native country") == 1


def test_a_call_that_opens_with_crosstalk_stays_split(tmp_path: Path) -> None:
    """Two people on their own channels who talk over each other for the first
    seconds (each channel carrying both voices while they overlap, as a split
    meeting recording does) are still two speakers: the first 4 s are identical,
    the rest is not."""
    first = decode_file(REAL / "monologue.ogg")[: 12 * 16000, 0]
    second = decode_file(REAL / "turns.ogg", 1)[: 12 * 16000, 0]
    n = 4 * 16000
    both = (first[:n] + second[:n]) / 2
    quiet = np.zeros(len(first) - n, dtype=np.float32)
    left = np.concatenate([both, first[n:], quiet])
    right = np.concatenate([both, quiet, second[n:]])
    path = write_wav(tmp_path / "crosstalk.wav", np.stack([left, right], axis=1).astype(np.float32))
    assert not identical_channels(path)
    assert [r.speaker for r in file_routes(path, realtime=False, mix=False)] == [
        Speaker.REP,
        Speaker.CUSTOMER,
    ]
