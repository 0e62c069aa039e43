"""Helpers that tests in several folders share (not tests themselves)."""
