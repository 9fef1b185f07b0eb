"""Berth's daemon package (built by its own issue)."""
