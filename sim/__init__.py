"""Berth's sim package (built by its own issue)."""
