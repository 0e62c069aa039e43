"""Speech detection: Silero VAD on 32 ms frames, and the segmenter that turns its
speech probabilities into utterances."""
