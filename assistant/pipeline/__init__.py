"""The pipeline: source workers (resample -> VAD -> streaming policy per speaker),
the ordered merge of every stream's events, the silence clock, and the session that
runs it and dispatches its events."""
