"""The errors of backups: one class, with a message an operator can act on."""


class BackupError(Exception):
    """A backup, verification, restore or prune that could not be done (nothing half-done)."""
