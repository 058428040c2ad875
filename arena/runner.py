"""Plays a schedule: a scheduler over match slots (:mod:`arena.slots`).

The runner keeps the fixtures not yet played, in the model plan's order
(:mod:`arena.model_plan`), and starts at most ``concurrency`` at once, each in a slot of
the first places that take it (:mod:`arena.places`: by default a thread here for a match
seating a language model, a worker process otherwise). It times each match from the
moment its slot begins it, reports what the slots say through the run's one observer,
and saves every record here, each match in its own transaction, as soon as it ends: a
run killed at any moment loses nothing it committed.

A match still running at its limit is killed and recorded as a forfeit by the agent being
called; so is one whose process ended under it. Such forfeits have their own kinds
(:data:`arena.records.RETRYABLE_KINDS`), which ``--retry-forfeits`` replays.

SIGINT or SIGTERM stops starting matches. A match in its last round may finish within
:data:`GRACE_S`; every other match in flight is stopped and left for ``--resume``, and the
signal is returned in :attr:`RunOutcome.signal`. A second SIGINT exits at once. Results
depend only on the config and the match seeds, so any concurrency, order, place or resume
gives the same records.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any

from arena import slots
from arena.config import Config
from arena.errors import ArenaError
from arena.eta import Eta
from arena.model_plan import ModelGate
from arena.observers import GuardedObserver
from arena.places import local_places
from arena.records import RETRYABLE_KINDS, RETRYABLE_TIMEOUT, Fixture, MatchResult
from arena.registry import declared_timeout, get_agent_class
from arena.slots import Event, Places, Slot, Waker
from arena.store import Store

#: how often the runner looks at the matches in flight when nothing wakes it (the live
#: view's rounds from worker processes), and how often it re-estimates the time left
PROGRESS_SECONDS = 0.1
ESTIMATE_SECONDS = 0.5
#: after a stop, how long a match in its last round may take to finish
GRACE_S = 1.5


@dataclass
class RunOutcome:
    total: int
    already_done: int
    played: int
    signal: int | None = None  # what stopped the run early, if anything
    failure: str | None = None  # or: a service the agents need went down (one line)

    @property
    def interrupted(self) -> bool:
        return self.signal is not None or self.failure is not None


@dataclass
class _Flight:
    fixture: Fixture
    slot: Slot
    places: Places
    limit: float | None
    deadline: float = float("inf")  # set when the slot begins the match
    rounds: int = 0  # as the match announced them (a solo series: episodes)
    done: int = 0

    @property
    def last_round(self) -> bool:
        return 0 < self.rounds <= self.done + 1


class Runner:
    """Plays ``fixtures`` not yet in ``store`` and saves each as it finishes. ``places``:
    where matches run (by default :func:`local_places`); the first that takes a fixture
    plays it."""

    def __init__(self, config: Config, store: Store, observer: Any, *,
                 fixtures: list[Fixture], notices: Sequence[str] = (),
                 concurrency: int | None = None, timeout: float | None = None,
                 places: list[Places] | None = None) -> None:
        self.config, self.store, self.fixtures = config, store, fixtures
        self.observer = GuardedObserver(observer)
        self.notices = list(notices)
        self.concurrency = max(1, concurrency or config.concurrency)
        self.timeout = timeout if timeout is not None else config.timeout
        self.agent_timeouts = {a.name: declared_timeout(get_agent_class(a.type))
                               for a in config.agents}
        self.places = places if places is not None else local_places(
            config, show_rounds=self.observer.shows_rounds)
        # language models this process holds, under the run's memory budget
        self.models = ModelGate.of(config, playing_here=set().union(
            *(places.in_process for places in self.places)))
        self.in_flight: dict[str, _Flight] = {}
        self.signal: int | None = None
        self.failure: str | None = None
        self.played = 0
        self.eta: Eta | None = None
        self._waker: Waker | None = None  # the run's, while it runs
        self._next_estimate = 0.0
        self._position: dict[str, int] = {}  # fixture key -> its place in the plan

    # -- the loop -----------------------------------------------------------------------
    def run(self) -> RunOutcome:
        done = self.store.finished_keys()
        todo = [f for f in self.fixtures if f.key not in done]
        already = len(self.fixtures) - len(todo)
        self.models.order(todo)  # before the live view starts: a refusal is one line
        self.observer.run_started(name=self.config.name, total=len(self.fixtures), done=already)
        for message in self.notices:
            self.observer.notice(message)
        plan = self.models.start(self.observer.notice)
        queues = self._queues(plan)
        self._waker = waker = Waker()
        for places, queue in queues.items():
            places.open(waker.wake)
            line = places.limit_notice(self.concurrency, len(queue))
            if line:
                self.observer.notice(line)
        room = sum(places.capacity or self.concurrency for places in self.places)
        self.eta = Eta(plan, config=self.config, lanes=min(self.concurrency, room))
        previous = self._install_signals()
        ended = False
        try:
            while (any(queues.values()) or self.in_flight) and not self._stopping:
                self._fill(queues)
                self._step()
            self._wind_down()
            ended = True
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for places in self.places:
                places.close()
            waker.close()
            summary = self.models.summary()
            if summary:
                self.observer.notice(summary)
            # a run cut short by an error never says it finished
            self.observer.run_finished(interrupted=self._stopping or not ended)
        return RunOutcome(total=len(self.fixtures), already_done=already, played=self.played,
                          signal=self.signal, failure=self.failure)

    @property
    def _stopping(self) -> bool:
        return self.signal is not None or self.failure is not None

    def _queues(self, plan: list[Fixture]) -> dict[Places, deque[Fixture]]:
        """The matches to play, by the places that play them, each in plan order."""
        self._position = {f.key: i for i, f in enumerate(plan)}
        queues: dict[Places, deque[Fixture]] = {places: deque() for places in self.places}
        for fixture in plan:
            places = next((p for p in self.places if p.takes(fixture)), None)
            if places is None:
                raise ArenaError(f"no place to play match {fixture.key} in")
            queues[places].append(fixture)
        return queues

    def _fill(self, queues: dict[Places, deque[Fixture]]) -> None:
        """Start what may start, the earliest in plan order first. Full places hold back
        only their own matches; a match that would break the model budget holds back
        the matches behind it."""
        ready = {places: queue for places, queue in queues.items() if queue}
        while ready and len(self.in_flight) < self.concurrency:
            places, queue = min(ready.items(), key=lambda item: self._position[item[1][0].key])
            fixture = queue[0]
            slot = places.slot() if self.models.fits(fixture) else None
            if slot is None:
                del ready[places]
                continue
            queue.popleft()
            if not queue:
                del ready[places]
            self.models.started(fixture)
            self.in_flight[fixture.key] = _Flight(fixture, slot, places,
                                                  self.match_timeout(fixture))
            slot.start(fixture)

    def _step(self) -> None:
        """Wait for news from the matches in flight (at most until the next deadline, or
        :data:`PROGRESS_SECONDS`), then act on it."""
        assert self._waker is not None
        waits: list[Any] = [self._waker.fd]
        for flight in self.in_flight.values():
            waits += flight.slot.waitables()
        deadline = min((f.deadline for f in self.in_flight.values()), default=float("inf"))
        if self._waker.fd in wait(waits, max(0.0, min(deadline - time.monotonic(),
                                                      PROGRESS_SECONDS))):
            self._waker.drain()
        self._poll()
        now = time.monotonic()
        for flight in list(self.in_flight.values()):
            if flight.deadline <= now and not self._stopping:
                self._end(flight, flight.slot.kill(f"{RETRYABLE_TIMEOUT} {flight.limit:g} s"))
        if now >= self._next_estimate and self.observer.shows_estimate and self.eta:
            self._next_estimate = now + ESTIMATE_SECONDS
            self.observer.estimate(self.eta.seconds_left())

    def _poll(self) -> None:
        for flight in list(self.in_flight.values()):
            for event in flight.slot.poll():
                self._handle(flight, event)

    def _handle(self, flight: _Flight, event: Event) -> None:
        """The one reporting path: what a slot said, to the observer, the store and the
        estimate of the time left."""
        key = flight.fixture.key
        assert self.eta is not None
        if isinstance(event, slots.Began):
            if flight.limit is not None:
                flight.deadline = time.monotonic() + flight.limit
            self.eta.began(flight.fixture, time.monotonic())
        elif isinstance(event, slots.Started):
            flight.rounds = int(event.info.get("rounds") or 0)
            self.observer.match_started(**event.info)
        elif isinstance(event, slots.Progress):
            flight.done = event.round
            self.eta.progress(key, event.round, event.seconds)
            if event.moves is not None:
                self.observer.round_played(key=key, round=event.round, moves=event.moves,
                                           scores=event.scores)
        elif isinstance(event, slots.Finished):  # unplayed if it died with a stop
            died = self._stopping and event.result.forfeit_kind in RETRYABLE_KINDS
            self._end(flight, None if died else event.result)
        elif isinstance(event, slots.Unfinished):  # stopped, or a service the agents need is down
            self.failure = self.failure or event.reason
            self._end(flight, None)
        elif isinstance(event, slots.Notice):
            self.observer.notice(event.message)
        elif isinstance(event, slots.Log):
            record = logging.makeLogRecord(event.record)
            logging.getLogger(record.name).handle(record)

    def _end(self, flight: _Flight, result: MatchResult | None) -> None:
        """A match is over: its record (``None``: unplayed) is saved, the one place
        results are saved, then reported."""
        key = flight.fixture.key
        if self.in_flight.pop(key, None) is None:
            return
        if result is not None:
            self.store.save(result)
            self.played += 1
        flight.places.release(flight.slot)
        self.models.ended(key)
        assert self.eta is not None
        self.eta.ended(key, time.monotonic(), result)
        if result is not None:
            self.observer.match_finished(result)

    def _wind_down(self) -> None:
        """After a stop: a match in its last round may finish within :data:`GRACE_S`;
        every other match in flight is stopped, unrecorded (``--resume`` plays it)."""
        self._poll()  # how far each match got, now
        until = time.monotonic() + GRACE_S
        while self.in_flight:
            for flight in list(self.in_flight.values()):
                if not flight.last_round or time.monotonic() >= until:
                    flight.slot.kill("stopped")
                    self._end(flight, None)
            if self.in_flight:
                self._step()

    # -- stopping -------------------------------------------------------------------------
    def _install_signals(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, self._on_signal)
        return previous

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.signal is not None and signum == signal.SIGINT:
            os._exit(130)  # a second Ctrl-C: at once (every saved match is committed)
        self.interrupt(signum)

    def interrupt(self, signum: int = signal.SIGINT) -> None:
        """Stop: keep what finished, stop what is in flight (see :meth:`_wind_down`)."""
        self.signal = self.signal or signum
        if self._waker is not None:
            self._waker.wake()

    def match_timeout(self, fixture: Fixture) -> float | None:
        """The config's timeout, or with ``auto`` the most any seated agent asks for
        (a language model on a CPU may need minutes per match; ``None`` = no limit)."""
        if self.timeout != "auto":
            return self.timeout
        limits = [self.agent_timeouts[name] for name in fixture.agents]
        return None if None in limits else max(limits)
