"""One match as a Ray task: what runs on a cluster's worker, and what it sends back.

:func:`play_streamed` is the body of the task (:mod:`arena.slot_ray` starts it as a
streaming generator). It learns the run's games and agent types once per worker
process (:func:`adopt`), plays the fixture in a thread with :func:`arena.fixture.play_fixture`
and yields plain events while it plays:

``("began", {"node": ..., "pid": ...})``  the match runs now, here (its clock starts);
``("started", info)``                     what ``match_started`` tells the live view;
``("progress", {...})``                   every :data:`PROGRESS_SECONDS` while something
                                          changed: the agent being called, rounds played,
                                          the latest rounds' moves and scores;
``("log", record)``                       an agent's log record (the first few per match);
``("done", result)``                      the whole :class:`~arena.records.MatchResult`;
``("down", reason)``                      a service the agents need is gone: no record.

The worker never touches the run's store: the driver saves every record, so a worker
killed mid-match (a timeout's ``ray.cancel(force=True)``, ``kill -9``, a lost node)
leaves nothing half-written.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

from arena.agent import ServiceUnavailable
from arena.config import Config
from arena.fixture import play_fixture
from arena.records import Fixture
from arena.seats import MatchState

#: how often a playing match reports how far it got
PROGRESS_SECONDS = 0.1
#: an agent's log records forwarded per match; the rest are counted
LOG_RECORDS = 20
#: the runs whose setup this worker process has adopted
_ADOPTED: set[str] = set()


def adopt(setup: dict[str, Any]) -> None:
    """The run's plugin files (from the copies shipped with the job), games and agent
    types, once per worker process."""
    if setup["id"] in _ADOPTED:
        return
    import envs
    from arena.ray_cluster import shipped_files
    from arena.registry import adopt_class, load_file, registered

    copies = shipped_files(setup["files"])
    # under the original path's name: a file type or a plugin game resolves as on the driver
    for original, copy in copies.items():
        load_file(original, source=copy)
    for spec in pickle.loads(setup["games"]):  # after the plugins that may define them
        if spec.id not in envs.GAMES:
            envs.register_game(spec)
    for type_name, path in setup["classes"].items():
        adopt_class(type_name, path)
    registered()
    _ADOPTED.add(setup["id"])


class _Recorder:
    """What the match reports, kept for the next progress event."""

    def __init__(self, rounds: bool) -> None:
        self.rounds = rounds
        self.lock = threading.Lock()
        self.started: dict[str, Any] | None = None
        self.recent: deque[dict[str, Any]] = deque(maxlen=3)

    def match_started(self, **info: Any) -> None:
        with self.lock:
            self.started = info

    def round_played(self, *, key: str, round: int, moves: dict[str, str],
                     scores: dict[str, float]) -> None:
        if self.rounds:
            with self.lock:
                self.recent.append({"round": round, "moves": dict(moves),
                                    "scores": dict(scores)})


class _Logs(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        with self.lock:
            if len(self.records) >= LOG_RECORDS:
                self.dropped += 1
                return
            self.records.append({"name": record.name, "levelno": record.levelno,
                                 "levelname": record.levelname, "msg": record.getMessage(),
                                 "args": None, "created": record.created})


def _node() -> str:
    """Which node this is, for the live view: its address and the start of its id."""
    import ray

    context = ray.get_runtime_context()
    return f"{ray.util.get_node_ip_address()}/{context.get_node_id()[:6]}"


def play_streamed(config: Config, fixture: Fixture,
                  setup: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Play ``fixture`` here, yielding the events above; the last is ``done`` or ``down``."""
    adopt(setup)
    yield "began", {"node": _node(), "pid": os.getpid()}
    state = MatchState()
    recorder = _Recorder(setup.get("rounds", True))
    logs = _Logs()
    logging.root.addHandler(logs)
    outcome: list[tuple[str, Any]] = []
    over = threading.Event()

    def play() -> None:
        try:
            outcome.append(("done", play_fixture(config, fixture, state=state,
                                                 observer=recorder)))
        except ServiceUnavailable as exc:
            outcome.append(("down", " ".join(str(exc).split())))
        finally:
            over.set()

    threading.Thread(target=play, daemon=True, name=f"arena-{fixture.key}").start()
    announced = False
    last: tuple[Any, ...] = ()
    try:
        while True:
            finished = over.wait(PROGRESS_SECONDS)
            with recorder.lock:
                started, recent = recorder.started, list(recorder.recent)
                recorder.recent.clear()
            if started is not None and not announced:
                announced = True
                yield "started", started
            with logs.lock:
                records, logs.records = logs.records, []
            for record in records:
                yield "log", record
            now = (state.current, state.rounds)
            if recent or now != last:
                last = now
                yield "progress", {"current": state.current, "rounds": state.rounds,
                                   "recent": recent}
            if finished:
                break
    finally:
        logging.root.removeHandler(logs)
    yield outcome[0]
