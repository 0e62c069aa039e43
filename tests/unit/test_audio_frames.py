"""Capture frames from the page: the binary format, and what is refused (pure)."""

from __future__ import annotations

import struct

import pytest
from websockets.frames import CloseCode

from assistant.server.audio_frames import (
    BURST_S,
    HEADER,
    MAX_AUDIO_FRAME_BYTES,
    MAX_SAMPLES,
    MIN_SAMPLES,
    RATE_MARGIN,
    SAMPLE_RATE_HZ,
    Channel,
    FrameError,
    StreamCheck,
    build_audio_frame,
    parse_audio_frame,
)

PCM = bytes(range(256)) * 4  # 512 samples: what the page sends (32 ms)
NOW_MS = 1.7e12


def test_a_page_frame_is_read_back_exactly() -> None:
    raw = build_audio_frame(Channel.CALL, 41, NOW_MS + 0.25, PCM, first=True)
    assert len(raw) == HEADER.size + len(PCM) == 16 + 1024
    frame = parse_audio_frame(raw)
    assert frame.channel is Channel.CALL and frame.channel.input_name == "call"
    assert (frame.seq, frame.capture_ms, frame.first) == (41, NOW_MS + 0.25, True)
    assert frame.pcm == PCM and frame.samples == 512
    assert frame.duration_s == pytest.approx(0.032)


def test_the_header_layout_is_the_documented_one() -> None:
    """docs/browser-capture.md: magic, version, channel, flags, uint32 seq LE,
    float64 capture ms LE; the page (overlay/listen.js) writes exactly this."""
    raw = build_audio_frame(Channel.MIC, 0x01020304, 1234.5, PCM)
    assert raw[:4] == bytes([0x41, 1, 0, 0])
    assert raw[4:8] == bytes([4, 3, 2, 1])
    assert struct.unpack("<d", raw[8:16]) == (1234.5,)


@pytest.mark.parametrize("samples", [MIN_SAMPLES, 512, MAX_SAMPLES])
def test_20_to_40_ms_frames_are_taken(samples: int) -> None:
    frame = parse_audio_frame(build_audio_frame(Channel.MIC, 0, NOW_MS, b"\0\0" * samples))
    assert frame.samples == samples


def _bad(raw: bytes) -> FrameError:
    with pytest.raises(FrameError) as caught:
        parse_audio_frame(raw)
    return caught.value


def test_an_oversized_frame_is_too_big_before_anything_is_read() -> None:
    error = _bad(b"\x41" * (MAX_AUDIO_FRAME_BYTES + 1))
    assert error.code == CloseCode.MESSAGE_TOO_BIG
    assert f"at most {MAX_AUDIO_FRAME_BYTES}" in error.reason


GOOD = build_audio_frame(Channel.MIC, 0, NOW_MS, PCM)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"", "shorter than the 16-byte header"),
        (GOOD[:10], "shorter than the 16-byte header"),
        (b"B" + GOOD[1:], "bad magic byte 0x42"),
        (GOOD[:1] + b"\x02" + GOOD[2:], "version 2"),
        (GOOD[:2] + b"\x07" + GOOD[3:], "unknown channel 7"),
        (GOOD[:3] + b"\x80" + GOOD[4:], "unknown flags 0x80"),
        (GOOD[:8] + struct.pack("<d", float("nan")) + GOOD[16:], "not a time"),
        (GOOD[:8] + struct.pack("<d", -5.0) + GOOD[16:], "not a time"),
        (GOOD[:8] + struct.pack("<d", float("inf")) + GOOD[16:], "not a time"),
        (GOOD + b"\0", "odd number of PCM bytes"),
        (GOOD[:16] + b"\0\0" * (MIN_SAMPLES - 1), "319 samples"),
        (GOOD[:16], "0 samples"),
    ],
)
def test_a_malformed_frame_is_refused_with_its_reason(raw: bytes, why: str) -> None:
    error = _bad(raw)
    assert error.code == CloseCode.INVALID_DATA
    assert error.reason.startswith("malformed audio frame: ") and why in error.reason
    assert len(error.reason.encode()) <= 123  # a websocket close reason's limit


def _frames(check: StreamCheck, channel: Channel, seqs: list[int], at_s: float) -> None:
    for seq in seqs:
        check.admit(parse_audio_frame(build_audio_frame(channel, seq, NOW_MS, PCM)), at_s)


def test_sequence_gaps_are_counted_and_going_back_is_refused() -> None:
    check = StreamCheck()
    _frames(check, Channel.MIC, [0, 1, 2, 5], 0.0)  # 3 and 4 lost in the page
    _frames(check, Channel.CALL, [0, 1], 0.0)  # each channel has its own numbering
    assert check.lost_frames == {Channel.MIC: 2, Channel.CALL: 0}
    with pytest.raises(FrameError, match="sequence went from 5 to 5") as caught:
        _frames(check, Channel.MIC, [5], 0.0)
    assert caught.value.code == CloseCode.INVALID_DATA
    # A new capture of the input (the first flag) starts its numbering again.
    restart = parse_audio_frame(build_audio_frame(Channel.MIC, 0, NOW_MS, PCM, first=True))
    check.admit(restart, 0.0)
    assert check.last_seq[Channel.MIC] == 0


def test_real_time_passes_the_rate_cap_for_an_hour() -> None:
    check = StreamCheck()
    frame_s = 512 / SAMPLE_RATE_HZ
    for i in range(int(3600 / frame_s)):
        check.admit(parse_audio_frame(build_audio_frame(Channel.MIC, i, NOW_MS, PCM)), i * frame_s)


def test_a_late_burst_passes_and_a_flood_is_refused() -> None:
    check = StreamCheck()
    frame_s = 512 / SAMPLE_RATE_HZ
    burst = int(BURST_S / frame_s)
    # The server held up for BURST_S: the queued frames arrive at once, and pass.
    _frames(check, Channel.MIC, list(range(burst)), BURST_S)
    # Audio faster than real time by more than the margin, for long: refused.
    seq, now = burst, BURST_S
    with pytest.raises(FrameError, match="mic audio faster than real time") as caught:
        while now < 120.0:
            _frames(check, Channel.MIC, [seq], now)
            seq += 1
            now += frame_s / (RATE_MARGIN * 1.5)
    assert caught.value.code == CloseCode.POLICY_VIOLATION
    assert now < 120.0
