"""Export rows: one per finished match, round logs on request, JSON lines and CSV alike."""

from __future__ import annotations

import csv
import io
import json

import pytest

from arena.errors import ArenaError
from arena.export import COLUMNS, export
from arena.records import MatchResult
from arena.store import Store

CONFIG = {"name": "e", "games": [], "agents": []}


def solo(index: int, agent: str) -> MatchResult:
    log = [{"episode": e, "step": s, "actions": {agent: 3 + s}, "probabilities": {},
            "rewards": {agent: 0.25 * s}} for e in range(2) for s in range(3)]
    return MatchResult(key=f"random_number/{agent}", game="random_number", index=index,
                       seed=9, agents=[agent], roles=["solo"], scores={agent: 0.25},
                       rounds=6, episodes=2, round_log=log)


@pytest.fixture
def store(tmp_path):
    with Store.create(tmp_path / "run", config=CONFIG) as store:
        store.save(solo(1, "b"))
        store.save(solo(0, "a"))
        yield store


def test_jsonl_rows_in_schedule_order_with_solo_fields(store):
    out = io.StringIO()
    assert export(store, out, fmt="jsonl") == 2
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["agents"] for r in rows] == [["a"], ["b"]]
    assert list(rows[0]) == COLUMNS
    assert rows[0]["scores"] == {"a": 0.25} and rows[0]["episodes"] == 2


def test_rounds_add_per_step_records_with_episode_and_step(store):
    out = io.StringIO()
    export(store, out, fmt="jsonl", rounds=True)
    log = json.loads(out.getvalue().splitlines()[0])["round_log"]
    assert len(log) == 6
    assert log[4] == {"episode": 1, "step": 1, "actions": {"a": 4}, "probabilities": {},
                      "rewards": {"a": 0.25}}


def test_csv_has_a_header_and_json_cells(store):
    out = io.StringIO()
    export(store, out, fmt="csv", rounds=True)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["key"] for r in rows] == ["random_number/a", "random_number/b"]
    assert json.loads(rows[1]["agents"]) == ["b"]
    assert len(json.loads(rows[0]["round_log"])) == 6
    assert rows[0]["error"] == ""
    with pytest.raises(ArenaError, match="unknown export format"):
        export(store, out, fmt="xml")
