"""One match as a Ray task: what runs on a cluster's worker, and what it sends back.

:func:`play_streamed` is the body of the task (:mod:`arena.slot_ray` starts it as a
streaming generator). It learns the run's games and agent types once per worker
process (:func:`adopt`), plays the fixture in a thread with
:func:`arena.fixture.play_fixture`, and yields plain data while it plays:

- ``("began", {"node": ..., "pid": ...})`` first: the match runs now, there (its time
  limit counts from here, not from when the task was queued);
- ``("state", {"current": ..., "rounds": ...})`` every :data:`PROGRESS_SECONDS` while it
  changed: the agent being called (whom a timeout blames) and the rounds played;
- the events of :mod:`arena.slots` (``Started``, ``Progress``, ``Log``), and last
  ``Finished`` with the whole record, or ``Unfinished`` when a service the agents need
  is gone.

The worker never touches the run's store: the driver saves every record, so a worker
killed mid-match (a timeout's ``ray.cancel(force=True)``, ``kill -9``, a lost node)
leaves nothing half-written.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
from collections.abc import Iterator
from typing import Any

from arena.agent import ServiceUnavailable
from arena.config import Config
from arena.fixture import play_fixture
from arena.records import Fixture
from arena.seats import MatchState
from arena.slots import Event, Finished, Log, Progress, Started, Unfinished

#: how often a playing match reports how far it got
PROGRESS_SECONDS = 0.1
#: an agent's log records forwarded per match; the rest are dropped
LOG_RECORDS = 20
#: round events kept between two reports: the live view shows the newest rounds
ROUNDS_KEPT = 3
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


class _Recorder(logging.Handler):
    """The match's observer and its agents' log handler: events for the next report."""

    def __init__(self, state: MatchState, *, node: str, show_rounds: bool) -> None:
        super().__init__()
        self.state, self.node, self.show_rounds = state, node, show_rounds
        self.guard = threading.Lock()  # not `lock`: the Handler's own, held around emit()
        self.events: list[Event] = []
        self.logged = 0

    def take(self) -> list[Event]:
        with self.guard:
            events, self.events = self.events, []
        return events

    def match_started(self, **info: Any) -> None:
        with self.guard:
            self.events.append(Started({**info, "node": self.node}))

    def round_played(self, *, key: str, round: int, moves: dict[str, str],
                     scores: dict[str, float]) -> None:
        log = self.state.round_log
        entries = ([e for e in log if e.get("episode") == round - 1] if len(moves) == 1
                   else log[-1:])
        seconds = {name: sum(e["latency_ms"][name] for e in entries) / 1000 for name in moves}
        shown = self.show_rounds
        event = Progress(round, seconds, dict(moves) if shown else None,
                         dict(scores) if shown else None)
        with self.guard:
            rounds = [i for i, e in enumerate(self.events) if isinstance(e, Progress)]
            if len(rounds) >= ROUNDS_KEPT:
                del self.events[rounds[0]]
            self.events.append(event)

    def emit(self, record: logging.LogRecord) -> None:
        with self.guard:
            if self.logged >= LOG_RECORDS:
                return
            self.logged += 1
            self.events.append(Log({"name": record.name, "levelno": record.levelno,
                                    "levelname": record.levelname, "msg": record.getMessage(),
                                    "args": None, "created": record.created}))


def node_label() -> str:
    """Which node this process is on, for the live view: its address and the start of
    its Ray node id."""
    import ray

    node = ray.get_runtime_context().get_node_id()[:6]
    return f"{ray.util.get_node_ip_address()}/{node}"


def play_streamed(config: Config, fixture: Fixture,
                  setup: dict[str, Any]) -> Iterator[Any]:
    """Play ``fixture`` here, yielding what the module docstring lists."""
    adopt(setup)
    node = node_label()
    yield "began", {"node": node, "pid": os.getpid()}
    state = MatchState()
    recorder = _Recorder(state, node=node, show_rounds=setup["rounds"])
    logging.root.addHandler(recorder)
    outcome: list[Event] = []
    over = threading.Event()

    def play() -> None:
        try:
            outcome.append(Finished(play_fixture(config, fixture, state=state,
                                                 observer=recorder)))
        except ServiceUnavailable as exc:
            outcome.append(Unfinished(" ".join(str(exc).split())))
        finally:
            over.set()

    threading.Thread(target=play, daemon=True, name=f"arena-{fixture.key}").start()
    last: tuple[Any, ...] = ()
    try:
        while True:
            finished = over.wait(PROGRESS_SECONDS)
            now = (state.current, state.rounds)
            if now != last:
                last = now
                yield "state", {"current": now[0], "rounds": now[1]}
            # one by one: Ray's streaming wrapper cannot delegate (`yield from`) to a list
            for event in recorder.take():  # noqa: UP028
                yield event
            if finished:
                break
    finally:
        logging.root.removeHandler(recorder)
    yield outcome[0]
