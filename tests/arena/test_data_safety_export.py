# ruff: noqa: F811 -- the fixtures imported from test_data_safety are parameters here
"""What the views and exports do with hostile data (issue 16, items 6, 9 and 15).

* 6: a damaged row (bad JSON, bad UTF-8, a garbled page) is named in one line, exit 2,
  and every other match is still exported (valid JSON) or shown;
* 9: no CSV cell the arena writes starts a spreadsheet formula; numbers stay numbers;
* 15: a run records the arena's version, the packages' and the resolved config, and the
  export carries them;
* a fuzz test: random Unicode names survive the export, JSON and CSV alike.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arena import __version__
from arena.errors import ArenaError, StoreError
from arena.export import COLUMNS, config_sha256, export, export_command
from arena.records import FORFEIT, MatchResult
from arena.store import Store
from leaderboards.csv_safe import safe_cell
from tests.arena.test_data_safety import ARENA, arena, finished, one_line_error, run  # noqa: F401 -- fixtures

FORMULA = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = ["=cmd|' /C calc'!A0", "+1+1", "-2", "@SUM(A1)", "\tTAB", "\rCR", "plain"]


def number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def assert_cells_safe(text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    for row in rows:
        for cell in row:
            assert number(cell) or not cell.startswith(FORMULA), (cell, row)
    return rows


def read(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def corrupt(run_dir: Path, sql: str) -> None:
    conn = sqlite3.connect(run_dir / "arena.db")
    conn.execute(sql)
    conn.commit()
    conn.close()


# -- 6: damaged rows --------------------------------------------------------------------
def test_bad_json_in_a_row_is_named_and_the_rest_exported(run):
    corrupt(run, "UPDATE matches SET scores = '{not json' WHERE idx = 3")
    conn = sqlite3.connect(run / "arena.db")
    key = conn.execute("SELECT key FROM matches WHERE idx = 3").fetchone()[0]
    conn.close()
    done = arena("export", run, "--rounds")
    one_line_error(done, "1 unreadable match", key, ".recover", "the other 11 rows")
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 11 and key not in {r["key"] for r in rows}
    table = arena("export", run, "--format", "csv", "--out", run / "m.csv")
    one_line_error(table, key)
    assert len(list(csv.DictReader(io.StringIO((run / "m.csv").read_text())))) == 11
    board = arena("leaderboard", run, "--format", "json")
    one_line_error(board, key, "left out of what is shown")
    assert sum(row["matches"] for row in json.loads(board.stdout)) == 2 * 11
    one_line_error(arena("matrix", run), key)


def test_bad_utf8_and_wrong_shapes_are_unreadable_not_tracebacks(tmp_path):
    with Store.create(tmp_path / "run", config={"name": "s", "games": [], "agents": []}) as s:
        for i in range(4):
            s.save(MatchResult(key=f"rps/a-vs-b/{i}", game="rps", index=i, seed=i,
                               agents=["a", "b"], roles=["player_0", "player_1"]))
    corrupt(tmp_path / "run", "UPDATE matches SET error = CAST(x'ff41' AS TEXT) WHERE idx = 0")
    corrupt(tmp_path / "run", "UPDATE matches SET agents = '7' WHERE idx = 1")
    corrupt(tmp_path / "run", "UPDATE matches SET stats = '[]' WHERE idx = 2")
    with Store.open(tmp_path / "run") as store:
        # a plain read (arena analyze, say) stops at the first, naming it
        with pytest.raises(StoreError, match=r"damaged \(rps/a-vs-b/0 is unreadable: .*decode"):
            store.results()
        store.skip_unreadable = True  # what the views and exports do
        assert [r["index"] for r in store.results()] == [3]
        assert list(store.unreadable) == ["rps/a-vs-b/0", "rps/a-vs-b/1", "rps/a-vs-b/2"]
    with pytest.raises(ArenaError, match=r"3 unreadable matches: rps/a-vs-b/0, "):
        export_command(tmp_path / "run", out=str(tmp_path / "x.jsonl"))
    assert len((tmp_path / "x.jsonl").read_text().splitlines()) == 1


def garble(path: Path, page: int, attempt: int, rng: random.Random,
           page_size: int = 4096) -> None:
    """Attempt 0: the page's b-tree header; 1: 256 bytes anywhere in it; 2: all of it."""
    start, size = [(0, 16), (rng.randrange(page_size - 256), 256), (0, page_size)][attempt]
    if page == 1 and attempt != 1:
        start, size = 100, size - 100 if size > 100 else 16  # keep the file header itself
    with open(path, "r+b") as db:
        db.seek((page - 1) * page_size + start)
        db.write(bytes(rng.randrange(256) for _ in range(size)))


