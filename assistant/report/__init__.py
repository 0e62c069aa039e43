"""The coaching report of a recorded session: figures, timeline plot, HTML,
Markdown and JSON."""
