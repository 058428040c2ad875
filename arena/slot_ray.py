"""Ray slots: bots' matches as tasks on a Ray cluster, seen from the run.

A :class:`RaySlot` is one match as a streaming Ray task (its body is
:func:`arena.ray_match.play_streamed`): it turns what the task yields into the events
of :mod:`arena.slots`, keeps the agent being called and the rounds played, and at a
timeout cancels the task with ``ray.cancel(force=True)`` (the worker process is killed,
and its agent stops at once). A task whose worker dies (``kill -9``, out of memory, a
lost node) is the same retryable forfeit as a worker process that ended: its error
begins with :data:`~arena.records.RETRYABLE_DIED`, and ``--resume --retry-forfeits``
replays it with its seed. The task never saves anything: its record comes back as
plain data and the runner saves it, as for every other slot.

:class:`RayPlaces` starts the slots, and a thread that waits on every task in flight
and wakes the runner as soon as one has news (Ray's objects are not file descriptors
the runner could wait on).
"""

from __future__ import annotations

import hashlib
import pickle
import threading
from collections.abc import Callable
from typing import Any

from arena.config import Config
from arena.match import result_from
from arena.records import FORFEIT, RETRYABLE_DIED, Fixture, MatchResult
from arena.seats import MatchState
from arena.slots import Began, Event, Finished, Unfinished, stopped_record

#: the longest the waiting thread sleeps before it looks at new tasks
WAIT_SECONDS = 0.2


class RaySlot:
    """One match as a task on the cluster (see :class:`arena.slots.Slot`)."""

    def __init__(self, places: RayPlaces) -> None:
        self.places = places
        self.fixture: Fixture | None = None
        self.stream: Any = None
        self.current: str | None = None
        self.rounds = 0
        self.node: str | None = None

    def start(self, fixture: Fixture) -> None:
        self.fixture, self.current, self.rounds, self.node = fixture, None, 0, None
        self.stream = self.places.submit(fixture)

    def poll(self) -> list[Event]:
        ray = self.places.ray
        events: list[Event] = []
        while self.fixture is not None:
            ready, _ = ray.wait([self.stream], timeout=0)
            if not ready:
                break
            try:
                item = ray.get(next(self.stream))
            except ray.exceptions.RayTaskError as exc:  # the task's own code failed
                events.append(self._ended(Finished(self._record(
                    by=None, error=f"match failed on the cluster: {_line(exc)}"))))
            except (ray.exceptions.RayError, StopIteration) as exc:  # its worker is gone
                events.append(self._ended(Finished(self._died(exc))))
            else:
                events += self._read(item)
        self.places.polled()
        return events

    def _died(self, exc: BaseException) -> MatchResult:
        """The retryable forfeit of a task whose worker or node is gone (or that ended
        without a record), blamed on the agent it last said it was calling."""
        who = self.current
        blame = f"while {who} was deciding" if who else "between decisions"
        where = f" on {self.node}" if self.node else ""
        return self._record(by=who, error=f"{RETRYABLE_DIED} (Ray: {type(exc).__name__}"
                            f"{where}) {blame}")

    def _read(self, item: Any) -> list[Event]:
        if isinstance(item, tuple):
            kind, payload = item
            if kind == "began":
                self.node = payload["node"]
                return [Began()]
            self.current, self.rounds = payload["current"], payload["rounds"]
            return []
        if isinstance(item, Finished | Unfinished):
            return [self._ended(item)]
        return [item]

    def _ended(self, event: Event) -> Event:
        self.fixture = None
        self.stream = None
        return event

    def _state(self) -> MatchState:
        """The match as far as the task reported it (its rounds died with it)."""
        assert self.fixture is not None
        from arena.game_facts import game_facts

        state = MatchState()
        state.rounds = self.rounds
        state.roles = list(game_facts(self.places.config.game(self.fixture.game)).roles)
        state.totals = dict.fromkeys(self.fixture.agents, 0.0)
        return state

    def _record(self, *, by: str | None, error: str) -> MatchResult:
        assert self.fixture is not None
        return result_from(self.fixture, self._state(), status=FORFEIT, by=by, error=error)

    def blamed(self) -> str | None:
        return self.current

    def kill(self, reason: str) -> MatchResult:
        assert self.fixture is not None
        if self.stream is not None:
            self.places.ray.cancel(self.stream, force=True)
        record = stopped_record(self.fixture, self._state(), by=self.current, reason=reason)
        self._ended(Unfinished(None))
        return record

    def waitables(self) -> list[Any]:
        return []  # the places' waiting thread wakes the runner


def _line(exc: BaseException) -> str:
    """The exception a task raised, in one line (without Ray's coloured wrapper)."""
    cause = getattr(exc, "cause", None) or exc
    return f"{type(cause).__name__}: {' '.join(str(cause).split())}"[:300]


