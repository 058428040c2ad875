"""Plays a schedule: at most ``concurrency`` matches at once, each in its own worker.

A match is played in a worker process (:mod:`arena.worker`) unless one of its agents
must share this process's memory (``isolate = False``: a language model loaded once for
every match), in which case it runs in a daemon thread here. The main thread starts
matches, waits for the first to finish, to run past its time limit or to lose its
process, and saves each finished match in its own transaction as soon as it ends.

A match still running at its limit is recorded as a forfeit by the agent being called:
its worker is killed (the agent stops using the CPU at once) and replaced; a thread
cannot be killed, so it is abandoned (a daemon: it never holds the process at exit).
An agent that ends its worker process (``os._exit``, a crash) forfeits the same way.
Such forfeits say so in their error (:data:`arena.records.RETRYABLE`), and
``--retry-forfeits`` replays them.

SIGINT or SIGTERM stops starting matches, stops those in flight, and returns the
signal in :attr:`RunOutcome.signal`; a second SIGINT exits at once. Results depend only
on the config and the match seeds, so any concurrency, order or resume gives the same
records.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from multiprocessing.connection import wait
from typing import Any

from arena.agent import ServiceUnavailable
from arena.config import Config
from arena.errors import ArenaError, StoreError
from arena.fixture import play_fixture
from arena.match import result_from
from arena.model_plan import ModelGate
from arena.observers import GuardedObserver
from arena.records import (
    FORFEIT,
    RETRYABLE,
    RETRYABLE_DIED,
    RETRYABLE_TIMEOUT,
    Fixture,
    MatchResult,
)
from arena.registry import get_agent_class
from arena.seats import MatchState
from arena.store import Store
from arena.worker_pool import Worker, importable, lifeline, setup_for

VERSIONED = ("unpredictability-arena", "numpy", "pettingzoo", "gymnasium", "trueskill",
             "pydantic", "torch", "transformers")


def package_versions() -> dict[str, str]:
    import platform

    versions = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


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


def declared_timeout(agent_type: str) -> float | None:
    """The match time limit an agent class asks for under ``timeout: auto`` (see
    :mod:`arena.agent`): 60 s unless it says otherwise, ``None`` for none."""
    return getattr(get_agent_class(agent_type), "match_timeout", 60.0)


#: how often the live view is shown the rounds played in worker processes
PROGRESS_SECONDS = 0.1


@dataclass
class _Flight:
    fixture: Fixture
    limit: float | None
    deadline: float
    worker: Worker | None = None  # None: a thread of this process
    state: MatchState | None = None
    announced: bool = False  # the observer has heard match_started (rounds come after)


class Runner:
    """Plays ``fixtures`` not yet in ``store`` and saves each as it finishes."""

    def __init__(self, config: Config, store: Store, observer: Any, *,
                 fixtures: list[Fixture], notices: Sequence[str] = (),
                 concurrency: int | None = None, timeout: float | None = None) -> None:
        self.config = config
        self.store = store
        self.observer = GuardedObserver(observer)
        self.fixtures = fixtures
        self.notices = list(notices)
        self.concurrency = max(1, concurrency or config.concurrency)
        self.timeout = timeout if timeout is not None else config.timeout
        classes = {a.name: get_agent_class(a.type) for a in config.agents}
        self.agent_timeouts = {n: getattr(c, "match_timeout", 60.0) for n, c in classes.items()}
        self.shared = {n for n, c in classes.items() if not getattr(c, "isolate", True)}
        if not importable(config):
            self.shared = set(classes)  # a worker could not build them: all play here
        # language models this process holds, under the run's memory budget
        self.models = ModelGate.of(config, playing_here=self.shared)
        self.failure: str | None = None
        self.in_flight: dict[str, _Flight] = {}
        self.waiting: deque[_Flight] = deque()  # in flight, waiting for a ready worker
        self.idle: list[Worker] = []
        self.booting: list[Worker] = []
        self.pids: list[int] = []  # every worker process this run started
        self.signal: int | None = None
        self._finished: queue.SimpleQueue = queue.SimpleQueue()  # from match threads
        self._wake_r, self._wake_w = os.pipe()  # threads and signals wake the main loop
        self._wake_lock = threading.RLock()  # a match thread may outlive the run's pipe
        self._pipe_open = True
        self._setup: dict[str, Any] | None = None
        self._lifeline: tuple[Any, Any] | None = None  # workers end when it closes
        self._names: dict[str, list[str]] = {}
        self._roles_of: dict[str, list[str]] = {}

    # -- the loop -----------------------------------------------------------------------
    def run(self) -> RunOutcome:
        done = self.store.finished_keys()
        todo = [f for f in self.fixtures if f.key not in done]
        already = len(self.fixtures) - len(todo)
        self.models.order(todo)  # before the live view starts: a refusal is one line
        self.observer.run_started(name=self.config.name, total=len(self.fixtures), done=already)
        for message in self.notices:
            self.observer.notice(message)
        pending = deque(self.models.start(self.observer.notice))
        previous = self._install_signals()
        played = 0
        try:
            while (pending or self.in_flight) and not self._stopping:
                while (pending and len(self.in_flight) < self.concurrency
                       and self.models.fits(pending[0])):
                    self._start(pending.popleft())
                for result, saved in self._next_results():
                    self.models.ended(result.key)
                    if not saved:
                        self._save(result)
                    played += 1
                    self.observer.match_finished(result)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._shut_down()
            summary = self.models.summary()
            if summary:
                self.observer.notice(summary)
            self.observer.run_finished(interrupted=self._stopping)
        return RunOutcome(total=len(self.fixtures), already_done=already, played=played,
                          signal=self.signal, failure=self.failure)

    @property
    def _stopping(self) -> bool:
        return self.signal is not None or self.failure is not None

    def _start(self, fixture: Fixture) -> None:
        limit = self.match_timeout(fixture)
        deadline = time.monotonic() + limit if limit is not None else float("inf")
        flight = _Flight(fixture, limit, deadline)
        self.in_flight[fixture.key] = flight
        self.models.started(fixture)
        if any(name in self.shared for name in fixture.agents):
            flight.state = MatchState()
            threading.Thread(target=self._play_here, args=(fixture, flight.state),
                             daemon=True, name=f"arena-{fixture.key}").start()
            return
        flight.deadline = float("inf")  # the clock starts when a worker takes it
        self.waiting.append(flight)
        self._dispatch()

    def _dispatch(self) -> None:
        """Hand waiting matches to ready workers; start workers for the rest."""
        while self.waiting and self.idle:
            flight, flight.worker = self.waiting.popleft(), self.idle.pop()
            if flight.limit is not None:
                flight.deadline = time.monotonic() + flight.limit
            flight.worker.start(flight.fixture)
        if self._setup is None:
            self._setup = {**setup_for(self.config, self.store.directory),
                           "rounds": self.observer.shows_rounds}
        if self._lifeline is None:
            self._lifeline = lifeline()
        while len(self.booting) < len(self.waiting):
            self.booting.append(Worker(self.config, self._setup, self._lifeline[0]))
            self.pids.append(self.booting[-1].process.pid)

    def _booted(self, worker: Worker) -> None:
        """A booting worker said it is ready, or died trying."""
        self.booting.remove(worker)
        try:
            kind, _ = worker.conn.recv()
        except (EOFError, OSError):
            kind = "died"
        if kind != "ready":
            worker.kill()
            raise ArenaError(f"a worker process could not start (exit code "
                             f"{worker.process.exitcode}); see the messages above")
        self.idle.append(worker)
        self._dispatch()

    def _play_here(self, fixture: Fixture, state: MatchState) -> None:
        try:
            result: MatchResult | None = play_fixture(self.config, fixture, state=state,
                                                      observer=self.observer)
        except ServiceUnavailable as exc:  # not the agent's fault: unfinished, not a result
            self.failure = self.failure or " ".join(str(exc).split())
            self.interrupt(None)
            result = None
        if state.cancelled:  # stopped or timed out: what it played is not a finished match
            result = None
        self._finished.put((fixture.key, result))
        self._wake(b"t")

    def _save(self, result: MatchResult) -> None:
        # a worker may have committed its match just as its time ran out: its record stands
        if result.status == FORFEIT and result.error and result.error.startswith(RETRYABLE):
            if result.key in self.store.finished_keys():
                return
        self.store.save(result)

    def _next_results(self) -> list[tuple[MatchResult, bool]]:
        """Wait for something to happen in flight; the records it finished (maybe none),
        each with whether a worker has saved it already."""
        workers = {f.worker: f for f in self.in_flight.values() if f.worker is not None}
        waits: list[Any] = [self._wake_r]
        for worker in [*workers, *self.booting]:
            waits += [worker.conn, worker.process.sentinel]
        deadline = min((f.deadline for f in self.in_flight.values()), default=float("inf"))
        timeout = max(0.0, min(deadline - time.monotonic(), PROGRESS_SECONDS))
        ready = set(wait(waits, timeout))
        results = []
        if self._wake_r in ready:
            os.read(self._wake_r, 4096)
        while not self._finished.empty():
            key, result = self._finished.get()
            if self.in_flight.pop(key, None) is not None:  # else: it had timed out
                if result is None:  # stopped unfinished (a service went down)
                    self.models.ended(key)
                else:
                    results.append((result, False))
        for worker in list(self.booting):
            if worker.conn in ready or worker.process.sentinel in ready:
                self._booted(worker)
        for worker, flight in workers.items():
            # messages first: the live view hears of a match before its rounds
            if worker.conn in ready or worker.process.sentinel in ready:
                result = self._from_worker(flight)
                if result is not None:
                    results.append(result)
                    continue
            self._show_progress(flight)
        now = time.monotonic()
        for key, flight in list(self.in_flight.items()):
            if flight.deadline <= now and not self._stopping:
                del self.in_flight[key]
                results.append((self._timed_out(flight), False))
        return results

    def _from_worker(self, flight: _Flight) -> tuple[MatchResult, bool] | None:
        """Read what a worker sent; its record when the match is over, and whether the
        worker saved it."""
        worker = flight.worker
        assert worker is not None
        try:
            while worker.conn.poll():
                kind, payload = worker.conn.recv()
                if kind == "started":
                    self.observer.match_started(**payload)
                    flight.announced = True
                elif kind == "round":
                    self.observer.round_played(**payload)
                elif kind == "log":
                    record = logging.makeLogRecord(payload)
                    logging.getLogger(record.name).handle(record)
                elif kind == "output":
                    self._output(flight.fixture, payload)
                elif kind == "failed":
                    raise StoreError(f"{self.store.directory}: a match could not be saved "
                                     f"({payload})")
                elif kind == "down":  # stopped unfinished: a service the agents need is down
                    self.failure = self.failure or payload
                    self.interrupt(None)
                else:
                    self._show_progress(flight)
                    del self.in_flight[flight.fixture.key]
                    self.idle.append(worker)
                    self._dispatch()
                    return payload, True
        except (EOFError, OSError):
            pass
        if worker.process.is_alive():
            return None
        del self.in_flight[flight.fixture.key]
        worker.kill()
        code = worker.process.exitcode
        who = worker.blamed()
        blame = f"while {who} was deciding" if who else "between decisions"
        return self._lost(flight, by=who,
                          error=f"{RETRYABLE_DIED} (exit code {code}) {blame}"), False

    def _output(self, fixture: Fixture, output: dict[str, Any]) -> None:
        """What a match's agents printed: a count and the last line, never a flood."""
        last = next((line for line in reversed(output["tail"].splitlines()) if line.strip()), "")
        more = f", {output['logs_dropped']} log records not shown" if output["logs_dropped"] else ""
        self.observer.notice(f"{fixture.key}: the agents printed {output['lines']} lines{more}"
                             + (f"; last: {last[:120]}" if last else ""))

    def _timed_out(self, flight: _Flight) -> MatchResult:
        if flight.worker is not None:
            flight.worker.kill()
            who = flight.worker.blamed()
        else:
            assert flight.state is not None
            flight.state.cancelled = True
            who = flight.state.current
        blame = f"{who} did not answer" if who else "the match did not finish"
        return self._lost(flight, by=who,
                          error=f"{RETRYABLE_TIMEOUT} {flight.limit:g} s: {blame}")

    def _lost(self, flight: _Flight, *, by: str | None, error: str) -> MatchResult:
        """The forfeit record of a match stopped from outside, as far as it got."""
        state = flight.state
        if state is None:  # the worker's rounds died with it; keep how far it got
            state = MatchState()
            state.rounds = flight.worker.rounds() if flight.worker else 0
            state.roles = self._roles(flight.fixture)
            state.totals = dict.fromkeys(flight.fixture.agents, 0.0)
        return result_from(flight.fixture, state, status=FORFEIT, by=by, error=error)

    def _show_progress(self, flight: _Flight) -> None:
        worker = flight.worker
        if worker is None or not flight.announced or not self.observer.shows_rounds:
            return
        names = self._action_names(flight.fixture.game)
        for entry in worker.new_rounds(names):
            self.observer.round_played(key=flight.fixture.key, **entry)

    def _action_names(self, game_id: str) -> list[str]:
        if game_id not in self._names:
            from envs import get_game

            game = next(g for g in self.config.games if g.id == game_id)
            raw = get_game(game_id).make(**game.args).unwrapped
            self._names[game_id] = [str(n) for n in getattr(raw, "action_names", ())]
            self._roles_of[game_id] = list(getattr(raw, "possible_agents", ["solo"]))
        return self._names[game_id]

    def _roles(self, fixture: Fixture) -> list[str]:
        if fixture.episodes:
            return ["solo"]
        self._action_names(fixture.game)
        return list(self._roles_of[fixture.game])

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

    def interrupt(self, signum: int | None = signal.SIGINT) -> None:
        """Stop: keep what finished, stop what is in flight. Twice: exit now. ``None``:
        stopped from inside (:attr:`failure` says why)."""
        if signum is not None:
            self.signal = self.signal or signum
        for flight in list(self.in_flight.values()):  # a match thread may call this
            if flight.state is not None:
                flight.state.cancelled = True
        self._wake(b"s")

    def _wake(self, why: bytes) -> None:
        """Wake the main loop, unless the run has ended (a thread abandoned at a timeout
        or stop finishes later; its fd number may belong to another file by then)."""
        with self._wake_lock:
            if self._pipe_open:
                try:
                    os.write(self._wake_w, why)
                except OSError:  # full: the loop is awake anyway
                    pass

    def _shut_down(self) -> None:
        for flight in self.in_flight.values():
            if flight.worker is not None:
                flight.worker.kill()
        for worker in self.booting:
            worker.kill()
        for worker in self.idle:
            worker.stop()
        self.idle.clear()
        self.booting.clear()
        if self._lifeline is not None:
            for end in self._lifeline:
                end.close()
            self._lifeline = None
        with self._wake_lock:
            self._pipe_open = False
            os.close(self._wake_r)
            os.close(self._wake_w)

    def match_timeout(self, fixture: Fixture) -> float | None:
        """The config's timeout, or with ``auto`` the most any seated agent asks for
        (a language model on a CPU may need minutes per match; ``None`` = no limit)."""
        if self.timeout != "auto":
            return self.timeout
        limits = [self.agent_timeouts[name] for name in fixture.agents]
        return None if None in limits else max(limits)
