"""Transcription for many calls at once: one decode scheduler shared by every call's
pipeline (finals first, stale partials dropped, as one call's ``AsrWorker`` does),
decoding in this process or on a Ray Serve deployment of Whisper replicas."""
