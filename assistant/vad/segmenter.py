"""Utterance segmentation from per-frame speech probabilities. Pure; no I/O.

``Segmenter.feed(frame, prob)`` takes one 32 ms frame of 16 kHz audio and its
Silero probability and returns what happened: speech started, paused (silence just
began: the moment to decode speculatively), resumed, ended, or was discarded as too
short. It owns the utterance's audio, so the transcriber never reassembles buffers.

Every boundary is a function of the speech probabilities alone -- never of what a
decode said, nor of when a decode finished -- so the same audio is cut into the same
utterances in real time, in fast replay and on a busy machine, and the final text
(one decode of each utterance) is the same too.

Built for real conversation, where turn gaps are 0-300 ms and a speaker can go 20 s
without a 0.4 s pause:

* **Dynamic end-pointing.** The silence that ends an utterance shrinks as the
  utterance grows (0.4 s for a short one, three frames after 6 s of speech): a short
  answer is not split at a breath, and a long turn is split at its natural pauses
  instead of running on.
* **Splits at the quietest point.** An utterance that still reaches
  ``max_utterance_s`` is cut at the frame with the lowest speech probability in the
  last few seconds (Silero's own rule for ``max_speech_duration_s``), never at a
  fixed time that may fall mid-word.
* **One audio for the speculative and the real end.** Silence ``tail_s`` long pauses
  the utterance (the moment to decode it speculatively) and its audio then runs to
  the speech end plus ``tail_s``; when the silence goes on to end it, the audio is
  exactly that, so the speculative decode is the final one.
* **Nothing between utterances is dropped.** Each utterance's audio runs to its
  speech end plus a short tail (soft word endings; a long turn ended by a dip
  shorter than the tail keeps what of it has arrived), and the next one starts
  exactly where that stopped when it follows within ``bridge_s``; only a longer
  silence is trimmed to ``pre_roll_s``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum

import numpy as np

from assistant.vad.silero import FRAME_S

# Measured on the real recordings with the whole-utterance final decode (30 s
# window): see docs/performance.md, "Tail and speculative start".
TAIL_S = 0.2


@dataclass(frozen=True)
class VadConfig:
    # Silero's recommended hysteresis: enter speech at 0.5, leave below 0.35, so a
    # word's soft tail does not flap the state.
    threshold: float = 0.5
    neg_threshold: float = 0.35
    # Audio kept before the first speech frame after a long silence: Silero reacts
    # late to a soft onset -- on the real phone call it stayed under 0.5 for 0.6 s
    # of "Oh, I'm originally ..." -- and the words before it are lost (0.3 s: WER
    # 0.198 on the call's two channels, 0.5 s: 0.185; offline decoding's own VAD
    # pads 0.4 s).
    pre_roll_s: float = 0.5
    # A gap shorter than this is kept whole: the next utterance starts where the
    # previous one's audio ended, so no word can fall between them.
    bridge_s: float = 1.0
    # Quiet audio kept after the last speech frame (Silero's probability drops
    # before a soft final consonant has finished), and the silence that pauses an
    # utterance: the speculative final decode starts then.
    tail_s: float = TAIL_S
    # End of a short utterance after this much silence. 400 ms sits between
    # natural mid-sentence pauses (150-300 ms) and turn gaps; it is also the floor
    # of end-of-speech -> final latency on a separate channel.
    end_silence_s: float = 0.4
    # ... shrinking linearly to min_end_silence_s between these utterance lengths:
    # after several seconds of speech, a short pause is a good place to end. Real
    # turn-taking often leaves no 0.3 s pause (the phone call on one channel: one
    # in 30 s, and Silero dips under 0.35 for 2-6 frames at its turn changes), so
    # a turn past 6 s ends at its first dip of three frames (96 ms): measured in
    # fast replay over the real recordings (docs/performance.md, "End-pointing of
    # long turns"), pooled final WER mono 0.271 -> 0.269, two channels 0.313 ->
    # 0.313, and the phone call's forced split becomes an end at its turn change.
    # Shorter than the tail, such an end keeps the audio up to where the silence
    # has got to, and the next utterance starts there.
    min_end_silence_s: float = 0.09
    shrink_from_s: float = 2.0
    shrink_until_s: float = 6.0
    # A longer utterance is split at its quietest recent frame: keeps re-decodes
    # cheap (their cost grows with the audio) and Whisper inside its 30 s window.
    max_utterance_s: float = 12.0
    # Where to look for the quietest frame: the last seconds before the limit. The
    # first part's text waits for the split, so a long search window is a late
    # final (8 s: the phone call's first part was final 7.5 s after its end).
    split_search_s: float = 3.0
    # Shorter bursts are clicks, coughs and key presses, not words worth decoding.
    # Silero sees a quiet telephone "Hello?" as speech for only 0.13 s: 0.25 s lost
    # it, and on the real recordings 0.1 s cost nothing elsewhere (the final decode
    # reads a click as no text).
    min_speech_s: float = 0.1

    def end_silence_for(self, speech_s: float) -> float:
        """Silence that ends an utterance with ``speech_s`` seconds of speech."""
        if speech_s <= self.shrink_from_s:
            return self.end_silence_s
        if speech_s >= self.shrink_until_s:
            return self.min_end_silence_s
        span = self.shrink_until_s - self.shrink_from_s
        frac = (speech_s - self.shrink_from_s) / span
        return self.end_silence_s + frac * (self.min_end_silence_s - self.end_silence_s)


class SegState(Enum):
    SILENCE = "silence"
    SPEECH = "speech"
    TRAILING = "trailing"  # speech stopped; waiting to see if it resumes


@dataclass(frozen=True)
class Started:
    start_s: float  # where the utterance's audio begins (pre-roll or bridge included)
    voiced_s: float  # where the speech itself began


@dataclass(frozen=True)
class Paused:
    """Silence began after speech (and the tail is in); ``audio`` is the
    utterance as it would end here."""

    start_s: float
    speech_end_s: float
    audio: np.ndarray


@dataclass(frozen=True)
class Resumed:
    at_s: float


@dataclass(frozen=True)
class Ended:
    start_s: float
    speech_end_s: float
    audio: np.ndarray
    forced: bool  # split at the quietest point because the utterance ran long


@dataclass(frozen=True)
class Discarded:
    start_s: float
    speech_end_s: float


SegAction = Started | Paused | Resumed | Ended | Discarded

# Where a re-decode ends: the quietest frame of the last half second, but not the
# last two frames (the next word is starting).
PAUSE_LOOKBACK_S = 0.5
PAUSE_GUARD_S = 0.064


def _frames(seconds: float) -> int:
    return max(1, round(seconds / FRAME_S))


class Segmenter:
    """Speech/silence state machine with dynamic end-pointing and quiet-point splits."""

    def __init__(self, config: VadConfig | None = None) -> None:
        self.config = config or VadConfig()
        cfg = self.config
        self.state = SegState.SILENCE
        self.now_s = 0.0  # stream time at the end of the last frame fed
        # The gap since the last utterance: whole while shorter than bridge_s.
        self._gap: deque[tuple[np.ndarray, float]] = deque(maxlen=_frames(cfg.bridge_s))
        self._gap_overflowed = True  # nothing before the stream start to bridge to
        self._frames: list[np.ndarray] = []
        self._probs: list[float] = []
        self._start_s = 0.0
        self._first_voiced_s = 0.0
        self._speech_end_s = 0.0
        self._speech_end_frames = 0  # frames of the utterance up to the speech end
        self._paused = False

    @property
    def settled_s(self) -> float:
        """Stream time before which this stream's utterance boundaries are known:
        while speech has stopped but not yet ended, the utterance may still end
        where it stopped."""
        if self.state is SegState.TRAILING:
            return min(self.now_s, self._speech_end_s)
        return self.now_s

    def audio(self) -> np.ndarray:
        """The current utterance so far (for partial decodes)."""
        if not self._frames:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(self._frames)

    def audio_to_pause(self) -> np.ndarray:
        """The current utterance up to its quietest frame of the last half second:
        a re-decode that ends between two words hears them whole, where one cut
        mid-word makes Whisper guess -- and the guess spills back over the words
        before it."""
        n = len(self._frames)
        lo, hi = n - _frames(PAUSE_LOOKBACK_S), n - _frames(PAUSE_GUARD_S)
        if lo < 1 or hi <= lo:
            return self.audio()
        window = self._probs[lo:hi]
        cut = lo + min(range(len(window)), key=lambda i: (window[i], -i)) + 1
        return np.concatenate(self._frames[:cut])

    def feed(self, frame: np.ndarray, prob: float) -> list[SegAction]:
        frame_start = self.now_s
        self.now_s += FRAME_S
        cfg = self.config
        if self.state is SegState.SILENCE:
            if prob >= cfg.threshold:
                return self._start(frame, prob, frame_start)
            if len(self._gap) == self._gap.maxlen:
                self._gap_overflowed = True
            self._gap.append((frame, prob))
            return []
        self._frames.append(frame)
        self._probs.append(prob)
        out: list[SegAction] = []
        if prob >= cfg.neg_threshold:
            # Any frame above the lower threshold keeps an open utterance going: a
            # soft stretch (0.35-0.5) is speech Silero is unsure of, not a gap.
            self._speech_end_s = self.now_s
            self._speech_end_frames = len(self._frames)
            if self.state is SegState.TRAILING:
                self.state = SegState.SPEECH
                if self._paused:
                    out.append(Resumed(frame_start))
                self._paused = False
        else:
            self.state = SegState.TRAILING
            quiet_s = self.now_s - self._speech_end_s
            speech_s = self._speech_end_s - self._first_voiced_s
            if quiet_s >= cfg.end_silence_for(speech_s) - 1e-9:
                # After a long turn the end silence is shorter than the tail: the
                # audio then ends where the silence has got to, and the next
                # utterance starts there (bridged), so no frame is lost.
                return out + self._end()
            if not self._paused and quiet_s >= cfg.tail_s - 1e-9:
                self._paused = True
                out.append(Paused(self._start_s, self._speech_end_s, self._utterance_audio()))
        if self.now_s - self._start_s >= cfg.max_utterance_s - 1e-9:
            out.extend(self._split())
        return out

    def flush(self) -> list[SegAction]:
        """End of stream: close any open utterance."""
        if self.state is SegState.SILENCE:
            return []
        return self._end()

    # -- internals -------------------------------------------------------------------

    def _utterance_audio(self) -> np.ndarray:
        """Audio up to the speech end plus the tail (as far as it has arrived)."""
        n = min(len(self._frames), self._speech_end_frames + _frames(self.config.tail_s))
        return np.concatenate(self._frames[:n])

    def _start(self, frame: np.ndarray, prob: float, frame_start: float) -> list[SegAction]:
        gap = list(self._gap)
        if self._gap_overflowed:
            gap = gap[len(gap) - min(len(gap), _frames(self.config.pre_roll_s)) :]
        self._gap.clear()
        self._frames = [f for f, _ in gap] + [frame]
        self._probs = [p for _, p in gap] + [prob]
        self._start_s = frame_start - len(gap) * FRAME_S
        self._first_voiced_s = frame_start
        self._speech_end_s = self.now_s
        self._speech_end_frames = len(self._frames)
        self._paused = False
        self.state = SegState.SPEECH
        return [Started(self._start_s, frame_start)]

    def _end(self) -> list[SegAction]:
        start, end = self._start_s, self._speech_end_s
        n = min(len(self._frames), self._speech_end_frames + _frames(self.config.tail_s))
        items = list(zip(self._frames, self._probs, strict=True))
        voiced_s = end - self._first_voiced_s
        self._frames, self._probs = [], []
        self.state = SegState.SILENCE
        self._paused = False
        if voiced_s < self.config.min_speech_s:
            # Too short to be words. Its audio goes back into the gap, so a word
            # that follows at once still gets it as its onset.
            self._refill_gap(items)
            return [Discarded(start, end)]
        self._refill_gap(items[n:])  # what follows the tail starts the next gap
        return [Ended(start, end, np.concatenate([f for f, _ in items[:n]]), forced=False)]

    def _refill_gap(self, items: list[tuple[np.ndarray, float]]) -> None:
        self._gap.clear()
        self._gap_overflowed = len(items) > (self._gap.maxlen or 0)
        self._gap.extend(items)

    def _split(self) -> list[SegAction]:
        """Cut a long utterance at its quietest frame among the last seconds; the
        rest continues as a new utterance."""
        cfg = self.config
        n = len(self._frames)
        # Never leave a sliver of an utterance behind, nor cut in the very last
        # frames (the next word is starting).
        lo = max(_frames(1.0), n - _frames(cfg.split_search_s))
        hi = n - _frames(0.1)
        window = self._probs[lo:hi]
        # The quietest frame; among equals the latest, to keep the next part short.
        return self._cut(lo + max(range(len(window)), key=lambda i: (-window[i], i)) + 1)

    def _cut(self, cut: int) -> list[SegAction]:
        """End the utterance after frame ``cut - 1``; the rest starts the next one."""
        cut_s = self._start_s + cut * FRAME_S
        audio = np.concatenate(self._frames[:cut])
        start = self._start_s
        speech_end = min(self._speech_end_s, cut_s)
        self._frames = self._frames[cut:]
        self._probs = self._probs[cut:]
        self._start_s = cut_s
        self._first_voiced_s = cut_s
        self._speech_end_frames = max(0, self._speech_end_frames - cut)
        self._paused = False
        return [Ended(start, speech_end, audio, forced=True), Started(cut_s, cut_s)]
