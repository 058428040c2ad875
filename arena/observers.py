"""What a run reports as it goes, and the guard that keeps a display bug from costing it.

An observer (the live view, plain lines, a test's recorder) may have any of:
``run_started(name, total, done)``, ``match_started(key, game, agents, rounds)``,
``round_played(key, round, moves, scores)``, ``match_finished(result)``,
``notice(message)``, ``estimate(seconds_left)`` (the run's time left, ``None`` while it
cannot be estimated; see :mod:`arena.eta`) and ``run_finished(interrupted)``.
"""

from __future__ import annotations

import sys
from typing import Any

from arena.records import MatchResult


class GuardedObserver:
    """Forwards to the run's observer; a display error is reported once, never fatal.

    A bug in the live view must not forfeit matches or stop a run: results come first.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.failed = False
        # whether anybody reads rounds as they are played (plain lines do not)
        self.shows_rounds = inner is not None and getattr(inner, "shows_rounds", True)
        self.shows_estimate = callable(getattr(inner, "estimate", None))

    def _call(self, method: str, *args: Any, **kwargs: Any) -> None:
        if self.failed or self.inner is None:  # None: nobody is watching
            return
        try:
            getattr(self.inner, method)(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 -- reported below, then the view is dropped
            self.failed = True
            print(f"arena: the progress display failed and is turned off: {exc!r}",
                  file=sys.stderr, flush=True)

    def run_started(self, **kwargs: Any) -> None:
        self._call("run_started", **kwargs)

    def match_started(self, **kwargs: Any) -> None:
        self._call("match_started", **kwargs)

    def round_played(self, **kwargs: Any) -> None:
        self._call("round_played", **kwargs)

    def match_finished(self, result: MatchResult) -> None:
        self._call("match_finished", result)

    def notice(self, message: str) -> None:
        self._call("notice", message)

    def estimate(self, seconds_left: float | None) -> None:
        if self.shows_estimate:
            self._call("estimate", seconds_left)

    def run_finished(self, **kwargs: Any) -> None:
        if not self.failed or self.inner is None:
            self._call("run_finished", **kwargs)
            return
        try:  # still give a live display the chance to restore the terminal
            self.inner.run_finished(**kwargs)
        except Exception:  # noqa: BLE001, S110 -- already reported once; say nothing more
            pass
