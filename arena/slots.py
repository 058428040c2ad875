"""Where a match runs: the one interface the runner schedules over.

A :class:`Slot` is a place that plays one match at a time. The runner (:mod:`arena.runner`)
never looks inside one: it starts a fixture in it, polls it for :data:`Event` s, and kills
it when its match runs past the time limit, taking the partial record the kill returns.
Slots come from :class:`Places`, one per kind of place:

- :mod:`arena.slot_thread`: a thread of the run's process, for agents that must share its
  memory (a loaded language model);
- :mod:`arena.slot_process`: a forkserver worker process, which can be killed when an
  agent hangs, and whose death costs only its match.

Everything a slot hands back is plain, picklable data, and a slot reports rather than
acts: it never saves a record and never calls the run's observer. So a slot may live
anywhere, a task on a cluster included, and the runner stays the one place that saves
results and reports progress.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from arena.match import result_from
from arena.records import FORFEIT, Fixture, MatchResult
from arena.seats import MatchState


@dataclass(frozen=True)
class Began:
    """The match is running now: its time limit counts from here (a slot may first have
    had to start, or wait for, the process that plays it)."""


@dataclass(frozen=True)
class Started:
    """What a match is, for the live view: the arguments of ``match_started``
    (``key``, ``game``, ``agents``, ``rounds``; a solo series counts episodes)."""

    info: dict[str, Any]


@dataclass(frozen=True)
class Progress:
    """Round (or episode) ``round`` of the match has been played. ``seconds``: how long
    each agent took to decide in it. ``moves`` and ``scores`` are there when the slot
    was asked to show rounds (``None`` otherwise)."""

    round: int
    seconds: dict[str, float] = field(default_factory=dict)
    moves: dict[str, str] | None = None
    scores: dict[str, float] | None = None


@dataclass(frozen=True)
class Finished:
    """The match is over, finished or forfeited, and this is its whole record."""

    result: MatchResult


@dataclass(frozen=True)
class Unfinished:
    """The match stopped without a record: ``reason`` names a service its agents need
    that went down (the run stops, the match stays unplayed), or is ``None`` when the
    match was stopped from outside."""

    reason: str | None = None


@dataclass(frozen=True)
class Notice:
    """A line for the run's log (what a match's agents printed, in short)."""

    message: str


@dataclass(frozen=True)
class Log:
    """An agent's log record, as ``logging.makeLogRecord`` takes it."""

    record: dict[str, Any]


Event = Began | Started | Progress | Finished | Unfinished | Notice | Log


class Slot(Protocol):
    """One place where one match at a time runs."""

    def start(self, fixture: Fixture) -> None:
        """Begin playing ``fixture`` (``poll`` says when it is running and when it ends)."""

    def poll(self) -> list[Event]:
        """What happened since the last call, oldest first; never blocks."""

    def kill(self, reason: str) -> MatchResult:
        """Stop the match now. Its record as far as it got: a forfeit by the agent being
        called (:meth:`blamed`), ``reason`` followed by who did not answer."""

    def blamed(self) -> str | None:
        """The agent being called right now, if any."""

    def waitables(self) -> list[Any]:
        """Objects ``multiprocessing.connection.wait`` can wait on, which become ready
        when the slot has news; a slot with none calls its places' ``wake`` instead."""


class Places(Protocol):
    """A kind of place where matches run, and the slots of that kind."""

    #: the most slots of this kind at once (``None``: as many as the run's concurrency)
    capacity: int | None
    #: the agents whose models the run's own process holds while these places play
    #: them (the memory budget's concern; none for places in other processes)
    in_process: frozenset[str]

    def takes(self, fixture: Fixture) -> bool:
        """Whether this kind of place plays ``fixture``."""

    def open(self, wake: Callable[[], None]) -> None:
        """Before the first slot: ``wake()`` wakes the runner from another thread."""

    def slot(self) -> Slot | None:
        """A slot to start a match in, or ``None`` while every slot allowed is busy."""

    def release(self, slot: Slot) -> None:
        """``slot``'s match is over (finished, or killed); it may be used again."""

    def limit_notice(self, concurrency: int, fixtures: int) -> str | None:
        """One line when fewer slots than ``concurrency`` will play this kind's
        ``fixtures`` at once, saying why."""

    def close(self) -> None:
        """The run is over: end every slot (one still playing is stopped)."""


def stopped_record(fixture: Fixture, state: MatchState, *, by: str | None,
                   reason: str) -> MatchResult:
    """The forfeit record of a match stopped from outside, as far as ``state`` got."""
    blame = f"{by} did not answer" if by else "the match did not finish"
    return result_from(fixture, state, status=FORFEIT, by=by, error=f"{reason}: {blame}")


class Waker:
    """A pipe that wakes the runner's wait from match threads and signal handlers.

    A thread abandoned at a timeout or a stop may finish after the run has ended, when
    the pipe's file descriptor may belong to another file: after :meth:`close`, waking
    does nothing.
    """

    def __init__(self) -> None:
        self.fd, self._write = os.pipe()
        self._lock = threading.RLock()
        self._open = True

    def wake(self) -> None:
        with self._lock:
            if self._open:
                try:
                    os.write(self._write, b".")
                except OSError:  # full: the runner is awake anyway
                    pass

    def drain(self) -> None:
        os.read(self.fd, 4096)

    def close(self) -> None:
        with self._lock:
            if self._open:
                self._open = False
                os.close(self.fd)
                os.close(self._write)
