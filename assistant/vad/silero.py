"""Silero VAD, streaming: one speech probability per 32 ms frame.

Uses the ONNX model that faster-whisper ships (``assets/silero_vad_v6.onnx``), so
nothing is downloaded. The model is stateful (an LSTM): we carry its ``h``/``c``
state and the last 64 samples of context from frame to frame, exactly as
faster-whisper's batch wrapper does internally.
"""

from __future__ import annotations

import os

import numpy as np

from assistant.errors import ModelError

FRAME_SAMPLES = 512  # 32 ms at 16 kHz: the only frame size Silero v5/v6 accepts
CONTEXT_SAMPLES = 64
FRAME_S = FRAME_SAMPLES / 16000.0


def silero_model_path() -> str:
    try:
        from faster_whisper.utils import get_assets_path
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise ModelError("faster-whisper is not installed; pip install turnaround") from exc
    path = os.path.join(get_assets_path(), "silero_vad_v6.onnx")
    if not os.path.isfile(path):
        raise ModelError(
            f"Silero VAD model missing at {path}; reinstall faster-whisper "
            "(pip install --force-reinstall faster-whisper)"
        )
    return path


class SileroVad:
    """Speech probability for consecutive 512-sample frames of one stream."""

    def __init__(self) -> None:
        import onnxruntime

        opts = onnxruntime.SessionOptions()
        # One thread: a 32 ms frame takes well under a millisecond, and the cores
        # are better left to Whisper.
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 4
        self._session = onnxruntime.InferenceSession(
            silero_model_path(), providers=["CPUExecutionProvider"], sess_options=opts
        )
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)

    def __call__(self, frame: np.ndarray) -> float:
        if frame.shape != (FRAME_SAMPLES,):
            raise ValueError(f"VAD frames must be {FRAME_SAMPLES} samples, got {frame.shape}")
        window = np.concatenate([self._context, frame.astype(np.float32, copy=False)])[None, :]
        prob, self._h, self._c = self._session.run(
            None, {"input": window, "h": self._h, "c": self._c}
        )
        self._context = frame[-CONTEXT_SAMPLES:].astype(np.float32, copy=True)
        return float(np.asarray(prob).reshape(-1)[0])