def test_every_garbled_page_gives_a_clean_export_or_one_named_error(finished, tmp_path):
    _, good = finished
    reference = tmp_path / "reference.jsonl"
    export_command(good, out=str(reference), rounds=True)
    pages = (good / "arena.db").stat().st_size // 4096
    rng = random.Random(16)
    outcomes = {"clean": 0, "error": 0}
    for page in range(1, pages + 1):
        for attempt in range(3):
            run_dir = tmp_path / f"p{page}-{attempt}"
            shutil.copytree(good, run_dir)
            garble(run_dir / "arena.db", page, attempt, rng)
            out = run_dir / "out.jsonl"
            try:
                export_command(run_dir, out=str(out), rounds=True)
            except ArenaError as exc:  # anything else fails the test: a traceback
                assert "\n" not in str(exc) and ("damaged" in str(exc) or "not an arena"
                                                  in str(exc)), str(exc)
                outcomes["error"] += 1
                if out.exists():  # what could be read was exported, as valid JSON
                    for line in out.read_text().splitlines():
                        json.loads(line)
            else:  # the bytes fell where nothing is stored: the export is exactly right
                assert out.read_text() == reference.read_text()
                outcomes["clean"] += 1
            shutil.rmtree(run_dir)
    # a garbled b-tree header or page is always found; none gives a traceback
    assert outcomes["error"] >= 2 * pages, outcomes


