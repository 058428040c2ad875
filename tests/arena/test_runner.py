"""The runner and the match loop, in-process: determinism, faults, white-box, solo."""

from __future__ import annotations

import threading
import time

import pytest

from arena.config import parse_config
from arena.records import FINISHED, FORFEIT
from arena.runner import Runner
from arena.schedule import Fixture, build_schedule
from arena.store import Store
from leaderboards import build_leaderboard, build_solo_leaderboard
from tests.arena.fault_agents import Hang, HangInInit, HangInStats

FAULTS = "tests.arena.fault_agents:"


class Recorder:
    """An observer that keeps every event (thread-safe: rounds arrive from match threads)."""

    def __init__(self) -> None:
        self.events: list[tuple] = []
        self.times: dict[tuple[str, str], float] = {}  # (kind, key) -> when it came
        self.lock = threading.Lock()

    def _add(self, *event) -> None:
        with self.lock:
            self.events.append(event)
            self.times.setdefault(event[:2], time.monotonic())

    def run_started(self, *, name, total, done):
        self._add("run_started", name, total, done)

    def match_started(self, *, key, game, agents, rounds):
        self._add("match_started", key, game, tuple(agents), rounds)

    def round_played(self, *, key, round, moves, scores):
        self._add("round", key, round, dict(moves), dict(scores))

    def match_finished(self, result):
        self._add("finished", result.key, result.status)

    def notice(self, message):
        self._add("notice", message)

    def run_finished(self, *, interrupted):
        self._add("run_finished", interrupted)

    def of(self, kind: str) -> list[tuple]:
        return [e for e in self.events if e[0] == kind]


def cfg(agents, *, game=None, fmt=None, **extra):
    data = {"name": "t", "seed": 1, "game": game or {"id": "rps", "rounds": 12},
            "format": fmt or {"type": "round_robin", "matches": 1}, "agents": agents}
    data.update(extra)
    return parse_config(data)


def play(tmp_path, config, *, concurrency=None, timeout=None, name="run", fixtures=None,
         observer=None):
    sched = build_schedule(config)
    path = tmp_path / name
    store = Store.open(path) if (path / "arena.db").exists() else Store.create(
        path, config=config.snapshot())
    observer = observer or Recorder()
    runner = Runner(config, store, observer, fixtures=fixtures or sched.fixtures,
                    notices=sched.notices, concurrency=concurrency, timeout=timeout)
    outcome = runner.run()
    records = store.results(rounds=True)
    store.close()
    return records, observer, outcome


def timeless(records):
    """Records without what measures time (when a match ran, how long each call took)."""
    return [{**{k: v for k, v in r.items() if k not in ("started_at", "finished_at")},
             **({"round_log": [{k: v for k, v in e.items() if k != "latency_ms"}
                               for e in r["round_log"]]} if "round_log" in r else {})}
            for r in records]


MIXED = [{"name": "rnd", "type": "uniform_random"}, {"name": "freq", "type": "frequency"},
         {"name": "markov", "type": "markov"}, {"name": "count", "type": FAULTS + "Counted"},
         {"name": "peek", "type": FAULTS + "Peeker"}]


def test_same_results_at_any_concurrency_and_after_resume(tmp_path):
    config = cfg(MIXED)
    serial, _, _ = play(tmp_path, config, concurrency=1, name="serial")
    wide, _, _ = play(tmp_path, config, concurrency=8, name="wide")
    assert len(serial) == 20 and all(r["status"] == FINISHED for r in serial)
    assert timeless(serial) == timeless(wide)
    fixtures = build_schedule(config).fixtures
    play(tmp_path, config, concurrency=3, name="resumed", fixtures=fixtures[7:19])
    resumed, obs, outcome = play(tmp_path, config, concurrency=5, name="resumed")
    assert outcome.already_done == 12 and outcome.played == 8
    assert timeless(resumed) == timeless(serial)
    assert obs.of("run_started")[0][2:] == (20, 12)


