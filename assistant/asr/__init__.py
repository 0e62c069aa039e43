"""Transcription: the Whisper model and its catalogue, the decoder, the streaming
policy (partials, progressive commits, finals), the ASR worker thread and the
hallucination guard."""
