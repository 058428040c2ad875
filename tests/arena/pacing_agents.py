"""Agents that pace a test run by waiting for a file, so tests never rely on timing.

Referenced from test configs as ``tests.arena.pacing_agents:WaitForFile`` (the test puts
the repository root on ``PYTHONPATH``).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from arena.agent import BaseAgent


class WaitForFile(BaseAgent):
    """Plays rock, and from round ``wait_at`` on blocks until ``path`` exists.

    Before blocking it touches ``path`` + ``.waiting`` so a test knows the run reached
    the gate, and logs a warning (which the live view must print above itself). The
    wait polls the filesystem; a test releases it by creating ``path``.
    """

    def __init__(self, *, name: str | None = None, path: str, wait_at: int = 3,
                 poll_seconds: float = 0.02) -> None:
        super().__init__(name=name)
        self.path = Path(path)
        self.wait_at = wait_at
        self.poll_seconds = poll_seconds

    def act(self, observation: Any, action_space: Any) -> int:
        # decide() counts this decision once act returns: it is decision decisions_made + 1
        if self.decisions_made + 1 >= self.wait_at and not self.path.exists():
            Path(f"{self.path}.waiting").touch()
            logging.getLogger(__name__).warning("%s waits for %s", self.name, self.path.name)
            while not self.path.exists():
                time.sleep(self.poll_seconds)
        return int(getattr(action_space, "start", 0))


class Sleeper(BaseAgent):
    """Plays rock after ``seconds`` of sleep: a bot of known speed."""

    def __init__(self, *, name: str | None = None, seconds: float = 0.01) -> None:
        super().__init__(name=name)
        self.seconds = seconds

    def act(self, observation: Any, action_space: Any) -> int:
        time.sleep(self.seconds)
        return int(getattr(action_space, "start", 0))


class SharedSleeper(Sleeper):
    """A stand-in for a language model of known speed: it shares the run's process (its
    matches play in threads there) and asks for no time limit."""

    isolate = False
    match_timeout = None