def ray_setup(config: Config, shipped: dict[str, str], *, show_rounds: bool) -> dict[str, Any]:
    """What a worker on the cluster needs to play ``config``'s bots: the games, the agent
    types (a file type by its original path) and where each shipped file went."""
    from arena.registry import FILE_MODULES, get_agent_class
    from envs import get_game

    classes = {}
    for spec in config.agents:
        cls = get_agent_class(spec.type)
        module = FILE_MODULES.get(cls.__module__, cls.__module__)
        classes[spec.type] = f"{module}:{cls.__qualname__}"
    games = pickle.dumps([get_game(g.id) for g in config.games])
    digest = hashlib.blake2b(games + repr(sorted(classes.items())).encode()
                             + repr(sorted(shipped.items())).encode(), digest_size=8)
    return {"id": digest.hexdigest(), "games": games, "classes": classes, "files": shipped,
            "rounds": show_rounds}


def files_to_ship(config: Config) -> list[str]:
    """The run's plugin files and the files of its ``file.py:Class`` agent types."""
    from arena.registry import FILE_MODULES, get_agent_class

    files = list(config.plugins)
    for spec in config.agents:
        module = get_agent_class(spec.type).__module__
        if module in FILE_MODULES:
            files.append(FILE_MODULES[module])
    return list(dict.fromkeys(files))


class RayPlaces:
    """Tasks on the run's Ray cluster: matches whose agents all play in tasks (bots)."""

    capacity = None  # the cluster queues what it cannot run yet
    in_process: frozenset[str] = frozenset()  # a task's memory is its node's, not the run's

    def __init__(self, config: Config, ray: Any, *, shared: set[str], setup: dict[str, Any],
                 cpus_per_match: float = 1.0) -> None:
        self.config, self.ray, self.shared = config, ray, shared
        from arena.ray_match import play_streamed

        self._task = ray.remote(play_streamed).options(
            num_returns="streaming", num_cpus=cpus_per_match, max_retries=0,
            name="arena_match")
        self.cpus_per_match = cpus_per_match
        self._config_ref = ray.put(config)
        self._setup_ref = ray.put(setup)
        self.busy: list[RaySlot] = []
        self._lock = threading.Lock()
        self._polled = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self.wake: Callable[[], None] = lambda: None

    def takes(self, fixture: Fixture) -> bool:
        return not any(name in self.shared for name in fixture.agents)

    def open(self, wake: Callable[[], None]) -> None:
        self.wake = wake
        self._thread = threading.Thread(target=self._watch, daemon=True, name="arena-ray-wait")
        self._thread.start()

    def limit_notice(self, concurrency: int, fixtures: int) -> str | None:
        if not fixtures or not self.cpus_per_match:
            return None
        cpus = self.ray.cluster_resources().get("CPU", 0.0)
        room = int(cpus // self.cpus_per_match)
        if min(concurrency, fixtures) <= room:
            return None
        return (f"the Ray cluster has {cpus:g} CPUs: at most {room} bot matches run at once "
                f"({self.cpus_per_match:g} CPU each), the rest wait in its queue")

    def slot(self) -> RaySlot:
        slot = RaySlot(self)
        with self._lock:
            self.busy.append(slot)
        return slot

    def submit(self, fixture: Fixture) -> Any:
        stream = self._task.remote(self._config_ref, fixture, self._setup_ref)
        self._polled.set()  # the waiting thread takes the new task into its wait
        return stream

    def polled(self) -> None:
        self._polled.set()

    def release(self, slot: Any) -> None:
        with self._lock:
            if slot in self.busy:
                self.busy.remove(slot)

    def _watch(self) -> None:
        """Wake the runner when a task in flight has something to say."""
        while not self._closed.is_set():
            with self._lock:
                streams = [s.stream for s in self.busy if s.stream is not None]
            if not streams:
                self._polled.wait(WAIT_SECONDS)
                self._polled.clear()
                continue
            try:
                ready, _ = self.ray.wait(streams, num_returns=1, timeout=WAIT_SECONDS)
            except Exception:  # noqa: BLE001 -- a stream that ended meanwhile; look again
                ready = []
            if ready and not self._closed.is_set():
                self._polled.clear()
                self.wake()
                self._polled.wait(WAIT_SECONDS)  # until the runner has read it

    def close(self) -> None:
        """Stop every task still in flight (their records were taken by ``kill``)."""
        self._closed.set()
        self._polled.set()
        with self._lock:
            busy, self.busy = self.busy, []
        for slot in busy:
            if slot.stream is not None:
                self.ray.cancel(slot.stream, force=True)
                slot.stream = None
        if self._thread is not None:
            self._thread.join(2 * WAIT_SECONDS + 1)
