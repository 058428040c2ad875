"""The results database: round trips, one transaction per match, refusal to overwrite,
schema versions and migrations of older runs."""

from __future__ import annotations

import json
import sqlite3

import pytest

import arena.store
import arena.store_schema
from arena.errors import StoreError
from arena.records import FORFEIT, MatchResult
from arena.store import Store
from arena.store_files import APPLICATION_ID
from arena.store_schema import SCHEMA_VERSION

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


# The schema exactly as arena wrote it before versioning and before rounds.forfeit
# (arena/store.py at 497f5f6, the commit before 7221dc4 added the column).
V0_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT, config TEXT, versions TEXT, created REAL);
CREATE TABLE IF NOT EXISTS agents (
    name TEXT PRIMARY KEY, type TEXT, options TEXT, games TEXT);
CREATE TABLE IF NOT EXISTS matches (
    idx INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, game TEXT, seed INTEGER,
    agents TEXT, roles TEXT, status TEXT, scores TEXT, rounds INTEGER, error TEXT,
    forfeited_by TEXT, grp TEXT, episodes INTEGER, stats TEXT, started REAL, finished REAL);
CREATE TABLE IF NOT EXISTS rounds (
    match INTEGER NOT NULL, round INTEGER NOT NULL, seat INTEGER NOT NULL, agent TEXT,
    action, probabilities TEXT, reward REAL, episode INTEGER, step INTEGER,
    PRIMARY KEY (match, round, seat)) WITHOUT ROWID;
"""
# the schema of runs made after rounds.forfeit arrived and before versioning
V0_FORFEIT_SCHEMA = V0_SCHEMA.replace("step INTEGER,\n", "step INTEGER, forfeit INTEGER,\n")
assert V0_FORFEIT_SCHEMA != V0_SCHEMA
MATCH_COLUMNS = ("idx, key, game, seed, agents, roles, status, scores, rounds, error, "
                 "forfeited_by, grp, episodes, stats, started, finished")


def make_v0_run(directory, *matches: MatchResult, schema: str = V0_SCHEMA) -> None:
    """A run as the code before versioning wrote it: same statements, user_version 0."""
    directory.mkdir(parents=True)
    conn = sqlite3.connect(directory / "arena.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN IMMEDIATE")
    for statement in filter(str.strip, schema.split(";")):
        conn.execute(statement)
    conn.execute("INSERT INTO runs VALUES (1, ?, ?, ?, ?)",
                 (CONFIG["name"], json.dumps(CONFIG), json.dumps({"numpy": "1"}), 5.0))
    conn.executemany("INSERT INTO agents VALUES (?, ?, ?, ?)", [
        (a["name"], a["type"], json.dumps(a["options"]), json.dumps(a["games"]))
        for a in CONFIG["agents"]])
    conn.execute("COMMIT")
    for r in matches:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(f"INSERT INTO matches ({MATCH_COLUMNS}) VALUES ({', '.join('?' * 16)})", (
            r.index, r.key, r.game, r.seed, json.dumps(r.agents), json.dumps(r.roles),
            r.status, json.dumps(r.scores), r.rounds, r.error, r.forfeited_by, r.group,
            r.episodes, json.dumps(r.stats), r.started_at, r.finished_at))
        width = 10 if "forfeit INTEGER" in schema else 9
        conn.executemany(f"INSERT INTO rounds VALUES ({', '.join('?' * width)})", [
            (r.index, number, seat, name, entry["actions"].get(name),
             json.dumps(entry["probabilities"][name]) if name in entry["probabilities"]
             else None, entry["rewards"].get(name), None, None,
             *([1 if name in entry.get("forfeited", ()) else None] if width == 10 else []))
            for number, entry in enumerate(r.round_log, 1)
            for seat, name in enumerate(r.agents)])
        conn.execute("COMMIT")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    conn.close()


def on_disk(directory) -> tuple[int, set[str]]:
    """The run's user_version and its rounds columns, read past the Store."""
    conn = sqlite3.connect(directory / "arena.db")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        columns = {row[1] for row in conn.execute("PRAGMA table_info(rounds)")}
        return version, columns
    finally:
        conn.close()


def with_forfeits(index: int) -> MatchResult:
    match = result(index)
    match.round_log[1]["forfeited"] = ["b"]
    return match


def test_a_new_run_has_the_current_schema_version(tmp_path):
    Store.create(tmp_path / "run", config=CONFIG).close()
    assert SCHEMA_VERSION >= 1
    version, columns = on_disk(tmp_path / "run")
    assert version == SCHEMA_VERSION and "forfeit" in columns
    with Store.open(tmp_path / "run") as store:
        assert store.schema_version == SCHEMA_VERSION


