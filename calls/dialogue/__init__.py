"""Dialogue engines: the conversation logic the call session drives (plain Python)."""