def test_rounds_log_actions_probabilities_rewards(tmp_path):
    records, obs, _ = play(tmp_path, cfg(MIXED[:2] + MIXED[3:4]))
    record = records[0]
    assert record["agents"] == ["rnd", "freq"] and record["roles"] == ["player_0", "player_1"]
    assert record["rounds"] == len(record["round_log"]) == 12
    first = record["round_log"][0]
    assert first["probabilities"]["rnd"] == pytest.approx([1 / 3] * 3)
    assert set(first["actions"]) == {"rnd", "freq"}
    total = sum(r["rewards"]["rnd"] for r in record["round_log"])
    assert record["scores"] == {"rnd": total, "freq": -total}
    # the live view is shown the latest rounds as they come (from a worker: at least
    # every PROGRESS_SECONDS, the last few), always in order and always the last one
    rounds = [e for e in obs.of("round") if e[1] == record["key"]]
    seen = [e[2] for e in rounds]
    assert seen == sorted(set(seen)) and seen[-1] == 12 and len(seen) >= min(3, 12)
    last_moves = rounds[-1][3]
    assert set(last_moves.values()) <= {"rock", "paper", "scissors"}
    assert rounds[-1][4] == record["scores"]
    assert len(obs.of("match_started")) == len(obs.of("finished")) == len(records)


def test_white_box_reads_the_policy_already_computed(tmp_path):
    records, _, _ = play(tmp_path, cfg([{"name": "peek", "type": FAULTS + "Peeker"},
                                        {"name": "count", "type": FAULTS + "Counted"}]))
    for record in records:
        assert record["stats"]["count"] == {"policy_calls": 12.0}  # one call per round
        assert record["stats"]["peek"] == {"peeked_rounds": 12.0}
        for entry in record["round_log"]:
            assert entry["probabilities"]["count"] == pytest.approx([1 / 3] * 3)
            assert max(entry["probabilities"]["peek"]) == 1.0


@pytest.mark.parametrize(("agent", "words"), [
    ({"type": FAULTS + "Raiser", "at": 4}, "deliberate failure"),
    ({"type": FAULTS + "Garbage", "at": 2}, "returned 99"),
    ({"type": FAULTS + "Garbage", "value": "rock"}, "returned 'rock'"),
    ({"type": FAULTS + "Garbage", "value": 1.0}, "returned 1.0"),
    ({"type": FAULTS + "Garbage", "value": True}, "returned True"),
    ({"type": FAULTS + "BadPolicy", "at": 5}, "probabilities"),
    ({"type": FAULTS + "BrokenInit", "at": 1}, "cannot build agent"),
])
def test_a_faulty_agent_forfeits_and_the_run_goes_on(tmp_path, agent, words):
    config = cfg([{"name": "bad", **agent}, {"name": "rnd", "type": "uniform_random"},
                  {"name": "cyc", "type": "cycle"}])
    records, _, _ = play(tmp_path, config)
    assert len(records) == 6
    for record in records:
        if "bad" in record["agents"]:
            assert record["status"] == FORFEIT and record["forfeited_by"] == "bad"
            assert words in record["error"]
            assert record["rounds"] == agent.get("at", 3) - 1
        else:
            assert record["status"] == FINISHED


@pytest.mark.parametrize("game", [{"id": "rps", "rounds": 12},
                                  {"id": "random_number", "length": 5}])
def test_a_forfeit_keeps_the_counters_reported_so_far(tmp_path, game):
    """An agent forfeiting on an invalid answer shows it in the leaderboard's invalid rate,
    and the raw texts it reports are stored with the match."""
    fmt = {"type": "solo", "episodes": 2} if game["id"] == "random_number" else None
    config = cfg([{"name": "bad", "type": FAULTS + "InvalidRaiser", "at": 4},
                  {"name": "count", "type": FAULTS + "Counted"}], game=game, fmt=fmt)
    records, _, _ = play(tmp_path, config)
    forfeits = [r for r in records if r["status"] == FORFEIT]
    assert forfeits and all(r["forfeited_by"] == "bad" for r in forfeits)
    for record in forfeits:
        assert record["stats"]["bad"] == {"decisions": 4.0, "invalid": 1.0,
                                          "invalid_answers": ["no idea", "still no idea"]}
        if "count" in record["agents"]:  # the opponent's counters up to the forfeit too
            assert record["stats"]["count"]["policy_calls"] >= 3.0
    build = build_solo_leaderboard if game["id"] == "random_number" else build_leaderboard
    assert build(records).row("bad")["invalid_rate"] == pytest.approx(0.25)  # texts ignored


