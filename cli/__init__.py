"""Berth's cli package (built by its own issue)."""
