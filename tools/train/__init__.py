"""Training and evaluation of the coach's text detectors (objections, negativity).

Not part of the product: nothing under ``assistant/`` imports it. See README.md here.
"""
