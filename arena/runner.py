"""Plays a schedule: each match in its own daemon thread, at most ``concurrency`` at once.

The main thread starts matches, waits for the first to finish or to run past its time
limit, and saves each finished match in its own transaction as soon as it ends. A match
still running at its limit is recorded as a forfeit by the agent that was being called,
and its thread is abandoned: daemon threads, so an agent stuck in ``while True`` never
holds the process at exit, and the run goes on.

Ctrl-C (or SIGTERM) stops starting matches, abandons those in flight, and returns with
``interrupted=True``; a second Ctrl-C exits at once. Results depend only on the config
and the match seeds, so any concurrency, order or resume gives the same records.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from arena.config import AgentConfig, Config
from arena.match import play_match, result_from
from arena.records import FORFEIT, Fixture, MatchResult
from arena.registry import get_agent_class, make_agent
from arena.seats import Forfeit, MatchState
from arena.store import Store

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
    interrupted: bool


def declared_timeout(agent_type: str) -> float | None:
    """The match time limit an agent class asks for under ``timeout: auto`` (see
    :mod:`arena.agent`): 60 s unless it says otherwise, ``None`` for none."""
    return getattr(get_agent_class(agent_type), "match_timeout", 60.0)


class GuardedObserver:
    """Forwards to the run's observer; a display error is reported once, never fatal.

    A bug in the live view must not forfeit matches or stop a run: results come first.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.failed = False

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

    def run_finished(self, **kwargs: Any) -> None:
        if not self.failed or self.inner is None:
            self._call("run_finished", **kwargs)
            return
        try:  # still give a live display the chance to restore the terminal
            self.inner.run_finished(**kwargs)
        except Exception:  # noqa: BLE001, S110 -- already reported once; say nothing more
            pass


def build_agents(specs: list[AgentConfig], state: MatchState) -> list[Any]:
    """Fresh agent instances for one match, in seat order.

    ``state.current`` names the agent being built, so a constructor that never returns
    is blamed for the timeout like any other stuck call.
    """
    agents = []
    for spec in specs:
        state.current = spec.name
        try:
            agents.append(make_agent(spec.type, name=spec.name, **spec.options))
        except Exception as exc:  # noqa: BLE001 -- a broken constructor forfeits for its agent
            raise Forfeit(spec.name, f"{spec.name}: cannot build agent: {exc}") from None
        state.agents[spec.name] = agents[-1]
    state.current = None
    return agents


@dataclass
class _Flight:
    fixture: Fixture
    state: MatchState
    limit: float | None
    deadline: float


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
        self.agent_timeouts = {a.name: declared_timeout(a.type) for a in config.agents}
        self.games = {g.id: g for g in config.games}
        self.in_flight: dict[str, _Flight] = {}
        self.interrupted = False
        # finished matches, and None to wake the main thread (a signal): what it waits on
        self._finished: queue.SimpleQueue = queue.SimpleQueue()

    def run(self) -> RunOutcome:
        done = self.store.finished_keys()
        pending = deque(f for f in self.fixtures if f.key not in done)
        already = len(self.fixtures) - len(pending)
        self.observer.run_started(name=self.config.name, total=len(self.fixtures), done=already)
        for message in self.notices:
            self.observer.notice(message)
        previous = self._install_signals()
        played = 0
        try:
            while (pending or self.in_flight) and not self.interrupted:
                while pending and len(self.in_flight) < self.concurrency:
                    self._start(pending.popleft())
                for result in self._next_results():
                    self.store.save(result)
                    played += 1
                    self.observer.match_finished(result)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.observer.run_finished(interrupted=self.interrupted)
        return RunOutcome(total=len(self.fixtures), already_done=already, played=played,
                          interrupted=self.interrupted)

    def _next_results(self) -> list[MatchResult]:
        """Wait for the next match to finish or time out; the records to save (maybe none)."""
        deadlines = [f.deadline for f in self.in_flight.values()]
        wait = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
        try:
            item = self._finished.get(timeout=wait)
        except queue.Empty:
            item = None
        results = []
        if item is not None:
            key, result = item
            if self.in_flight.pop(key, None) is not None:  # else: already timed out
                results.append(result)
        now = time.monotonic()
        for key, flight in list(self.in_flight.items()):
            if flight.deadline <= now and not self.interrupted:
                del self.in_flight[key]
                results.append(self._timed_out(flight))
        return results

    def _timed_out(self, flight: _Flight) -> MatchResult:
        state = flight.state
        state.cancelled = True
        who = state.current
        blame = f"{who} did not answer" if who else "the match did not finish"
        return result_from(flight.fixture, state, status=FORFEIT, by=who,
                           error=f"timed out after {flight.limit:g} s: {blame}")

    def _start(self, fixture: Fixture) -> None:
        state = MatchState()
        limit = self.match_timeout(fixture)
        deadline = time.monotonic() + limit if limit is not None else float("inf")
        self.in_flight[fixture.key] = _Flight(fixture, state, limit, deadline)

        def target() -> None:
            self._finished.put((fixture.key, self.play_one(fixture, state)))

        threading.Thread(target=target, daemon=True, name=f"arena-{fixture.key}").start()

    def _install_signals(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: self.interrupt())
        return previous

    def interrupt(self) -> None:
        """Stop: keep what finished, abandon what is in flight. Twice: exit now."""
        if self.interrupted:
            os._exit(130)
        self.interrupted = True
        for flight in self.in_flight.values():
            flight.state.cancelled = True
        self._finished.put(None)  # wake the main thread (SimpleQueue.put is reentrant)

    def match_timeout(self, fixture: Fixture) -> float | None:
        """The config's timeout, or with ``auto`` the most any seated agent asks for
        (a language model on a CPU may need minutes per match; ``None`` = no limit)."""
        if self.timeout != "auto":
            return self.timeout
        limits = [self.agent_timeouts[name] for name in fixture.agents]
        return None if None in limits else max(limits)

    def play_one(self, fixture: Fixture, state: MatchState | None = None) -> MatchResult:
        """Build the env and the agents and play one fixture; every failure is a record."""
        from envs import make_game

        state = state or MatchState()
        game = self.games[fixture.game]
        try:
            env = make_game(game.id, **game.args)
            # roles and zero scores first, so an agent that cannot be built forfeits a
            # record shaped like any other
            state.roles = ["solo"] if fixture.episodes else list(env.possible_agents)
            state.totals = dict.fromkeys(fixture.agents, 0.0)
            agents = build_agents([self.config.agent(n) for n in fixture.agents], state)
        except Forfeit as exc:
            return result_from(fixture, state, status=FORFEIT, error=str(exc), by=exc.agent)
        except Exception:  # noqa: BLE001 -- an engine or env failure voids this match only
            return result_from(fixture, state, status=FORFEIT, by=None,
                               error=f"match failed: {traceback.format_exc(limit=6).strip()}")
        try:
            return play_match(env, agents, game=game.id, seed=fixture.seed, fixture=fixture,
                              observer=self.observer, state=state)
        except Exception:  # noqa: BLE001 -- an engine or env failure voids this match only
            state.cancelled = True
            return result_from(fixture, state, status=FORFEIT, by=None,
                               error=f"match failed: {traceback.format_exc(limit=6).strip()}")
