"""A stuck or crashing agent costs its own match and nothing else: worker processes that
are killed at the time limit, crashes recorded as forfeits, no process left behind."""

from __future__ import annotations

import os

import pytest

from arena.records import FINISHED, FORFEIT
from tests.arena.test_runner import FAULTS, Recorder, cfg, play, timeless

INNOCENTS = [{"name": "rnd", "type": "uniform_random"}, {"name": "cyc", "type": "cycle"}]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead, only not yet reaped
        return stat.read().split(")")[1].split()[0] != "Z"


def play_with_runner(tmp_path, config, **kwargs):
    from arena.runner import Runner
    from arena.schedule import build_schedule
    from arena.store import Store

    store = Store.create(tmp_path / kwargs.pop("name", "run"), config=config.snapshot())
    observer = kwargs.pop("observer", None)
    runner = Runner(config, store, observer, fixtures=build_schedule(config).fixtures, **kwargs)
    outcome = runner.run()
    records = store.results(rounds=True)
    store.close()
    return records, runner, outcome


@pytest.mark.slow
@pytest.mark.parametrize("hang", ["SleepHang", "GilHang", "Hang"])
def test_a_hang_of_any_kind_forfeits_at_its_timeout_and_leaves_the_rest_alone(tmp_path, hang):
    config = cfg([{"name": "stuck", "type": FAULTS + hang, "at": 3}, *INNOCENTS],
                 game={"id": "rps", "rounds": 30}, concurrency=4, timeout=2)
    observer = Recorder()
    records, runner, _ = play_with_runner(tmp_path, config, observer=observer)
    alone, _, _ = play(tmp_path, cfg(INNOCENTS, game={"id": "rps", "rounds": 30}), name="alone")
    stuck = [r for r in records if "stuck" in r["agents"]]
    assert len(stuck) == 4
    for record in stuck:
        assert record["status"] == FORFEIT and record["forfeited_by"] == "stuck"
        assert record["error"] == "timed out after 2 s: stuck did not answer"
        assert record["rounds"] == 2  # it hung in round 3
        # stopped at its limit, not whenever the run got round to it
        began = observer.times[("match_started", record["key"])]
        assert observer.times[("finished", record["key"])] - began < 2.0 + 2.0
    innocent = [r for r in records if "stuck" not in r["agents"]]
    # the same seeds, scores, actions and policies (only the schedule positions differ)
    assert [{**r, "index": 0} for r in timeless(innocent)] == \
        [{**r, "index": 0} for r in timeless(alone)]
    pids = [pid for places in runner.places for pid in getattr(places, "pids", ())]
    assert pids and not any(alive(pid) for pid in pids)  # none left spinning (all reaped)


@pytest.mark.parametrize(("agent", "words"), [
    ({"type": FAULTS + "ExitHard"}, "the match's process ended (exit code 7) while bad was "
                                    "deciding"),
    ({"type": FAULTS + "RaiseBase", "kind": "KeyboardInterrupt"}, "KeyboardInterrupt"),
    ({"type": FAULTS + "RaiseBase", "kind": "SystemExit"}, "SystemExit"),
    ({"type": FAULTS + "RaiseBase", "kind": "GeneratorExit"}, "GeneratorExit"),
])
def test_an_agent_that_crashes_forfeits_with_a_reason_and_the_run_goes_on(tmp_path, agent,
                                                                          words):
    config = cfg([{"name": "bad", "at": 3, **agent}, *INNOCENTS], concurrency=2)
    records, runner, outcome = play_with_runner(tmp_path, config)
    assert outcome.played == len(records) == 6 and outcome.signal is None
    for record in records:
        if "bad" in record["agents"]:
            assert record["status"] == FORFEIT and record["forfeited_by"] == "bad"
            assert words in record["error"]
        else:
            assert record["status"] == FINISHED


def test_matches_are_the_same_in_workers_and_in_threads(tmp_path, monkeypatch):
    """The engine is one loop wherever it runs: a worker process or a thread here."""
    config = cfg([*INNOCENTS, {"name": "freq", "type": "frequency"},
                  {"name": "peek", "type": FAULTS + "Peeker"}])
    in_workers, _, _ = play(tmp_path, config, name="workers")
    monkeypatch.setattr("arena.places.importable", lambda config: False)  # all in threads
    in_threads, _, _ = play(tmp_path, config, name="threads")
    assert len(in_workers) == 12 and timeless(in_workers) == timeless(in_threads)


def test_the_live_view_gets_a_solo_series_with_its_episodes(tmp_path):
    """From a worker, a match's record comes without its rounds (they are saved there),
    but a solo series keeps them: the live table ranks every episode."""
    class Finished(Recorder):
        def match_finished(self, result):
            super().match_finished(result)
            self.logs = [*getattr(self, "logs", []), (result.episodes, len(result.round_log))]

    observer = Finished()
    config = cfg(INNOCENTS[:1], game={"id": "random_number", "length": 3},
                 fmt={"type": "solo", "episodes": 4})
    play(tmp_path, config, observer=observer)
    assert observer.logs == [(4, 12)]


def test_a_huge_concurrency_starts_no_more_workers_than_the_machine_can_run(tmp_path,
                                                                            monkeypatch):
    from arena.slot_process import WORKERS_PER_CORE, available_cores

    assert 1 <= available_cores() <= len(os.sched_getaffinity(0))
    monkeypatch.setattr("arena.slot_process.available_cores", lambda: 1)
    bots = [{"name": f"b{i}", "type": t} for i, t in enumerate(
        ["uniform_random", "cycle", "frequency", "markov", "constant", "beat_last"])]
    observer = Recorder()
    config = cfg(bots)
    records, runner, outcome = play_with_runner(tmp_path, config, concurrency=100000,
                                                observer=observer)
    assert outcome.played == len(records) == 30 and all(r["status"] == FINISHED
                                                        for r in records)
    pids = [pid for places in runner.places for pid in getattr(places, "pids", ())]
    assert 0 < len(pids) <= WORKERS_PER_CORE
    notes = [e[1] for e in observer.of("notice") if "worker processes" in e[1]]
    assert notes == [f"at most {WORKERS_PER_CORE} worker processes at once, not 100000: "
                     "this machine has 1 core available"]