def test_a_run_from_before_versioning_is_migrated_read_and_resumed(tmp_path):
    run = tmp_path / "run"
    make_v0_run(run, result(0), result(2, status=FORFEIT, error="a: boom", forfeited_by="a"))
    version, columns = on_disk(run)
    assert version == 0 and "forfeit" not in columns
    with Store.open(run) as store:
        version, columns = on_disk(run)
        assert version == SCHEMA_VERSION and "forfeit" in columns
        assert store.run_info()["versions"] == {"numpy": "1"}
        records = store.results(rounds=True)
        assert records[0] == result(0).to_dict()  # no forfeit marks appear from nowhere
        assert all("forfeited" not in entry for entry in records[0]["round_log"])
        assert records[1]["status"] == FORFEIT and records[1]["forfeited_by"] == "a"
        # what --resume does next: skip the saved keys, save the rest
        assert store.finished_keys() == {"rps/a-vs-b/0", "rps/a-vs-b/2"}
        store.save(with_forfeits(1))
    with Store.open(run) as again:  # a second open finds nothing left to do
        assert [r["index"] for r in again.results()] == [0, 1, 2]
        assert again.results(rounds=True)[1] == with_forfeits(1).to_dict()
        assert again.results(rounds=True)[1]["round_log"][1]["forfeited"] == ["b"]
    assert on_disk(run)[0] == SCHEMA_VERSION


def test_a_version_0_run_that_already_has_the_forfeit_column_keeps_its_marks(tmp_path):
    # made after rounds.forfeit arrived but before versioning: the migration must not fail
    run = tmp_path / "run"
    make_v0_run(run, with_forfeits(0), schema=V0_FORFEIT_SCHEMA)
    with Store.open(run) as store:
        assert store.results(rounds=True)[0] == with_forfeits(0).to_dict()
    assert on_disk(run)[0] == SCHEMA_VERSION


