"""User-facing errors: the CLI prints each as one line, ``arena: error: ...``, and exits 2.

Raise these (or a subclass) for anything the user can fix: a bad config, a missing or
existing run directory, an unknown format. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class ArenaError(Exception):
    """A problem the user can fix; the message is one line and says what to do."""


class ConfigError(ArenaError):
    """A config that does not validate: names the file, the key path and the problem."""

    def __init__(self, message: str, *, file: str | None = None, path: str | None = None) -> None:
        self.file = file
        self.path = path
        self.problem = message
        where = ": ".join(part for part in (file, path) if part)
        super().__init__(f"{where}: {message}" if where else message)


class StoreError(ArenaError):
    """A run directory that is missing, unreadable or already in use."""
