"""The coach: conversation state, sentiment, detectors, playbooks and the suggestion
engine that turns transcripts into reset cards (and the metrics the overlay shows)."""
