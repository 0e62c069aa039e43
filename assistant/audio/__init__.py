"""Capture: microphones and recordings as blocks of audio, resampled to 16 kHz."""
