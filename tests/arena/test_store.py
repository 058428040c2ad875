"""The results database: round trips, one transaction per match, refusal to overwrite."""

from __future__ import annotations

import sqlite3

import pytest

from arena.errors import StoreError
from arena.records import FORFEIT, MatchResult
from arena.store import Store

CONFIG = {"name": "s", "games": [{"id": "rps", "args": {}, "format": None}],
          "agents": [{"name": "a", "type": "constant", "options": {"action": 1}, "games": None},
                     {"name": "b", "type": "cycle", "options": {}, "games": None}]}


def result(index: int, **changes) -> MatchResult:
    log = [{"actions": {"a": 1, "b": t % 3}, "probabilities": {"a": [0.0, 1.0, 0.0]},
            "rewards": {"a": float((1 - t % 3 + 1) % 3 - 1), "b": -1.0}} for t in range(4)]
    base = dict(key=f"rps/a-vs-b/{index}", game="rps", index=index, seed=10 + index,
                agents=["a", "b"], roles=["player_0", "player_1"], scores={"a": 1.0, "b": -1.0},
                rounds=4, round_log=log, stats={"a": {"x": 1.0}}, started_at=1.0,
                finished_at=2.0)
    base.update(changes)
    return MatchResult(**base)


def test_round_trip_in_schedule_order(tmp_path):
    store = Store.create(tmp_path / "run", config=CONFIG, versions={"numpy": "1"})
    store.save(result(1))
    store.save(result(0, status=FORFEIT, error="a: boom", forfeited_by="a"))
    records = store.results()
    assert [r["index"] for r in records] == [0, 1]
    assert records[0]["status"] == FORFEIT and records[0]["forfeited_by"] == "a"
    assert records[1]["round_log"] == []
    full = store.results(rounds=True)[1]
    assert full == result(1).to_dict()
    assert store.finished_keys() == {"rps/a-vs-b/0", "rps/a-vs-b/1"}
    info = store.run_info()
    assert info["config"] == CONFIG and info["versions"] == {"numpy": "1"}
    assert store.games() == ["rps"]
    store.close()
    with Store.open(tmp_path / "run") as again:
        assert again.count() == 2
        journal = again.conn.execute("PRAGMA journal_mode").fetchone()[0]
        assert journal == "wal"


def test_solo_rounds_keep_episode_step_and_text(tmp_path):
    log = [{"episode": e, "step": s, "actions": {"w": f"text {e}.{s}"}, "probabilities": {},
            "rewards": {"w": 0.5}} for e in range(2) for s in range(2)]
    solo = MatchResult(key="creative_writing/w", game="creative_writing", index=0, seed=1,
                       agents=["w"], roles=["solo"], scores={"w": 0.5}, rounds=4, episodes=2,
                       round_log=log)
    with Store.create(tmp_path / "run", config=CONFIG) as store:
        store.save(solo)
        assert store.results(rounds=True)[0]["round_log"] == log
        action = store.conn.execute("SELECT typeof(action) FROM rounds LIMIT 1").fetchone()[0]
        assert action == "text"


def test_a_failed_save_leaves_nothing_behind(tmp_path):
    with Store.create(tmp_path / "run", config=CONFIG) as store:
        store.save(result(0))
        with pytest.raises(sqlite3.IntegrityError):
            store.save(result(0))  # the same key twice never sneaks in
        assert store.count() == 1
        assert store.conn.execute("SELECT COUNT(*) FROM rounds").fetchone()[0] == 8


def test_refuses_to_create_over_a_run_and_to_open_nothing(tmp_path):
    Store.create(tmp_path / "run", config=CONFIG).close()
    with pytest.raises(StoreError, match="already holds a run"):
        Store.create(tmp_path / "run", config=CONFIG)
    with pytest.raises(StoreError, match="does not exist"):
        Store.open(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(StoreError, match="has no arena.db"):
        Store.open(tmp_path / "empty")


def test_a_run_killed_before_its_first_commit_counts_as_no_run(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    sqlite3.connect(run / "arena.db").close()  # the file exists, the schema never committed
    assert not Store.holds_run(run)
    with pytest.raises(StoreError, match="stopped before it started"):
        Store.open(run)
    with Store.create(run, config=CONFIG) as store:
        assert Store.holds_run(run) and store.count() == 0
