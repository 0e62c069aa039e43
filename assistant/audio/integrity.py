"""Is an audio file whole? A cut-off recording (a copy that stopped, a download that
broke, a recorder that crashed) decodes without complaint: FFmpeg takes a WAV's
length from the file's size rather than its header, and an Ogg file's from its last
whole page. A WAV whose header says 20 s but holds 3.5 s, and an Ogg file cut
mid-stream, replayed as if complete, and the user never knew the call was short.

These checks read only the container's own framing (the RIFF chunk sizes, the Ogg
page headers), not the audio, so they cost milliseconds before the model loads.
Each returns a sentence for a warning, or None when the file looks whole (or is of
another format, or too odd to judge: then decoding has the last word).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

# Placeholder data sizes a streaming writer leaves when it cannot seek back.
_STREAMING_SIZES = (0, 0xFFFFFFFF)
_OGG_HEADER = struct.Struct("<4sBBqIIIB")  # capture, version, flags, granule, ..., segments
_OGG_END_OF_STREAM = 0x04
# Ogg pages are at most ~64 KiB and usually ~4 KiB: a million is gigabytes. Beyond
# that, stop judging rather than read for ever.
_MAX_OGG_PAGES = 1_000_000


def truncation(path: Path) -> str | None:
    """Why ``path`` looks cut off, or None."""
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
            fh.seek(0)
            if magic == b"RIFF":
                return _wav(fh, path)
            if magic == b"OggS":
                return _ogg(fh, path)
    except OSError:
        return None  # unreadable: opening it for decoding says why
    return None


def _wav(fh: BinaryIO, path: Path) -> str | None:
    header = fh.read(12)
    if len(header) < 12 or header[8:12] != b"WAVE":
        return None
    file_size = path.stat().st_size
    bytes_per_s = 0
    while True:
        chunk = fh.read(8)
        if len(chunk) < 8:
            return None
        kind, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if kind == b"fmt ":
            fmt = fh.read(min(size, 16))
            if len(fmt) >= 12:
                bytes_per_s = struct.unpack("<I", fmt[8:12])[0]
            fh.seek(size - len(fmt) + (size & 1), 1)
            continue
        if kind != b"data":
            fh.seek(size + (size & 1), 1)  # chunks are padded to an even length
            continue
        held = file_size - fh.tell()
        if size in _STREAMING_SIZES or held >= size or bytes_per_s <= 0:
            return None
        return (
            f"{path} is truncated: its header says {size / bytes_per_s:.1f} s of audio, "
            f"the file holds {held / bytes_per_s:.1f} s; transcribing what is there"
        )


def _ogg(fh: BinaryIO, path: Path) -> str | None:
    file_size = path.stat().st_size
    offset, flags = 0, 0
    for _ in range(_MAX_OGG_PAGES):
        if offset == file_size:
            break
        fh.seek(offset)
        raw = fh.read(_OGG_HEADER.size)
        if len(raw) < _OGG_HEADER.size:
            return _ogg_cut(path)
        if raw[:4] != b"OggS":
            return f"{path} is damaged: no Ogg page at byte {offset}; transcribing what can be read"
        flags, segments = raw[5], raw[26]
        table = fh.read(segments)
        offset += _OGG_HEADER.size + segments + sum(table)
        if len(table) < segments or offset > file_size:
            return _ogg_cut(path)  # the last page is cut short
    else:
        return None
    if not flags & _OGG_END_OF_STREAM:
        return _ogg_cut(path)  # whole pages, but the stream never says it has ended
    return None


def _ogg_cut(path: Path) -> str:
    return f"{path} is truncated: the Ogg stream stops before its end; transcribing what is there"
