"""Scheduling: weekly availability and the slot engine (pure Python, see ``slots``)."""