def test_exports_are_valid_json_even_with_non_finite_numbers(tmp_path):
    with Store.create(tmp_path / "run", config={"name": "s", "games": [], "agents": []}) as s:
        s.save(MatchResult(key="k", game="rps", index=0, seed=1, agents=["a", "b"],
                           roles=["p0", "p1"], scores={"a": float("nan"), "b": float("inf")},
                           round_log=[{"actions": {"a": 0, "b": 1}, "rewards": {"a": 0.0},
                                       "probabilities": {"a": [float("nan"), 1.0]}}]))
        out = io.StringIO()
        export(s, out, rounds=True)
    row = json.loads(out.getvalue(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert row["scores"] == {"a": None, "b": None}
    assert row["round_log"][0]["probabilities"] == {"a": [None, 1.0]}


# -- 9: CSV formula injection ---------------------------------------------------------
def hostile_store(directory: Path) -> Path:
    names = HOSTILE
    config = {"name": "=evil()", "games": [{"id": "rps", "args": {}, "format": None}],
              "agents": [{"name": n, "type": "constant", "options": {}, "games": None}
                         for n in names]}
    with Store.create(directory, config=config) as store:
        index = 0
        for a in names:
            for b in names:
                if a == b:
                    continue
                forfeit = index % 5 == 0
                store.save(MatchResult(
                    key=f"rps/{a}-vs-{b}/0", game="rps", index=index, seed=index,
                    agents=[a, b], roles=["player_0", "player_1"],
                    status=FORFEIT if forfeit else "finished",
                    scores={a: -1.5, b: 1.5}, rounds=4,
                    error=f"=HYPERLINK(\"http://x\",\"{a}\")\r\n-{b}" if forfeit else None,
                    forfeited_by=a if forfeit else None, stats={a: {"x": -1.0}}))
                index += 1
    return directory


def test_every_csv_cell_of_an_export_is_safe_and_numbers_stay_numbers(tmp_path):
    run_dir = hostile_store(tmp_path / "run")
    done = arena("export", run_dir, "--format", "csv", "--rounds", "--out", tmp_path / "m.csv")
    assert done.returncode == 0, done.stderr
    rows = assert_cells_safe(read(tmp_path / "m.csv"))
    header, body = rows[0], rows[1:]
    assert header == COLUMNS + ["round_log"] and len(body) == 42
    record = dict(zip(header, body[0], strict=True))
    assert record["error"] == "'=HYPERLINK(\"http://x\",\"=cmd|' /C calc'!A0\")\r\n-+1+1"
    assert record["forfeited_by"] == "'=cmd|' /C calc'!A0"
    assert record["run"] == "'=evil()"
    assert json.loads(record["agents"]) == [HOSTILE[0], HOSTILE[1]]  # JSON keeps them exact
    assert record["seed"] == "0" and json.loads(record["scores"])[HOSTILE[0]] == -1.5


def test_every_csv_cell_of_a_leaderboard_is_safe(tmp_path):
    run_dir = hostile_store(tmp_path / "run")
    done = subprocess.run([ARENA, "leaderboard", str(run_dir), "--format", "csv"],
                          capture_output=True, timeout=120)  # bytes: keep a lone CR as it is
    assert done.returncode == 0, done.stderr
    rows = assert_cells_safe(done.stdout.decode("utf-8"))
    agents = {row[0] for row in rows[1:]}
    assert agents == {safe_cell(n) for n in HOSTILE}
    assert any(number(cell) and cell.startswith("-") for row in rows for cell in row)


def test_a_lone_carriage_return_never_splits_a_csv_row(tmp_path):
    run_dir = tmp_path / "run"
    with Store.create(run_dir, config={"name": "s", "games": [], "agents": []}) as store:
        store.save(MatchResult(key="k", game="rps", index=0, seed=1, agents=["a", "b"],
                               roles=["p0", "p1"], error="half\rway"))
    out = io.StringIO()
    with Store.open(run_dir) as store:
        export(store, out, fmt="csv")
    rows = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert len(rows) == 1 and rows[0]["error"] == "half\rway"


# -- 15: provenance ---------------------------------------------------------------------
def test_a_run_records_and_exports_where_it_came_from(finished):
    _, run_dir = finished
    with Store.open(run_dir) as store:
        info = store.run_info()
    versions = info["versions"]
    assert versions["arena"] == __version__
    assert {"python", "numpy", "pettingzoo", "gymnasium"} <= set(versions)
    assert info["config"]["games"][0]["id"] == "rps"
    digest = config_sha256(info["config"])
    rows = [json.loads(x) for x in arena("export", run_dir).stdout.splitlines()]
    assert {(r["run"], r["arena_version"], r["config_sha256"]) for r in rows} == {
        ("safe", __version__, digest)}
    done = arena("export", run_dir, "--provenance")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["config"] == info["config"] and record["config_sha256"] == digest
    assert record["versions"] == versions and record["arena_version"] == __version__
    assert record["matches"] == 12 and record["run"] == "safe"
    assert record["config"]["agents"][0] == {"name": "a", "type": "uniform_random",
                                             "games": None, "options": {}}


# -- fuzz: random Unicode names -----------------------------------------------------------
# any text, and texts that begin like a formula
names = st.one_of(st.text(min_size=1, max_size=12),
                  st.builds(str.__add__, st.sampled_from(FORMULA), st.text(max_size=8)))


@settings(max_examples=int(os.environ.get("ARENA_FUZZ_EXAMPLES", "60")), deadline=None,
          database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=names, second=names, error=st.text(max_size=30), text=st.text(max_size=40))
def test_fuzz_export_with_random_unicode_names(first, second, error, text):
    if first == second:
        second += "2"
    agents = [first, second]
    log = [{"actions": {first: text, second: 1}, "probabilities": {second: [0.5, 0.5]},
            "rewards": {first: 0.25, second: -0.25}}]
    match = MatchResult(key=f"rps/{first}-vs-{second}/0", game="rps", index=0, seed=3,
                        agents=agents, roles=["player_0", "player_1"], status=FORFEIT,
                        scores={first: 1.0, second: -1.0}, rounds=1, error=error or None,
                        forfeited_by=first, stats={first: {"n": 1.0}}, round_log=log)
    with tempfile.TemporaryDirectory() as tmp:
        config = {"name": first, "games": [], "agents": []}
        with Store.create(Path(tmp) / "run", config=config) as store:
            store.save(match)
            jsonl, table = io.StringIO(), io.StringIO()
            export(store, jsonl, fmt="jsonl", rounds=True)
            export(store, table, fmt="csv", rounds=True)
    (row,) = [json.loads(line) for line in jsonl.getvalue().splitlines()]
    assert row["agents"] == agents and row["forfeited_by"] == first and row["run"] == first
    assert row["error"] == (error or None) and row["round_log"] == log
    parsed = assert_cells_safe(table.getvalue())
    assert len(parsed) == 2
    cells = dict(zip(parsed[0], parsed[1], strict=True))
    assert json.loads(cells["agents"]) == agents
    assert cells["forfeited_by"] == safe_cell(first)
    assert cells["error"] == (safe_cell(error) if error else "")
    assert json.loads(cells["round_log"]) == log

