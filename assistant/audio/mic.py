"""Live capture from an input device over sounddevice (PortAudio).

The PortAudio callback runs on a real-time audio thread: it only copies the block
and hands it on (the sink is a non-blocking bounded-queue put). Resampling, VAD and
everything else happen on the source worker thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from assistant.audio.devices import InputDevice, sounddevice_module
from assistant.errors import AudioInputError, DeviceLostError
from assistant.events import RawAudio

# 32 ms callbacks: small enough that end-of-speech is seen within one VAD frame,
# large enough that Python's callback overhead stays well under 1 % of a core.
BLOCK_S = 0.032


class MicSource:
    realtime = True

    def __init__(self, device: InputDevice, channels: int = 1) -> None:
        self.device = device
        self.name = device.name
        self.channels = max(1, min(channels, device.channels))
        self.sample_rate_hz = device.default_rate_hz
        self._stream: Any = None
        self._on_end: Callable[[Exception | None], None] | None = None
        self._stopping = threading.Event()
        sd = sounddevice_module()
        try:
            # Fail now, before the model loads, if the device cannot do this.
            sd.check_input_settings(
                device=device.index, channels=self.channels, samplerate=self.sample_rate_hz
            )
        except (sd.PortAudioError, ValueError) as exc:
            raise AudioInputError(f"cannot open input device {self.name!r}: {exc}") from exc

    def start(
        self, sink: Callable[[RawAudio], None], on_end: Callable[[Exception | None], None]
    ) -> None:
        sd = sounddevice_module()
        rate = self.sample_rate_hz
        self._on_end = on_end

        def callback(indata: Any, frames: int, time_info: Any, status: Any) -> None:
            sink(RawAudio(indata.copy(), rate, time.monotonic()))

        def finished() -> None:
            # PortAudio stops the stream by itself only when the device fails.
            if not self._stopping.is_set():
                on_end(DeviceLostError(f"input device {self.name!r} stopped (unplugged?)"))

        try:
            self._stream = sd.InputStream(
                device=self.device.index,
                channels=self.channels,
                samplerate=rate,
                blocksize=int(rate * BLOCK_S),
                dtype="float32",
                callback=callback,
                finished_callback=finished,
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            raise AudioInputError(f"cannot open input device {self.name!r}: {exc}") from exc

    def stop(self) -> None:
        self._stopping.set()
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            except Exception:  # the device may already be gone; nothing to save
                pass
