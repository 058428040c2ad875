"""Latency per decision: the seat times the agent's one call, every round logs it, the store
keeps it in ``rounds.latency_ms`` and ``arena export --rounds`` shows it; it is timing, not
a result, so runs differ in it and in nothing else."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
import time
from typing import Any

import numpy as np
from gymnasium.spaces import Discrete

from arena.agent import BaseAgent, RoundForfeit
from arena.export import export
from arena.match import play_match
from arena.records import FINISHED, Fixture
from arena.registry import make_agent
from arena.seats import FORFEITED, MatchState, Seat
from arena.store import Store
from envs import make_game
from tests.arena.test_runner import cfg, play
from tests.helpers import without_timing

PAUSE_MS = 30.0


class Slow(BaseAgent):
    """Sleeps ``pause`` seconds in every decision, then plays rock; every ``quit_every``-th
    decision it gives the round up after sleeping."""

    def __init__(self, *, name: str | None = None, pause: float = PAUSE_MS / 1000,
                 quit_every: int = 0) -> None:
        super().__init__(name=name)
        self.pause, self.quit_every = pause, quit_every

    def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
        time.sleep(self.pause)
        if self.quit_every and (self.decisions_made + 1) % self.quit_every == 0:
            raise RoundForfeit("not this one")
        probs = np.zeros(self.n_actions(action_space))
        probs[0] = 1.0
        return probs


def test_a_seat_times_the_agents_one_call_forfeits_included() -> None:
    agent = Slow(name="slow", quit_every=2)
    agent.reset(seed=0, action_names=["rock", "paper", "scissors"])
    seat = Seat(agent, "slow", "player_0", Discrete(3))
    assert seat.latency_ms is None
    start = time.perf_counter()
    assert seat.decision(None, MatchState()) == (0, [1.0, 0.0, 0.0])
    outside = (time.perf_counter() - start) * 1000
    assert PAUSE_MS <= seat.latency_ms <= outside
    seat.latency_ms = None
    assert seat.decision(None, MatchState()) == (FORFEITED, None)  # a round given up
    assert seat.latency_ms >= PAUSE_MS


def test_every_round_logs_how_long_each_agent_took() -> None:
    slow, fast = Slow(name="slow", quit_every=3), make_agent("uniform_random", name="fast")
    result = play_match(make_game("rps", rounds=6), [slow, fast], game="rps", seed=1)
    assert result.status == FINISHED and len(result.round_log) == 6
    for entry in result.round_log:
        latency = entry["latency_ms"]
        assert set(latency) == {"slow", "fast"}
        assert all(isinstance(v, float) for v in latency.values())
        assert latency["slow"] >= PAUSE_MS and 0 <= latency["fast"] < PAUSE_MS
    assert [e.get("forfeited") for e in result.round_log][2::3] == [["slow"], ["slow"]]


def test_a_solo_series_logs_every_step() -> None:
    lone = Slow(name="lone", pause=0.002)
    fixture = Fixture(key="numbers", index=0, game="random_number", agents=("lone",), seed=3,
                      episodes=2)
    result = play_match(make_game("random_number", length=3), [lone], game="random_number",
                        seed=3, fixture=fixture)
    assert result.status == FINISHED and len(result.round_log) == 6
    assert all(set(e["latency_ms"]) == {"lone"} and e["latency_ms"]["lone"] >= 2.0
               for e in result.round_log)


CONFIG = {"name": "lat", "games": [{"id": "rps", "args": {"rounds": 4}, "format": None}],
          "agents": [{"name": "slow", "type": "x", "options": {}, "games": None},
                     {"name": "fast", "type": "uniform_random", "options": {}, "games": None}]}


def played(rounds: int = 4) -> Any:
    slow, fast = Slow(name="slow", pause=0.001), make_agent("uniform_random", name="fast")
    fixture = Fixture(key="rps/slow-vs-fast/0", index=0, game="rps", agents=("slow", "fast"),
                      seed=2)
    return play_match(make_game("rps", rounds=rounds), [slow, fast], game="rps", seed=2,
                      fixture=fixture)


def test_the_store_keeps_each_latency_exactly_and_export_shows_it(tmp_path) -> None:
    result = played()
    with Store.create(tmp_path / "run", config=CONFIG) as store:
        store.save(result)
        stored = store.result("rps/slow-vs-fast/0", rounds=True)
        assert stored["round_log"] == result.round_log  # floats round-trip bit for bit
        rows = store.conn.execute("SELECT round, seat, latency_ms FROM rounds ORDER BY round, "
                                  "seat").fetchall()
        assert [r[2] for r in rows] == [e["latency_ms"][n] for e in result.round_log
                                        for n in ("slow", "fast")]
        out = io.StringIO()
        export(store, out, fmt="jsonl", rounds=True)
        row = json.loads(out.getvalue())
        assert [e["latency_ms"] for e in row["round_log"]] == [e["latency_ms"]
                                                              for e in result.round_log]
        out = io.StringIO()
        export(store, out, fmt="csv", rounds=True)
        assert "latency_ms" in out.getvalue().splitlines()[1]


def test_a_run_from_before_latencies_reads_with_none(tmp_path) -> None:
    result = played()
    with Store.create(tmp_path / "run", config=CONFIG) as store:
        store.save(result)
        store.conn.execute("UPDATE rounds SET latency_ms = NULL")  # what a migrated run holds
        entries = store.result("rps/slow-vs-fast/0", rounds=True)["round_log"]
    assert all("latency_ms" not in e for e in entries)
    assert entries == [without_timing({"round_log": [e]})["round_log"][0]
                       for e in result.round_log]


def test_two_runs_differ_in_timing_only(tmp_path) -> None:
    config = cfg([{"name": "rnd", "type": "uniform_random"}, {"name": "freq", "type": "frequency"}])
    first, _, _ = play(tmp_path, config, concurrency=1, name="one")
    second, _, _ = play(tmp_path, config, concurrency=2, name="two")
    assert all("latency_ms" in e for r in first for e in r["round_log"])
    assert [without_timing(r) for r in first] == [without_timing(r) for r in second]


def test_export_rounds_through_the_cli(tmp_path) -> None:
    config = tmp_path / "bots.yaml"
    config.write_text("name: bots\nseed: 1\ngame: {id: rps, rounds: 5}\n"
                      "format: {type: round_robin, matches: 1}\n"
                      "agents:\n  - {name: a, type: uniform_random}\n"
                      "  - {name: b, type: frequency}\n")
    run = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "arena.cli", "run", str(config), "--out",
                           str(run), "--no-live"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([sys.executable, "-m", "arena.cli", "export", str(run), "--rounds"],
                          capture_output=True, text=True, timeout=300)
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 2
    for row in rows:
        assert all(set(e["latency_ms"]) == {"a", "b"} for e in row["round_log"])
    with sqlite3.connect(run / "arena.db") as conn:
        nulls = conn.execute("SELECT COUNT(*) FROM rounds WHERE latency_ms IS NULL").fetchone()
    assert nulls == (0,)
