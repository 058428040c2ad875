"""Agents for the Ray tests, imported on the cluster's workers as ``tests.ray.ray_agents``
(the test head has the repository on its ``PYTHONPATH``)."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from arena.agent import BaseAgent


class PidGate(BaseAgent):
    """Plays rock; at round ``at`` writes ``<path>.<pid>`` (so a test knows which process
    plays it), logs a warning (which the run prints once its driver knows who is being
    called) and waits until ``path`` exists."""

    def __init__(self, *, name: str | None = None, path: str, at: int = 3) -> None:
        super().__init__(name=name)
        self.path, self.at = Path(path), at

    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        super().reset(seed=seed, **context)
        self.decisions = 0

    def act(self, observation: Any, action_space: Any) -> int:
        self.decisions += 1
        if self.decisions == self.at and not self.path.exists():
            Path(f"{self.path}.{os.getpid()}").touch()
            logging.getLogger(__name__).warning("%s waits in process %d", self.name,
                                                os.getpid())
            while not self.path.exists():
                time.sleep(0.02)
        return int(getattr(action_space, "start", 0))
