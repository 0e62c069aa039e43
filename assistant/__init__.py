"""Turnaround: a local-first, real-time call coach."""

__version__ = "0.1.0"
