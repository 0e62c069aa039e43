"""Sessions on disk: a private, append-only file per call, written as it goes and
read back (tolerating a crash's half line)."""
