"""Thread slots: matches of agents that must share the run's memory, in its own process.

A language model is loaded once for every match of a run (``isolate = False`` in
:mod:`arena.agent`), so a match seating one plays in a daemon thread of the run's
process, and its decisions meet the other matches' in the model's batcher. A thread
cannot be killed: at a timeout or a stop its match is cancelled (it stops before its
next round) and abandoned, and nothing it does afterwards reaches the run.

A thread abandoned in the middle of a model's forward pass is still in native code when
the interpreter would tear down; :func:`wait_for_abandoned` lets ``arena run`` wait a
moment for such threads and tell whether any is still running.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from arena.agent import ServiceUnavailable
from arena.config import Config
from arena.fixture import play_fixture
from arena.records import Fixture, MatchResult
from arena.seats import MatchState
from arena.slots import (
    Began,
    Event,
    Finished,
    Progress,
    Started,
    Unfinished,
    stopped_record,
)

#: progress events kept between two polls: the live view shows the newest rounds
_ROUNDS_KEPT = 3
_THREADS: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


class _Reporter:
    """The match's observer, inside its thread: events for the slot's next poll."""

    def __init__(self, slot: ThreadSlot, state: MatchState) -> None:
        self.slot, self.state = slot, state

    def match_started(self, **info: Any) -> None:
        self.slot.push(Started(info))

    def round_played(self, *, key: str, round: int, moves: dict[str, str],
                     scores: dict[str, float]) -> None:
        log = self.state.round_log
        if len(moves) == 1:  # a solo episode: its steps' decision times
            entries = [e for e in log if e.get("episode") == round - 1]
        else:
            entries = log[-1:]
        seconds = {name: sum(e["latency_ms"][name] for e in entries) / 1000 for name in moves}
        shown = self.slot.show_rounds
        self.slot.push(Progress(round, seconds, dict(moves) if shown else None,
                                dict(scores) if shown else None))


class ThreadSlot:
    """One match in a daemon thread of this process (see :class:`arena.slots.Slot`)."""

    def __init__(self, config: Config, wake: Callable[[], None], *, show_rounds: bool) -> None:
        self.config, self.wake, self.show_rounds = config, wake, show_rounds
        self.fixture: Fixture | None = None
        self.state = MatchState()
        self._events: list[Event] = []
        self._lock = threading.Lock()

    def start(self, fixture: Fixture) -> None:
        self.fixture, self.state = fixture, MatchState()
        self.push(Began())
        thread = threading.Thread(target=self._play, args=(fixture, self.state), daemon=True,
                                  name=f"arena-{fixture.key}")
        _THREADS.add(thread)
        thread.start()

    def _play(self, fixture: Fixture, state: MatchState) -> None:
        event: Event
        try:
            event = Finished(play_fixture(self.config, fixture, state=state,
                                          observer=_Reporter(self, state)))
        except ServiceUnavailable as exc:  # not the agent's fault: unplayed, not a result
            event = Unfinished(" ".join(str(exc).split()))
        self.push(event)
        self.wake()

    def push(self, event: Event) -> None:
        with self._lock:
            events = self._events
            if (isinstance(event, Progress) and len(events) >= _ROUNDS_KEPT
                    and all(isinstance(e, Progress) for e in events[-_ROUNDS_KEPT:])):
                del events[-_ROUNDS_KEPT]
            events.append(event)

    def poll(self) -> list[Event]:
        with self._lock:
            events, self._events = self._events, []
        return events

    def blamed(self) -> str | None:
        return self.state.current

    def kill(self, reason: str) -> MatchResult:
        assert self.fixture is not None
        self.state.cancelled = True  # it stops before its next round
        return stopped_record(self.fixture, self.state, by=self.state.current, reason=reason)

    def waitables(self) -> list[Any]:
        return []  # a finished match wakes the runner


class ThreadPlaces:
    """Threads of this process: matches seating an agent in ``shared``."""

    capacity = None

    def __init__(self, config: Config, *, shared: set[str], show_rounds: bool) -> None:
        self.config, self.shared, self.show_rounds = config, shared, show_rounds
        self.in_process = frozenset(shared)
        self.wake: Callable[[], None] = lambda: None

    def takes(self, fixture: Fixture) -> bool:
        return any(name in self.shared for name in fixture.agents)

    def open(self, wake: Callable[[], None]) -> None:
        self.wake = wake

    def limit_notice(self, concurrency: int, fixtures: int) -> str | None:
        return None

    def slot(self) -> ThreadSlot:
        return ThreadSlot(self.config, self.wake, show_rounds=self.show_rounds)

    def release(self, slot: Any) -> None:
        """A thread plays one match; a new one plays the next."""

    def close(self) -> None:
        """Threads still playing were cancelled by their kill."""


def wait_for_abandoned(seconds: float) -> bool:
    """Wait up to ``seconds`` for every match thread to end; whether all did."""
    deadline = time.monotonic() + seconds
    for thread in list(_THREADS):
        thread.join(max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in list(_THREADS))
