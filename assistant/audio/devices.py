"""Input device discovery over sounddevice, with errors a user can act on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assistant.errors import AudioInputError

PORTAUDIO_FIX = (
    "PortAudio is not installed: on Debian/Ubuntu run `sudo apt-get install libportaudio2`, "
    "on macOS `brew install portaudio`"
)


def sounddevice_module() -> Any:
    """Import sounddevice, turning a missing PortAudio into a clear error."""
    try:
        import sounddevice
    except OSError as exc:  # raised at import when libportaudio cannot be found
        raise AudioInputError(f"{PORTAUDIO_FIX} ({exc})") from exc
    return sounddevice


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    channels: int
    default_rate_hz: int
    is_default: bool


def list_inputs() -> list[InputDevice]:
    sd = sounddevice_module()
    try:
        devices = sd.query_devices()
        default_in = sd.default.device[0]
    except sd.PortAudioError as exc:
        raise AudioInputError(f"cannot list audio devices: {exc}") from exc
    return [
        InputDevice(
            index=i,
            name=str(d["name"]),
            channels=int(d["max_input_channels"]),
            default_rate_hz=int(d["default_samplerate"]),
            is_default=(i == default_in),
        )
        for i, d in enumerate(devices)
        if int(d["max_input_channels"]) > 0
    ]


def resolve_input(spec: str | int | None) -> InputDevice:
    """Find an input by index, exact name or unique name substring; None = default."""
    inputs = list_inputs()
    if not inputs:
        raise AudioInputError(
            "no audio input device found; use `turnaround replay FILE` to replay a recording"
        )
    if spec is None:
        for dev in inputs:
            if dev.is_default:
                return dev
        return inputs[0]
    text = str(spec).strip()
    if text.isdigit():
        for dev in inputs:
            if dev.index == int(text):
                return dev
    else:
        exact = [d for d in inputs if d.name == text]
        if exact:
            return exact[0]
        partial = [d for d in inputs if text.lower() in d.name.lower()]
        if len(partial) == 1:
            return partial[0]
        if len(partial) > 1:
            names = "; ".join(f"{d.index}: {d.name}" for d in partial)
            raise AudioInputError(f"input device {text!r} is ambiguous ({names}); use its index")
    known = "; ".join(f"{d.index}: {d.name}" for d in inputs)
    raise AudioInputError(
        f"unknown input device {text!r}; inputs are: {known} (see `turnaround devices`)"
    )
