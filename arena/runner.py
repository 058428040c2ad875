"""Plays a schedule: matches as asyncio tasks, at most ``concurrency`` in flight.

A match whose agents are all synchronous runs start to finish in its own daemon thread
(no event-loop hop per round); a match with an ``async`` agent runs on the loop, and its
synchronous calls go to a per-match daemon thread. Daemon threads, not the default
executor, so an agent stuck in ``while True`` never holds the process at exit: the
match times out, is recorded as a forfeit by the agent that was being called, and the
run goes on.

Each finished match is saved in its own transaction as soon as it ends. Ctrl-C (or
SIGTERM) stops taking new matches, abandons those in flight, and returns with
``interrupted=True``; a second Ctrl-C exits at once. Results depend only on the config
and the match seeds, so any concurrency, order or resume gives the same records.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import sys
import threading
import traceback
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from arena.calls import MatchState, Offload, settle
from arena.config import Config
from arena.match import play, result_from
from arena.records import FORFEIT, MatchResult
from arena.registry import get_agent_class
from arena.schedule import Fixture
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


def _has_async(cls: type) -> bool:
    return any(inspect.iscoroutinefunction(getattr(cls, method, None))
               for method in ("act", "policy", "reset"))


class GuardedObserver:
    """Forwards to the run's observer; a display error is reported once, never fatal.

    A bug in the live view must not forfeit matches or stop a run: results come first.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.failed = False

    def _call(self, method: str, *args: Any, **kwargs: Any) -> None:
        if self.failed:
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
        if not self.failed:
            self._call("run_finished", **kwargs)
            return
        try:  # still give a live display the chance to restore the terminal
            self.inner.run_finished(**kwargs)
        except Exception:  # noqa: BLE001, S110 -- already reported once; say nothing more
            pass


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
        self.async_agents = {a.name for a in config.agents if _has_async(get_agent_class(a.type))}
        self.in_flight: dict[str, MatchState] = {}
        self.interrupted = False
        self._workers: list[asyncio.Task] = []

    async def run(self) -> RunOutcome:
        done = self.store.finished_keys()
        pending = deque(f for f in self.fixtures if f.key not in done)
        already = len(self.fixtures) - len(pending)
        self.observer.run_started(name=self.config.name, total=len(self.fixtures), done=already)
        for message in self.notices:
            self.observer.notice(message)
        loop = asyncio.get_running_loop()
        installed = self._install_signals(loop)
        played = [0]
        try:
            self._workers = [asyncio.create_task(self._worker(pending, played))
                             for _ in range(min(self.concurrency, len(pending)))]
            await asyncio.gather(*self._workers, return_exceptions=False)
        except asyncio.CancelledError:
            if not self.interrupted:
                raise
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
            self.observer.run_finished(interrupted=self.interrupted)
        return RunOutcome(total=len(self.fixtures), already_done=already, played=played[0],
                          interrupted=self.interrupted)

    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> list[int]:
        if threading.current_thread() is not threading.main_thread():
            return []
        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.interrupt)
                installed.append(sig)
            except (NotImplementedError, RuntimeError):
                continue
        return installed

    def interrupt(self) -> None:
        """Stop: keep what finished, abandon what is in flight. Twice: exit now."""
        if self.interrupted:
            os._exit(130)
        self.interrupted = True
        for state in self.in_flight.values():
            state.cancelled = True
        for task in self._workers:
            task.cancel()

    async def _worker(self, pending: deque[Fixture], played: list[int]) -> None:
        while pending and not self.interrupted:
            fixture = pending.popleft()
            result = await self.play_one(fixture)
            self.store.save(result)
            played[0] += 1
            self.observer.match_finished(result)

    def match_timeout(self, fixture: Fixture) -> float | None:
        """The config's timeout, or with ``auto`` the most any seated agent asks for
        (a language model on a CPU may need minutes per match; ``None`` = no limit)."""
        if self.timeout != "auto":
            return self.timeout
        limits = [self.agent_timeouts[name] for name in fixture.agents]
        return None if None in limits else max(limits)

    async def play_one(self, fixture: Fixture) -> MatchResult:
        """Play one fixture under the timeout; every failure becomes a forfeit record."""
        specs = [self.config.agent(n) for n in fixture.agents]
        game = self.games[fixture.game]
        state = MatchState()
        self.in_flight[fixture.key] = state
        loop = asyncio.get_running_loop()
        offload = None
        try:
            if any(n in self.async_agents for n in fixture.agents):
                offload = Offload(loop)
                job = play(fixture, game, specs, observer=self.observer, state=state,
                           offload=offload)
            else:
                job = _in_thread(loop, play(fixture, game, specs, observer=self.observer,
                                            state=state))
            limit = self.match_timeout(fixture)
            return await asyncio.wait_for(job, limit)
        except (TimeoutError, asyncio.TimeoutError):  # distinct classes before Python 3.11
            state.cancelled = True
            who = state.current
            blame = f"{who} did not answer" if who else "the match did not finish"
            return result_from(fixture, state, status=FORFEIT, by=who,
                               error=f"timed out after {limit:g} s: {blame}")
        except asyncio.CancelledError:
            state.cancelled = True
            raise
        except Exception:  # noqa: BLE001 -- an engine or env failure voids this match only
            state.cancelled = True
            return result_from(fixture, state, status=FORFEIT, by=None,
                               error=f"match failed: {traceback.format_exc(limit=6).strip()}")
        finally:
            self.in_flight.pop(fixture.key, None)
            if offload is not None:
                offload.close()


def _in_thread(loop: asyncio.AbstractEventLoop, coro: Any) -> asyncio.Future:
    """Drive a coroutine that never suspends to completion in a daemon thread."""
    fut = loop.create_future()

    def target() -> None:
        value, error = None, None
        try:
            coro.send(None)
        except StopIteration as stop:
            value = stop.value
        except BaseException as exc:  # noqa: BLE001 -- handed to the awaiting task
            error = exc
        else:
            coro.close()
            error = RuntimeError("a synchronous match tried to suspend")
        try:
            loop.call_soon_threadsafe(settle, fut, value, error)
        except RuntimeError:
            pass  # the loop is gone: the run ended while this match was abandoned

    threading.Thread(target=target, daemon=True, name="arena-match").start()
    return fut

