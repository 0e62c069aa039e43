"""Turnaround: a local-first, real-time call coach."""

import os as _os

__version__ = "0.1.0"

# CTranslate2 runs Whisper's int8 layers through oneDNN, which caches a compiled
# "primitive" (with its scratch memory) per input shape, up to 1,024 of them. Every
# utterance has its own length, so the cache kept filling: resident memory grew
# ~10 MB per minute of call for the first 10-20 minutes (+7.8 % from minute 9 to 30
# of the soak). Shapes rarely repeat, so a small cache costs no speed (speech end ->
# final p95 unchanged) and keeps memory flat. Set here, before anything can load
# CTranslate2; a user's own setting wins.
_os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "16")
