"""The run's estimate of its time left (arena.eta): from rounds left and measured times
per decision, models apart from bots, "estimating…" (None) until it can say."""

from __future__ import annotations

import pytest

from arena.eta import Eta
from arena.records import FINISHED, Fixture, MatchResult
from tests.arena.test_runner import cfg

PACE = "tests.arena.pacing_agents:"


def fixture(key: str, *agents: str, game: str = "rps") -> Fixture:
    return Fixture(key=key, index=0, game=game, agents=agents, seed=0)


def finished(f: Fixture, latency_s: float, rounds: int) -> MatchResult:
    log = [{"latency_ms": dict.fromkeys(f.agents, latency_s * 1000)} for _ in range(rounds)]
    return MatchResult(key=f.key, game=f.game, index=0, seed=0, agents=list(f.agents),
                       roles=["player_0", "player_1"], status=FINISHED, rounds=rounds,
                       round_log=log)


def config():
    return cfg([{"name": "lm", "type": PACE + "SharedSleeper"},
                {"name": "lm2", "type": PACE + "SharedSleeper"},
                {"name": "a", "type": "uniform_random"}, {"name": "b", "type": "cycle"}],
               game={"id": "rps", "rounds": 10})


def test_the_estimate_is_rounds_left_times_measured_decision_times():
    bots, model = fixture("bots", "a", "b"), fixture("model", "lm", "a")
    eta = Eta([bots, model, fixture("model2", "a", "lm")], config=config(), lanes=2)
    assert eta.seconds_left() is None  # nothing measured: estimating
    eta.began(bots, now=0.0)
    for r in range(1, 11):
        eta.progress("bots", r, {"a": 0.01, "b": 0.03})
    eta.ended("bots", 1.4, finished(bots, 0.02, 10))  # 1.4 s, 0.4 of them deciding
    # the model's matches are waiting for a model never measured: not instant, unknown
    assert eta.seconds_left() is None
    eta.began(model, now=2.0)
    for r in range(1, 5):
        eta.progress("model", r, {"lm": 0.5, "a": 0.01})
    # model: 6 rounds left x 0.51 s; model2: its 10 rounds x 0.51 s plus 1.0 s a match;
    # shared by two lanes, but never less than the longest match left
    left, longest = 6 * 0.51 + (10 * 0.51 + 1.0), 10 * 0.51 + 1.0
    assert eta.seconds_left() == pytest.approx(max(left / 2, longest)) == longest
    eta.lanes = 1
    assert eta.seconds_left() == pytest.approx(left)


def test_a_models_first_decision_does_not_set_its_pace():
    model = fixture("m", "lm", "a")
    eta = Eta([model], config=config(), lanes=1)
    eta.began(model, now=0.0)
    eta.progress("m", 1, {"lm": 30.0, "a": 0.0})  # the load
    for r in range(2, 5):
        eta.progress("m", r, {"lm": 0.2, "a": 0.0})
    assert eta.seconds_left() == pytest.approx(6 * 0.2)  # the median, not the mean


def test_an_unmeasured_bot_counts_as_the_bots_measured_in_the_game():
    one, two = fixture("one", "a", "b"), fixture("two", "b", "c")
    eta = Eta([one, two], config=cfg([{"name": n, "type": "cycle"} for n in "abc"],
                                     game={"id": "rps", "rounds": 10}), lanes=1)
    eta.began(one, now=0.0)
    for r in range(1, 11):
        eta.progress("one", r, {"a": 0.1, "b": 0.3})
    eta.ended("one", 4.0, finished(one, 0.2, 10))
    # c unmeasured: the median of a's and b's rounds, 0.2; b its own 0.3; 0 s overhead
    assert eta.seconds_left() == pytest.approx(10 * (0.3 + 0.2))


def test_a_run_with_a_model_and_bots_of_known_speeds_estimates_its_time_left(tmp_path):
    import time

    from tests.arena.test_runner import Recorder, play

    class Watcher(Recorder):
        def estimate(self, seconds_left):
            self._add("estimate", time.monotonic(), seconds_left)

    # the bots' two matches first (in worker processes, which start meanwhile), then the
    # model's four, two at a time (in threads)
    config = cfg([{"name": "a", "type": PACE + "Sleeper", "seconds": 0.002},
                  {"name": "b", "type": PACE + "Sleeper", "seconds": 0.002},
                  {"name": "lm", "type": PACE + "SharedSleeper", "seconds": 0.04}],
                 game={"id": "rps", "rounds": 50}, concurrency=2)
    records, watcher, _ = play(tmp_path, config, observer=Watcher())
    end = time.monotonic()
    assert len(records) == 6 and all(r["status"] == FINISHED for r in records)
    estimates = watcher.of("estimate")
    assert estimates[0][2] is None  # "estimating…" before anything was measured
    known = [(end - at, left) for _, at, left in estimates if left is not None]
    assert known, estimates
    # within a factor of two of what was really left (a count of matches, as before,
    # said seconds when minutes of model matches were left)
    for actual, left in known:
        if actual > 1.0:
            assert actual / 2 <= left <= actual * 2, (actual, left, known)
