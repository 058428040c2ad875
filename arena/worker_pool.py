"""The runner's side of the worker processes: start one, hand it a fixture, read its
progress, kill it. What runs inside a worker is :mod:`arena.worker`.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from arena.config import Config
from arena.records import Fixture
from arena.worker import CURRENT, ENTRY, HEAD, RING, ROUNDS, SLOTS, serve


def setup_for(config: Config, store: Path) -> dict[str, Any]:
    """What a fresh worker needs to know of this process to play ``config``'s matches:
    the run directory, the import path, the games and the agent classes, wherever they
    were registered."""
    import sys

    from arena.registry import FILE_MODULES, get_agent_class
    from envs import get_game

    classes = {}
    for spec in config.agents:
        cls = get_agent_class(spec.type)
        module = FILE_MODULES.get(cls.__module__, cls.__module__)  # a file: by its path
        classes[spec.type] = f"{module}:{cls.__qualname__}"
    return {"store": str(store), "path": list(sys.path), "plugins": list(config.plugins),
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


def lifeline() -> tuple[Connection, Connection]:
    """The pipe whose write end the run keeps, and whose read end every worker watches."""
    return _context().Pipe(duplex=False)


class Worker:
    """One worker process and its pipe and shared numbers, seen from the runner."""

    def __init__(self, config: Config, setup: dict[str, Any], lifeline: Connection) -> None:
        ctx = _context()
        self.conn, child = ctx.Pipe()
        self.shared = ctx.Array("d", SLOTS, lock=False)
        self.process = ctx.Process(target=serve, daemon=True, name="arena-worker",
                                   args=(config, child, self.shared, setup, lifeline))
        self.process.start()
        child.close()
        self.fixture: Fixture | None = None
        self.ready = False  # it has imported everything and waits for a fixture
        self.reported = 0  # ring entries already handed to the observer

    def start(self, fixture: Fixture) -> None:
        self.fixture, self.reported = fixture, 0
        self.shared[CURRENT], self.shared[ROUNDS], self.shared[HEAD] = -1, 0, 0
        self.conn.send(fixture)

    def blamed(self) -> str | None:
        """The agent being called right now, if any."""
        seat = int(self.shared[CURRENT])
        return self.fixture.agents[seat] if self.fixture and seat >= 0 else None

    def rounds(self) -> int:
        return int(self.shared[ROUNDS])

    def new_rounds(self, names: list[str]) -> list[dict[str, Any]]:
        """Rounds played since the last call (at most the last few), for the live view."""
        head = int(self.shared[HEAD])
        start = max(self.reported, head - 3)
        out = []
        agents = self.fixture.agents if self.fixture else ()
        for i in range(start, head):
            at = RING + (i % 3) * ENTRY
            rnd, a0, a1, s0, s1 = self.shared[at:at + ENTRY]
            out.append({"round": int(rnd), "moves": dict(zip(agents, (names[int(a0)],
                                                                      names[int(a1)]),
                                                             strict=True)),
                        "scores": dict(zip(agents, (s0, s1), strict=True))})
        self.reported = head
        return out

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        """Ask an idle worker to finish; kill it if it does not."""
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(1)
        self.kill()

