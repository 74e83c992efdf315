"""Scheduling: meeting types, availability schedules and the slot engine (pure Python)."""