def test_auto_timeout_is_the_most_any_seated_agent_asks_for():
    config = cfg([{"name": "a", "type": "uniform_random"},
                  {"name": "p", "type": FAULTS + "Patient"},
                  {"name": "q", "type": FAULTS + "QuickHang"}])
    assert config.timeout == "auto"
    runner = Runner(config, None, Recorder(), fixtures=[])
    assert runner.agent_timeouts == {"a": 60.0, "p": None, "q": 1.0}  # the classes' own

    def seated(*agents: str) -> Fixture:
        return Fixture(key="k", index=0, game="rps", agents=agents, seed=0)

    assert runner.match_timeout(seated("a", "q")) == 60.0
    assert runner.match_timeout(seated("a", "p")) is None
    fixed = Runner(config, None, Recorder(), fixtures=[], timeout=5.0)
    assert fixed.match_timeout(seated("a", "p")) == 5.0


def test_a_hanging_agent_times_out_and_the_run_still_ends(tmp_path):
    config = cfg([{"name": "hang", "type": FAULTS + "Hang", "at": 2},
                  {"name": "rnd", "type": "uniform_random"}], concurrency=2)
    try:
        records, obs, _ = play(tmp_path, config, timeout=1.0)
    finally:
        Hang.release.set()
    assert [r["status"] for r in records] == [FORFEIT, FORFEIT]
    assert all(r["forfeited_by"] == "hang" and "timed out" in r["error"] for r in records)
    for record in records:  # stopped at its limit, not whenever the run got round to it
        began = obs.times[("match_started", record["key"])]
        assert obs.times[("finished", record["key"])] - began < 1.0 + 2.0
    assert all(r["rounds"] == 1 for r in records)


@pytest.mark.parametrize("cls", [HangInInit, HangInStats])
def test_a_hang_outside_act_is_blamed_on_its_agent(tmp_path, cls):
    config = cfg([{"name": "stuck", "type": FAULTS + cls.__name__},
                  {"name": "rnd", "type": "uniform_random"}], concurrency=2)
    cls.release.clear()  # another test may have released it already
    try:
        records, _, _ = play(tmp_path, config, timeout=1.0)
    finally:
        cls.release.set()
    assert [r["status"] for r in records] == [FORFEIT, FORFEIT]
    assert all(r["forfeited_by"] == "stuck" and "stuck did not answer" in r["error"]
               for r in records)


def test_numpy_integer_actions_are_legal(tmp_path):
    config = cfg([{"name": "np", "type": FAULTS + "NumpyActions"},
                  {"name": "rnd", "type": "uniform_random"}])
    records, _, _ = play(tmp_path, config)
    assert [r["status"] for r in records] == [FINISHED, FINISHED]
    assert all(isinstance(e["actions"]["np"], int) for r in records for e in r["round_log"])


def test_hide_and_seek_pairs_share_a_seed_and_a_group(tmp_path):
    config = cfg([{"name": "rnd", "type": "uniform_random"}, {"name": "freq", "type": "frequency"}],
                 game={"id": "hide_and_seek", "graph": "house", "search_radius": 1, "rounds": 8})
    records, _, _ = play(tmp_path, config)
    first, second = records
    assert first["group"] == second["group"] == "hide_and_seek/rnd-vs-freq/0"
    assert first["seed"] == second["seed"]
    assert first["roles"] == ["hider_0", "seeker_0"] and first["agents"] == ["rnd", "freq"]
    assert second["agents"] == ["freq", "rnd"]


