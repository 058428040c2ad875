"""Process slots: matches in forkserver worker processes, seen from the run.

A :class:`ProcessSlot` is one worker process (what runs inside it is
:mod:`arena.worker`), its pipe and its shared numbers. It hands its worker a fixture,
turns what the worker sends and writes into the events of :mod:`arena.slots`, notices
when the worker dies, and kills it at a timeout. :class:`ProcessPlaces` keeps the
workers: an idle one takes the next match, and a fresh one starts when none is idle, up
to :data:`WORKERS_PER_CORE` for each core this process may use.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from arena.config import Config
from arena.errors import ArenaError
from arena.game_facts import game_facts
from arena.match import result_from
from arena.records import FORFEIT, RETRYABLE_DIED, Fixture, MatchResult
from arena.seats import MatchState
from arena.slots import (
    Began,
    Event,
    Finished,
    Log,
    Notice,
    Progress,
    Started,
    Unfinished,
    stopped_record,
)
from arena.worker import CURRENT, ENTRY, HEAD, RING, RING_SIZE, ROUNDS, SHARED, serve

#: worker processes per available core: a match waiting on something outside (a server,
#: a file, a timeout) leaves its core to others, but a process costs memory
WORKERS_PER_CORE = 4


def available_cores() -> int:
    """The CPU cores this process may use: its affinity, under any cgroup CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    for path in ("/sys/fs/cgroup/cpu.max", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"):
        try:
            fields = Path(path).read_text().split()
            if path.endswith("cpu.max"):
                quota, period = fields[0], fields[1]
            else:
                quota = fields[0]
                period = Path(path).with_name("cpu.cfs_period_us").read_text().split()[0]
            if quota not in ("max", "-1"):
                cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
        except (OSError, IndexError, ValueError):
            continue
    return max(1, cores)


def setup_for(config: Config) -> dict[str, Any]:
    """What a fresh worker needs to know of this process to play ``config``'s matches:
    the import path, the games and the agent classes, wherever they were registered."""
    import sys

    from arena.registry import FILE_MODULES, get_agent_class
    from envs import get_game

    classes = {}
    for spec in config.agents:
        cls = get_agent_class(spec.type)
        module = FILE_MODULES.get(cls.__module__, cls.__module__)  # a file: by its path
        classes[spec.type] = f"{module}:{cls.__qualname__}"
    return {"path": list(sys.path), "plugins": list(config.plugins),
            "games": [get_game(g.id) for g in config.games], "classes": classes}


def importable(config: Config) -> bool:
    """Whether a worker can build every agent of ``config`` (a class defined inside a
    function, or in a script run as ``__main__``, lives only in this process)."""
    from arena.registry import get_agent_class

    for spec in config.agents:
        cls = get_agent_class(spec.type)
        if "<locals>" in cls.__qualname__ or cls.__module__ == "__main__":
            return False
    return True


_CONTEXT: Any = None


def _context() -> Any:
    """The forkserver, started once with the engine already imported."""
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = multiprocessing.get_context("forkserver")
        # imported once in the server, so a new worker (also one replacing a killed
        # worker) starts in a fraction of a second
        _CONTEXT.set_forkserver_preload(["arena.worker", "envs", "agents", "scipy.optimize",
                                         "gymnasium.spaces", "pettingzoo"])
    return _CONTEXT


class ProcessSlot:
    """One worker process and its pipe and shared numbers (see :class:`arena.slots.Slot`)."""

    def __init__(self, config: Config, setup: dict[str, Any], lifeline: Connection, *,
                 show_rounds: bool) -> None:
        ctx = _context()
        self.config, self.show_rounds = config, show_rounds
        self.conn, child = ctx.Pipe()
        self.shared = ctx.Array("d", SHARED, lock=False)
        self.process = ctx.Process(target=serve, daemon=True, name="arena-worker",
                                   args=(config, child, self.shared, setup, lifeline))
        self.process.start()
        child.close()
        self.booted = False
        self.fixture: Fixture | None = None
        self._began = False
        self._announced = False  # the worker said the match started: its rounds may follow
        self._reported = 0  # ring entries already turned into events

    def start(self, fixture: Fixture) -> None:
        self.fixture, self._reported = fixture, 0
        self._began = self._announced = False
        self.shared[CURRENT], self.shared[ROUNDS], self.shared[HEAD] = -1, 0, 0
        self.conn.send(fixture)  # a worker still starting reads it once it is ready

    def waitables(self) -> list[Any]:
        return [self.conn, self.process.sentinel]

    def blamed(self) -> str | None:
        seat = int(self.shared[CURRENT])
        return self.fixture.agents[seat] if self.fixture and seat >= 0 else None

    @property
    def idle(self) -> bool:
        return self.fixture is None and self.process.is_alive()

    def poll(self) -> list[Event]:
        events: list[Event] = []
        try:
            while self.conn.poll():
                kind, payload = self.conn.recv()
                if kind == "ready":
                    self.booted = True
                elif kind == "started":
                    events.append(Started(payload))
                    self._announced = True
                elif kind == "round":  # a solo series' episode
                    events.append(Progress(payload["round"], payload["seconds"],
                                           *((payload["moves"], payload["scores"])
                                             if self.show_rounds else (None, None))))
                elif kind == "log":
                    events.append(Log(payload))
                elif kind == "output":
                    events.append(Notice(self._output(payload)))
                elif kind in ("done", "down"):
                    events[:0] = self._began_now()
                    events += self._rounds(settled=True)
                    events.append(Finished(payload) if kind == "done" else Unfinished(payload))
                    self.fixture = None
                    return events
        except (EOFError, OSError):
            pass
        events[:0] = self._began_now()
        events += self._rounds()
        if self.process.is_alive():
            return events
        if not self.booted:
            raise ArenaError(f"a worker process could not start (exit code "
                             f"{self.process.exitcode}); see the messages above")
        if self.fixture is not None:
            who = self.blamed()
            blame = f"while {who} was deciding" if who else "between decisions"
            error = f"{RETRYABLE_DIED} (exit code {self.process.exitcode}) {blame}"
            events.append(Finished(result_from(self.fixture, self._state(), status=FORFEIT,
                                               by=who, error=error)))
            self.fixture = None
        return events

    def _began_now(self) -> list[Event]:
        if self.booted and self.fixture is not None and not self._began:
            self._began = True
            return [Began()]
        return []

    def _rounds(self, *, settled: bool = False) -> list[Event]:
        """Rounds played since the last call (at most the last few), from shared memory.
        ``settled``: the worker has finished the match and writes no more."""
        if self.fixture is None or not self._announced or self.fixture.episodes:
            return []
        head = int(self.shared[HEAD])
        agents = self.fixture.agents
        names = game_facts(self.config.game(self.fixture.game)).action_names
        entries = []
        for i in range(max(self._reported, head - RING_SIZE), head):
            at = RING + (i % RING_SIZE) * ENTRY
            entries.append((i, self.shared[at:at + ENTRY]))
        # the worker goes on writing while we read: an entry whose slot it may have begun
        # to reuse since (it writes entry i + RING_SIZE before moving the head past it)
        # may be torn or newer, so it is left out; the rounds shown stay in order
        now = head if settled else int(self.shared[HEAD])
        events: list[Event] = []
        for i, entry in entries:
            if i + RING_SIZE <= now:
                continue
            rnd, a0, a1, s0, s1, l0, l1 = entry
            moves = scores = None
            if self.show_rounds:
                moves = dict(zip(agents, (names[int(a0)], names[int(a1)]), strict=True))
                scores = dict(zip(agents, (s0, s1), strict=True))
            events.append(Progress(int(rnd), dict(zip(agents, (l0, l1), strict=True)),
                                   moves, scores))
        self._reported = head
        return events

    def _output(self, output: dict[str, Any]) -> str:
        """What a match's agents printed: a count and the last line, never a flood."""
        assert self.fixture is not None
        last = next((line for line in reversed(output["tail"].splitlines()) if line.strip()),
                    "")
        more = (f", {output['logs_dropped']} log records not shown"
                if output["logs_dropped"] else "")
        return (f"{self.fixture.key}: the agents printed {output['lines']} lines{more}"
                + (f"; last: {last[:120]}" if last else ""))

    def kill(self, reason: str) -> MatchResult:
        self.stop_process()
        assert self.fixture is not None
        record = stopped_record(self.fixture, self._state(), by=self.blamed(), reason=reason)
        self.fixture = None
        return record

    def _state(self) -> MatchState:
        """This slot's match as far as its shared numbers tell (its rounds died with the
        worker)."""
        assert self.fixture is not None
        state = MatchState()
        state.rounds = int(self.shared[ROUNDS])
        state.roles = list(game_facts(self.config.game(self.fixture.game)).roles)
        state.totals = dict.fromkeys(self.fixture.agents, 0.0)
        return state

    def stop_process(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()

    def close(self) -> None:
        """Ask an idle worker to finish; kill it if it does not (or is not idle)."""
        if self.idle and self.booted:
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.process.join(1)
        self.stop_process()


class ProcessPlaces:
    """The run's worker processes: matches of agents that a worker can build."""

    in_process: frozenset[str] = frozenset()  # a worker's memory is its own

    def __init__(self, config: Config, *, shared: set[str], show_rounds: bool,
                 limit: int | None = None) -> None:
        self.config, self.shared, self.show_rounds = config, shared, show_rounds
        self.cores = available_cores()
        self.capacity = limit or WORKERS_PER_CORE * self.cores
        self.idle: list[ProcessSlot] = []
        self.busy: list[ProcessSlot] = []
        self.pids: list[int] = []  # every worker process this run started
        self._setup: dict[str, Any] | None = None
        self._lifeline: tuple[Connection, Connection] | None = None

    def takes(self, fixture: Fixture) -> bool:
        return not any(name in self.shared for name in fixture.agents)

    def open(self, wake: Callable[[], None]) -> None:
        """Workers need no waking: their pipes and sentinels are waited on."""

    def limit_notice(self, concurrency: int, fixtures: int) -> str | None:
        if min(concurrency, fixtures) <= self.capacity:
            return None
        return (f"at most {self.capacity} worker processes at once, not {concurrency}: "
                f"this machine has {self.cores} core{'s' * (self.cores != 1)} available")

    def slot(self) -> ProcessSlot | None:
        while self.idle:
            slot = self.idle.pop()
            if slot.idle:  # else it died waiting (killed from outside)
                self.busy.append(slot)
                return slot
            slot.stop_process()
        if len(self.busy) >= self.capacity:
            return None
        if self._setup is None:
            self._setup = setup_for(self.config)
        if self._lifeline is None:
            # the write end stays here: every worker ends when it closes (the run's death)
            self._lifeline = _context().Pipe(duplex=False)
        slot = ProcessSlot(self.config, self._setup, self._lifeline[0],
                           show_rounds=self.show_rounds)
        self.pids.append(slot.process.pid)
        self.busy.append(slot)
        return slot

    def release(self, slot: Any) -> None:
        self.busy.remove(slot)
        if slot.idle:
            self.idle.append(slot)
        else:
            slot.stop_process()

    def close(self) -> None:
        for slot in self.busy + self.idle:
            slot.close()
        self.busy.clear()
        self.idle.clear()
        if self._lifeline is not None:
            for end in self._lifeline:
                end.close()
            self._lifeline = None
