"""Sameday's core: configuration, the triage store, deadlines, the poll cycle and the CLI."""

__version__ = "0.1.0"