def test_a_failed_migration_changes_nothing(tmp_path, monkeypatch):
    def boom(conn: sqlite3.Connection) -> None:
        raise RuntimeError("boom")

    run = tmp_path / "run"
    make_v0_run(run, result(0))
    monkeypatch.setattr(arena.store_schema, "MIGRATIONS", (*arena.store_schema.MIGRATIONS, boom))
    monkeypatch.setattr(arena.store_schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(RuntimeError, match="boom"):
        Store.open(run)
    version, columns = on_disk(run)
    assert version == 0 and "forfeit" not in columns  # the first migration was rolled back


def test_a_run_from_a_newer_arena_is_refused_untouched(tmp_path):
    run = tmp_path / "run"
    Store.create(run, config=CONFIG).close()
    conn = sqlite3.connect(run / "arena.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    expected = (fr"made by a newer arena \(schema {SCHEMA_VERSION + 1}, this one reads up to "
                fr"{SCHEMA_VERSION}\); upgrade")
    with pytest.raises(StoreError, match=expected):
        Store.open(run)
    assert on_disk(run)[0] == SCHEMA_VERSION + 1


def test_a_read_only_old_run_is_read_as_it_is(tmp_path, monkeypatch):
    # root ignores file modes, so open the database read-only the way SQLite would have to
    def read_only(path):
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)

    run = tmp_path / "run"
    make_v0_run(run, result(0))
    monkeypatch.setattr(arena.store, "connect", read_only)
    with Store.open(run) as store:
        assert store.schema_version == 0
        assert store.results(rounds=True) == [result(0).to_dict()]
        with pytest.raises(StoreError, match="read-only and from an older arena"):
            store.save(result(1))
    version, columns = on_disk(run)
    assert version == 0 and "forfeit" not in columns


def test_state_tells_a_run_from_nothing_a_leftover_and_a_stranger(tmp_path):
    assert Store.state(tmp_path / "nowhere") == "none"
    Store.create(tmp_path / "run", config=CONFIG).close()
    assert Store.state(tmp_path / "run") == "run"
    conn = sqlite3.connect(tmp_path / "run" / "arena.db")
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    conn.close()
    (tmp_path / "theirs").mkdir()
    conn = sqlite3.connect(tmp_path / "theirs" / "arena.db")
    conn.execute("CREATE TABLE notes(x)")
    conn.commit()
    conn.close()
    before = (tmp_path / "theirs" / "arena.db").read_bytes()
    for attempt in (lambda: Store.state(tmp_path / "theirs"),
                    lambda: Store.create(tmp_path / "theirs", config=CONFIG),
                    lambda: Store.open(tmp_path / "theirs")):
        with pytest.raises(StoreError, match="not an arena run .*notes.*left as it is"):
            attempt()
    assert (tmp_path / "theirs" / "arena.db").read_bytes() == before


def test_a_store_that_wrote_leaves_no_log_when_it_closes(tmp_path):
    with Store.create(tmp_path / "run", config=CONFIG) as store:
        store.save(result(0))
        reader = sqlite3.connect(tmp_path / "run" / "arena.db")  # the log stays while read
        assert reader.execute("SELECT COUNT(*) FROM matches").fetchone()[0] == 1
        reader.close()
        assert (tmp_path / "run" / "arena.db-wal").exists()
    assert not (tmp_path / "run" / "arena.db-wal").exists()
    version, _ = on_disk(tmp_path / "run")
    assert version == SCHEMA_VERSION


def test_resume_opens_only_a_sound_writable_run(tmp_path):
    Store.create(tmp_path / "run", config=CONFIG).close()
    with Store.open(tmp_path / "run", write=True) as store:
        store.save(result(0))
    conn = sqlite3.connect(tmp_path / "run" / "arena.db")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'matches'").fetchone()[0]
    conn.close()
    with open(tmp_path / "run" / "arena.db", "r+b") as db:
        db.seek((root - 1) * page_size)
        db.write(b"\x00" * 8)  # the matches table's page header
    with pytest.raises(StoreError, match=r"damaged .*\.recover"):
        Store.open(tmp_path / "run", write=True)


def runs_columns(directory) -> set[str]:
    conn = sqlite3.connect(directory / "arena.db")
    try:
        return {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    finally:
        conn.close()


def timed(index: int) -> MatchResult:
    match = result(index)
    for t, entry in enumerate(match.round_log):
        entry["latency_ms"] = {"a": 0.25 * t, "b": 1e-3 + t}
    return match


def test_a_run_records_model_identities_and_finds_one_match_by_key(tmp_path):
    models = {"a": {"engine": "hf", "model": "org/m", "sha256": "ab" * 32, "dtype": "float32",
                    "versions": {"torch": "2", "transformers": "5"}}}
    with Store.create(tmp_path / "run", config=CONFIG, models=models) as store:
        store.save(timed(0))
        store.save(result(1))
        assert store.run_info()["models"] == models
        assert store.result("rps/a-vs-b/0", rounds=True) == timed(0).to_dict()
        assert store.result("rps/a-vs-b/1")["round_log"] == []
        assert store.result("rps/a-vs-b/9") is None
    with Store.open(tmp_path / "run") as again:
        assert again.run_info()["models"] == models
    with Store.create(tmp_path / "bare", config=CONFIG) as store:
        assert store.run_info()["models"] == {}


def test_a_version_1_run_gains_latency_and_models_and_keeps_what_it_had(tmp_path):
    run = tmp_path / "run"
    make_v0_run(run, with_forfeits(0), schema=V0_FORFEIT_SCHEMA)
    conn = sqlite3.connect(run / "arena.db")
    conn.execute("PRAGMA user_version = 1")  # as the arena with only the first migration
    conn.close()
    assert "latency_ms" not in on_disk(run)[1] and "models" not in runs_columns(run)
    with Store.open(run) as store:
        assert SCHEMA_VERSION >= 3
        version, columns = on_disk(run)
        assert version == SCHEMA_VERSION and "latency_ms" in columns
        assert "models" in runs_columns(run)
        assert store.run_info()["models"] == {}  # NULL: recorded before identities
        old = store.results(rounds=True)[0]
        assert old == with_forfeits(0).to_dict()
        assert all("latency_ms" not in entry for entry in old["round_log"])  # NULL latency
        store.save(timed(1))
    with Store.open(run) as again:
        assert again.result("rps/a-vs-b/1", rounds=True) == timed(1).to_dict()


def test_a_read_only_old_run_reads_without_latency_or_models(tmp_path, monkeypatch):
    def read_only(path):
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)

    run = tmp_path / "run"
    make_v0_run(run, result(0))
    monkeypatch.setattr(arena.store, "connect", read_only)
    with Store.open(run) as store:
        assert store.schema_version == 0
        assert store.run_info()["models"] == {}
        assert store.result("rps/a-vs-b/0", rounds=True) == result(0).to_dict()
    assert "latency_ms" not in on_disk(run)[1] and "models" not in runs_columns(run)
