"""The real recordings the streaming benchmark replays, with timed references.

Every recording is real speech; each comes as it would reach Turnaround:

* ``phone_call``: a real 30 s two-person phone call (``benchmarks/data``), turn gaps
  of 0-0.5 s, as one mixed channel and as two channels (each speaker's words on
  their own channel, silence elsewhere, as ``--mic`` + ``--remote`` see a call);
* ``turns``: real clips from ``shared/eval`` (LibriSpeech, jfk, faster-whisper's
  stereo test, an AMI headset mix) joined as alternating turns with 0-300 ms gaps
  -- real turn-taking is that tight -- mono and two-channel;
* ``libri_22s``: two LibriSpeech passages back to back with a 0.15 s gap: 22 s of
  one reader who never pauses 0.4 s;
* ``jfk``, ``ami_headset``, ``stereo_diarization``: the clips themselves;
* ``ami_meetings``: six real 30 s AMI meeting clips (2-4 speakers, overlapping
  back-channels, a quiet headset mix at about -40 dBFS), mono and two-channel: the
  clip's most talkative speaker on the first channel (the microphone), everyone
  else on the second, each masked by the reference times.

Reference ends come from the transcripts where they have times (the phone call's
STM, MANIFEST.md for AMI); otherwise from where Silero, run offline over the whole
clip, says the speech stops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .scoring import RefUtterance

RATE_HZ = 16000
HERE = Path(__file__).resolve().parent
PHONE_CALL = HERE / "data" / "phone_call.flac"
# Silence padding around each speaker's words on their own channel: the STM times
# are word-tight, and a soft onset or ending lies just outside them.
CHANNEL_PAD_S = 0.2
# Turn gaps in the joined-clips conversation: 59 % of the AMI speaker changes in
# shared/eval come within 0.3 s.
MAX_TURN_GAP_S = 0.3
TURNS_SEED = 7


@dataclass(frozen=True)
class Conversation:
    name: str
    audio: np.ndarray  # (samples, channels) float32 at 16 kHz
    refs: tuple[RefUtterance, ...]
    # Two-channel input: the reference speaker on each channel; None for one channel.
    channel_speakers: tuple[str, ...] | None = None
    # Synthetic voices (the bundled sample call): shown for comparison, never pooled
    # into the real-speech figures.
    synthetic: bool = False

    @property
    def duration_s(self) -> float:
        return len(self.audio) / RATE_HZ

    @property
    def input(self) -> str:
        return "2ch" if self.channel_speakers else "mono"


def _load(path: Path) -> np.ndarray:
    from assistant.audio.file_source import decode_file

    return decode_file(path, 1)[:, 0]


def speech_span(audio: np.ndarray) -> tuple[float, float]:
    """First speech start and last speech end in a clip (Silero, offline)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    spans = get_speech_timestamps(audio, VadOptions(min_silence_duration_ms=100, speech_pad_ms=0))
    if not spans:
        return 0.0, len(audio) / RATE_HZ
    return spans[0]["start"] / RATE_HZ, spans[-1]["end"] / RATE_HZ


def read_stm(path: Path) -> list[RefUtterance]:
    refs = []
    for line in path.read_text("utf-8").splitlines():
        fields = line.split()
        if len(fields) >= 6:
            refs.append(
                RefUtterance(fields[2], float(fields[3]), float(fields[4]), " ".join(fields[5:]))
            )
    return refs


def split_channels(
    audio: np.ndarray, refs: list[RefUtterance], speakers: tuple[str, ...]
) -> np.ndarray:
    """Each speaker's own channel: their (padded) words, but never where only the
    other one speaks -- the padding must not carry crosstalk."""
    n = len(audio)
    own = np.zeros((n, len(speakers)), dtype=bool)
    padded = np.zeros((n, len(speakers)), dtype=bool)
    for ref in refs:
        ch = speakers.index(ref.speaker)
        own[max(0, int(ref.start_s * RATE_HZ)) : int(ref.end_s * RATE_HZ), ch] = True
        lo = max(0, int((ref.start_s - CHANNEL_PAD_S) * RATE_HZ))
        padded[lo : int((ref.end_s + CHANNEL_PAD_S) * RATE_HZ), ch] = True
    out = np.zeros((n, len(speakers)), dtype=np.float32)
    for ch in range(len(speakers)):
        others = np.delete(own, ch, axis=1).any(axis=1)
        keep = padded[:, ch] & (own[:, ch] | ~others)
        out[keep, ch] = audio[keep]
    return out