def test_random_number_series_rank_uniform_above_humanlike_above_constant(tmp_path):
    config = cfg([{"name": "uni", "type": "uniform_random"},
                  {"name": "human", "type": "humanlike"},
                  {"name": "seven", "type": "constant", "action": 7}],
                 game={"id": "random_number", "length": 10},
                 fmt={"type": "solo", "episodes": 20})
    records, obs, _ = play(tmp_path, config)
    scores = {r["agents"][0]: r["scores"][r["agents"][0]] for r in records}
    assert scores["uni"] > scores["human"] > scores["seven"]
    for record in records:
        assert record["episodes"] == 20 and record["rounds"] == 200
        log = record["round_log"]
        assert [(e["episode"], e["step"]) for e in log[:11]] == [
            (0, s) for s in range(10)] + [(1, 0)]
        assert all(isinstance(e["actions"][record["agents"][0]], int) for e in log)
    assert [e[4] for e in obs.of("match_started")] == [20, 20, 20]


def test_creative_writing_series_store_the_text(tmp_path):
    config = cfg([{"name": "fixed", "type": "fixed_text"}],
                 game={"id": "creative_writing", "semantic": False},
                 fmt={"type": "solo", "episodes": 3})
    records, _, _ = play(tmp_path, config)
    (record,) = records
    texts = [e["actions"]["fixed"] for e in record["round_log"]]
    assert len(texts) == 3 and all(isinstance(t, str) and t for t in texts)
    assert 0.0 <= record["scores"]["fixed"] <= 1.0


class BrokenDisplay(Recorder):
    def round_played(self, *, key, round, moves, scores):
        raise ValueError("display bug")


class BrokenPipeDisplay(Recorder):
    """Fails on every event, as printing to a closed pipe (`arena run | head`) does."""

    def _add(self, *event) -> None:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("display", [BrokenDisplay, BrokenPipeDisplay])
def test_a_failing_display_never_costs_a_match(tmp_path, capsys, display):
    records, _, _ = play(tmp_path, cfg(MIXED[:3]), observer=display())
    assert len(records) == 6 and all(r["status"] == FINISHED for r in records)
    assert capsys.readouterr().err.count("display failed") == 1


def test_a_stop_lets_a_match_in_its_last_round_finish_and_leaves_the_rest(tmp_path):
    """Ctrl-C: a match held in its last round finishes and is saved; a match held in
    round 2 is stopped and left unplayed, for --resume."""
    from pathlib import Path

    last, early = tmp_path / "last", tmp_path / "early"
    pace = "tests.arena.pacing_agents:WaitForFile"
    config = cfg([{"name": "last", "type": pace, "path": str(last), "wait_at": 6},
                  {"name": "early", "type": pace, "path": str(early), "wait_at": 2},
                  {"name": "rnd", "type": "uniform_random"}],
                 game={"id": "rps", "rounds": 6}, concurrency=2)
    keys = ["rps/last-vs-rnd/0", "rps/early-vs-rnd/0"]
    fixtures = [f for f in build_schedule(config).fixtures if f.key in keys]
    store = Store.create(tmp_path / "run", config=config.snapshot())
    runner = Runner(config, store, Recorder(), fixtures=fixtures)

    def stop_when_both_wait() -> None:
        while not (Path(f"{last}.waiting").exists() and Path(f"{early}.waiting").exists()):
            time.sleep(0.01)
        runner.interrupt()
        last.touch()  # the last round may now end: within the grace, or before the stop

    threading.Thread(target=stop_when_both_wait, daemon=True).start()
    try:
        outcome = runner.run()
        saved = store.results()
    finally:
        early.touch()
        store.close()
    assert outcome.signal is not None and outcome.played == 1
    assert [(r["key"], r["status"], r["rounds"]) for r in saved] == [(keys[0], FINISHED, 6)]