def _mono_and_two(
    name: str, audio: np.ndarray, refs: list[RefUtterance], speakers: tuple[str, ...]
) -> list[Conversation]:
    return [
        Conversation(f"{name}", audio[:, None], tuple(refs)),
        Conversation(f"{name}", split_channels(audio, refs, speakers), tuple(refs), speakers),
    ]


def phone_call() -> list[Conversation]:
    refs = read_stm(PHONE_CALL.with_suffix(".stm"))
    speakers = tuple(dict.fromkeys(r.speaker for r in refs))
    return _mono_and_two("phone_call", _load(PHONE_CALL), refs, speakers)


def _clip(audio: np.ndarray) -> np.ndarray:
    """The clip from its first word to its last (30 ms margin)."""
    start, end = speech_span(audio)
    return audio[max(0, int((start - 0.03) * RATE_HZ)) : int((end + 0.03) * RATE_HZ)]


def turns(data: Path) -> list[Conversation]:
    """Real clips as alternating turns, A and B, with 0-300 ms gaps."""
    from assistant.audio.file_source import decode_file

    audio_dir = data / "audio"
    libri = audio_dir / "librispeech"
    fw = audio_dir / "faster_whisper"
    ami = _load(audio_dir / "ami" / "ES2011a.Headset-0-40s-46s.wav")
    stereo = decode_file(fw / "stereo_diarization.wav", 2)
    left, right = _sides(fw / "stereo_diarization.ref.txt")
    clips = [
        (
            "A",
            _load(libri / "2412-153948-0000.flac"),
            _ref_text(libri / "2412-153948-0000.ref.txt"),
        ),
        ("B", _load(fw / "jfk.flac"), _ref_text(fw / "jfk.ref.txt")),
        ("A", stereo[:, 0], left),
        ("B", stereo[:, 1], right),
        (
            "A",
            _load(libri / "2412-153948-0001.flac"),
            _ref_text(libri / "2412-153948-0001.ref.txt"),
        ),
        ("B", ami[int(1.30 * RATE_HZ) : int(2.95 * RATE_HZ)], "I'M ABIGAIL CLAFLIN"),
        ("A", ami[int(3.25 * RATE_HZ) : int(4.50 * RATE_HZ)], "YOU CAN CALL ME ABBIE"),
    ]
    rng = np.random.default_rng(TURNS_SEED)
    parts = [np.zeros(int(0.5 * RATE_HZ), dtype=np.float32)]
    owners = [None]
    refs: list[RefUtterance] = []
    t = 0.5
    for speaker, audio, text in clips:
        clip = _clip(audio)
        refs.append(RefUtterance(speaker, t + 0.03, t + len(clip) / RATE_HZ - 0.03, text))
        gap = np.zeros(int(rng.uniform(0.0, MAX_TURN_GAP_S) * RATE_HZ), dtype=np.float32)
        parts += [clip, gap]
        owners += [speaker, None]
        t += (len(clip) + len(gap)) / RATE_HZ
    mono = np.concatenate(parts)
    two = np.zeros((len(mono), 2), dtype=np.float32)
    at = 0
    for part, owner in zip(parts, owners, strict=True):
        if owner is not None:
            two[at : at + len(part), 0 if owner == "A" else 1] = part
        at += len(part)
    return [
        Conversation("turns", mono[:, None], tuple(refs)),
        Conversation("turns", two, tuple(refs), ("A", "B")),
    ]


def libri_22s(data: Path) -> list[Conversation]:
    libri = data / "audio" / "librispeech"
    first = _load(libri / "2412-153948-0000.flac")
    second = _load(libri / "2412-153948-0001.flac")
    s0, e0 = speech_span(first)
    s1, e1 = speech_span(second)
    gap = np.zeros(int(0.15 * RATE_HZ), dtype=np.float32)
    audio = np.concatenate([first[: int(e0 * RATE_HZ)], gap, second[int(s1 * RATE_HZ) :]])
    offset = e0 + 0.15
    refs = (
        RefUtterance("reader", s0, e0, _ref_text(libri / "2412-153948-0000.ref.txt")),
        RefUtterance(
            "reader", offset, offset + e1 - s1, _ref_text(libri / "2412-153948-0001.ref.txt")
        ),
    )
    return [Conversation("libri_22s", audio[:, None], refs)]


def jfk(data: Path) -> list[Conversation]:
    fw = data / "audio" / "faster_whisper"
    audio = _load(fw / "jfk.flac")
    start, end = speech_span(audio)
    return [
        Conversation(
            "jfk", audio[:, None], (RefUtterance("jfk", start, end, _ref_text(fw / "jfk.ref.txt")),)
        )
    ]


def ami_headset(data: Path) -> list[Conversation]:
    ami = data / "audio" / "ami"
    audio = _load(ami / "ES2011a.Headset-0-40s-46s.wav")
    # Times from shared/eval/MANIFEST.md.
    refs = (
        RefUtterance("a", 1.46, 2.82, "I'M ABIGAIL CLAFLIN"),
        RefUtterance("b", 3.36, 4.36, "YOU CAN CALL ME ABBIE"),
    )
    return [Conversation("ami_headset", audio[:, None], refs)]


def stereo_diarization(data: Path) -> list[Conversation]:
    from assistant.audio.file_source import decode_file

    fw = data / "audio" / "faster_whisper"
    audio = decode_file(fw / "stereo_diarization.wav", 2)
    left, right = _sides(fw / "stereo_diarization.ref.txt")
    refs = []
    for ch, (speaker, text) in enumerate((("LEFT", left), ("RIGHT", right))):
        start, end = speech_span(audio[:, ch])
        refs.append(RefUtterance(speaker, start, end, text))
    return [Conversation("stereo_diarization", audio, tuple(refs), ("LEFT", "RIGHT"))]


def ami_meetings(data: Path) -> list[Conversation]:
    root = data / "audio" / "ami_meetings"
    clips = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if not clips:
        raise FileNotFoundError(f"no AMI meeting clips in {root}")
    out: list[Conversation] = []
    for clip in clips:
        refs = read_stm(clip / f"{clip.name}.stm")
        audio = _load(clip / f"{clip.name}.wav")
        talk: dict[str, float] = {}
        for ref in refs:
            talk[ref.speaker] = talk.get(ref.speaker, 0.0) + ref.end_s - ref.start_s
        mic = max(talk, key=lambda sp: (talk[sp], sp))
        # Two channels: the most talkative speaker is the rep's microphone, the rest
        # of the meeting the call's other side.
        grouped = [
            RefUtterance("mic" if r.speaker == mic else "remote", r.start_s, r.end_s, r.text)
            for r in refs
        ]
        name = clip.name.removeprefix("ami_").removesuffix("_0000")
        out.append(Conversation(f"ami_{name}", audio[:, None], tuple(refs)))
        two = split_channels(audio, grouped, ("mic", "remote"))
        out.append(Conversation(f"ami_{name}", two, tuple(grouped), ("mic", "remote")))
    return out


def _ref_text(path: Path) -> str:
    return " ".join(path.read_text("utf-8").split())


def _sides(path: Path) -> tuple[str, str]:
    sides = dict(line.split(":", 1) for line in path.read_text("utf-8").splitlines() if ":" in line)
    return sides["LEFT"].strip(), sides["RIGHT"].strip()


def sample_call() -> list[Conversation]:
    """The bundled sample call (two synthetic espeak voices, clean pauses)."""
    import json

    from assistant.audio.file_source import decode_file

    path = HERE.parent / "assistant" / "samples" / "sample_call.ogg"
    script = json.loads(path.with_suffix(".json").read_text("utf-8"))
    refs = tuple(RefUtterance(x["speaker"], x["start"], x["end"], x["text"]) for x in script)
    return [Conversation("sample_call", decode_file(path, 2), refs, ("rep", "customer"), True)]


BUILDERS: dict[str, Callable[[Path], list[Conversation]]] = {
    "phone_call": lambda _data: phone_call(),
    "turns": turns,
    "libri_22s": libri_22s,
    "jfk": jfk,
    "ami_headset": ami_headset,
    "stereo_diarization": stereo_diarization,
    "ami_meetings": ami_meetings,
    "sample_call": lambda _data: sample_call(),
}
