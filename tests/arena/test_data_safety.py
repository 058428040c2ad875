"""Nothing lost (issue 16, items 1, 2, 4 and 5), replayed through the CLI as a user would.

* 1: ``--resume`` on a damaged run, or on someone else's SQLite file, deletes nothing: one
  line pointing to ``.recover``, exit 2, the file byte for byte as it was;
* 2: no ``--out`` may land on a run's own files, through links neither;
* 4: a full disk is one line, the saved matches intact, and says how to resume;
* 5: read-only runs are read in place; one whose log still holds matches is refused
  rather than read without them; a finished run leaves no log behind.

Read-only directories and a full disk are real (a read-only bind mount, a 300 KB tmpfs)
where the tests may mount, as root; the store-level tests fake them everywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from arena import store as store_module
from arena.errors import StoreError
from arena.records import MatchResult
from arena.store import Store
from arena.store_files import RUN_FILES, refuse_run_file

REPO = Path(__file__).resolve().parents[2]
ARENA = shutil.which("arena", path=str(Path(sys.executable).parent)) or "arena"
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def arena(*args: object, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ARENA, *map(str, args)], cwd=cwd, env=ENV, capture_output=True,
                          text=True, timeout=120)


def one_line_error(done: subprocess.CompletedProcess[str], *needles: str) -> str:
    """The single ``arena: error:`` line of a command that had to refuse."""
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("arena: error: "), done.stderr
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_config(path: Path, **changes: object) -> Path:
    data = {"name": "safe", "seed": 5, "game": {"id": "rps", "rounds": 5},
            "format": {"type": "round_robin", "matches": 2},
            "agents": [{"name": "a", "type": "uniform_random"}, {"name": "b", "type": "cycle"},
                       {"name": "c", "type": "constant"}]}
    data.update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A config and a finished run of it (12 matches); tests copy the run."""
    root = tmp_path_factory.mktemp("safety")
    config = write_config(root / "cfg.yaml")
    done = arena("run", config, "--out", root / "run", "--no-live")
    assert done.returncode == 0, done.stderr
    return config, root / "run"


@pytest.fixture
def run(finished: tuple[Path, Path], tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(finished[1], copy)
    return copy


def matches_in(run_dir: Path) -> int:
    conn = sqlite3.connect(f"file:{run_dir / 'arena.db'}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT COUNT(*) FROM matches").fetchone()[0]
    finally:
        conn.close()


# -- 1: a damaged or foreign database is never deleted ------------------------------
def test_resume_on_a_run_with_a_garbled_header_keeps_it_and_points_to_recover(finished, run):
    config, _ = finished
    with open(run / "arena.db", "r+b") as db:
        db.write(b"garbagegarbage!!")  # the 16-byte header
    before = digest(run / "arena.db")
    done = arena("run", config, "--out", run, "--resume", "--no-live", "--set", "game.rounds=7")
    line = one_line_error(done, "damaged", ".recover", str(run / "arena.db"))
    assert "kept" in line
    assert digest(run / "arena.db") == before
    assert sorted(p.name for p in run.iterdir()) == ["arena.db", "arena.lock"]
    for command in ("leaderboard", "matrix", "export", "graph"):
        one_line_error(arena(command, run), "damaged", ".recover")
    assert digest(run / "arena.db") == before


def test_resume_on_someone_elses_sqlite_file_leaves_it_alone(finished, tmp_path):
    config, _ = finished
    mine = tmp_path / "mine"
    mine.mkdir()
    conn = sqlite3.connect(mine / "arena.db")
    conn.execute("CREATE TABLE customers(id)")
    conn.execute("INSERT INTO customers VALUES (42)")
    conn.commit()
    conn.close()
    before = digest(mine / "arena.db")
    one_line_error(arena("run", config, "--out", mine, "--resume", "--no-live"),
                   "not an arena run", "customers")
    assert digest(mine / "arena.db") == before
    with sqlite3.connect(mine / "arena.db") as again:
        assert again.execute("SELECT id FROM customers").fetchall() == [(42,)]
    one_line_error(arena("export", mine), "not an arena run")


def test_resume_on_a_run_damaged_inside_refuses_to_write_into_it(finished, run):
    config, _ = finished
    conn = sqlite3.connect(run / "arena.db")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'rounds'").fetchone()[0]
    conn.close()
    with open(run / "arena.db", "r+b") as db:  # the rounds table's root page
        db.seek((root - 1) * page_size + 8)
        db.write(b"\xff" * 64)
    before = digest(run / "arena.db")
    one_line_error(arena("run", config, "--out", run, "--resume", "--no-live"),
                   "damaged", ".recover")
    assert digest(run / "arena.db") == before


def test_the_store_never_unlinks_what_it_did_not_make(tmp_path):
    config = {"name": "s", "games": [], "agents": []}
    garbled = tmp_path / "garbled"
    garbled.mkdir()
    (garbled / "arena.db").write_bytes(b"not a database, but somebody's bytes" * 200)
    (garbled / "arena.db-wal").write_bytes(b"and their log")
    for attempt in (lambda: Store.create(garbled, config=config), lambda: Store.open(garbled),
                    lambda: Store.open(garbled, write=True), lambda: Store.state(garbled)):
        with pytest.raises(StoreError, match=r"damaged .*\.recover"):
            attempt()
    assert (garbled / "arena.db").read_bytes().startswith(b"not a database")
    assert (garbled / "arena.db-wal").read_bytes() == b"and their log"
    assert not Store.holds_run(garbled)  # a yes/no question: never raises
    # a directory, or a link to nothing, where the database should be
    (tmp_path / "dir" / "arena.db").mkdir(parents=True)
    with pytest.raises(StoreError, match="not a file"):
        Store.create(tmp_path / "dir", config=config)
    (tmp_path / "dangling").mkdir()
    (tmp_path / "dangling" / "arena.db").symlink_to(tmp_path / "nowhere")
    with pytest.raises(StoreError, match="not a file"):
        Store.create(tmp_path / "dangling", config=config)
    assert not (tmp_path / "nowhere").exists()


def test_a_run_killed_before_its_first_commit_is_started_in_place(tmp_path):
    # the schema transaction was open when the process died: a hot log, nothing committed
    run = tmp_path / "run"
    run.mkdir()
    code = ("import os, sqlite3\n"
            f"c = sqlite3.connect({str(run / 'arena.db')!r}, isolation_level=None)\n"
            "c.execute('PRAGMA journal_mode=WAL'); c.execute('BEGIN IMMEDIATE')\n"
            "c.execute('CREATE TABLE runs(x)'); c.execute('INSERT INTO runs VALUES (1)')\n"
            "os._exit(0)\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert Store.state(run) == "empty"
    with Store.create(run, config={"name": "s", "games": [], "agents": []}) as store:
        assert store.count() == 0 and Store.state(run) == "run"


# -- 2: an output path never lands on a run's files ---------------------------------
@pytest.mark.parametrize("name", RUN_FILES)
def test_export_refuses_every_file_of_the_run(run, name):
    before = digest(run / "arena.db")
    one_line_error(arena("export", run, "--out", run / name), "nothing was written")
    assert digest(run / "arena.db") == before
    assert matches_in(run) == 12


def test_export_refuses_the_run_through_symlinks_and_hard_links(run, tmp_path):
    before = digest(run / "arena.db")
    (tmp_path / "link.jsonl").symlink_to(run / "arena.db")
    (tmp_path / "dirlink").symlink_to(run)
    os.link(run / "arena.db", tmp_path / "hard.jsonl")
    for out in (tmp_path / "link.jsonl", tmp_path / "dirlink" / "arena.db",
                tmp_path / "hard.jsonl", Path(os.path.relpath(run / "arena.db", REPO))):
        one_line_error(arena("export", run, "--format", "csv", "--out", out), "arena.db")
    # another run's database, and any SQLite file, are refused too
    other = tmp_path / "copy-of-a-run.db"
    shutil.copy(run / "arena.db", other)
    one_line_error(arena("export", run, "--out", other), "an SQLite database")
    assert digest(run / "arena.db") == before == digest(other)
    assert matches_in(run) == 12


def test_an_export_beside_the_run_is_fine(run):
    done = arena("export", run, "--out", run / "matches.jsonl")
    assert done.returncode == 0, done.stderr
    assert len((run / "matches.jsonl").read_text().splitlines()) == 12


def test_graph_refuses_to_draw_over_the_run(run, tmp_path):
    pytest.importorskip("matplotlib")
    before = digest(run / "arena.db")
    (tmp_path / "g.png").symlink_to(run / "arena.db")
    for out in (run / "arena.db", tmp_path / "g.png", run / "arena.lock"):
        one_line_error(arena("graph", run, "--out", out), "nothing was written")
    assert digest(run / "arena.db") == before


def test_refuse_run_file_by_name_beside_any_run(tmp_path):
    other = tmp_path / "other"
    Store.create(other, config={"name": "o", "games": [], "agents": []}).close()
    with pytest.raises(StoreError, match="arena.db-wal of the run"):
        refuse_run_file(other / "arena.db-wal")  # not yet there, and not the run exported
    refuse_run_file(other / "report.jsonl", other)  # beside it: fine
    refuse_run_file(tmp_path / "arena.db", other)  # no run there: fine


def test_a_failed_export_leaves_the_previous_file(run, tmp_path, monkeypatch):
    from arena import export as export_module

    out = tmp_path / "old.jsonl"
    out.write_text("yesterday's export\n")
    os.chmod(out, 0o640)

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_module, "export", boom)
    with pytest.raises(export_module.ArenaError, match="No space left on device"):
        export_module.export_command(run, out=str(out))
    assert out.read_text() == "yesterday's export\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
    monkeypatch.undo()
    assert export_module.export_command(run, out=str(out)) == 12
    assert len(out.read_text().splitlines()) == 12 and out.stat().st_mode & 0o777 == 0o640


# -- 4: a full disk -------------------------------------------------------------------
def result(index: int) -> MatchResult:
    log = [{"actions": {"a": t % 3, "b": 1}, "probabilities": {"a": [1 / 3] * 3},
            "rewards": {"a": 0.0, "b": 0.0}} for t in range(200)]
    return MatchResult(key=f"rps/a-vs-b/{index}", game="rps", index=index, seed=index,
                       agents=["a", "b"], roles=["player_0", "player_1"],
                       scores={"a": 0.0, "b": 0.0}, rounds=200, round_log=log)


def test_a_full_disk_is_one_line_and_keeps_the_saved_matches(tmp_path):
    store = Store.create(tmp_path / "run", config={"name": "s", "games": [], "agents": []})
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages + 12}")  # SQLite's own "disk is full"
    saved = 0
    with pytest.raises(StoreError) as info:
        for i in range(100):
            store.save(result(i))
            saved += 1
    message = str(info.value)
    assert saved > 0 and "\n" not in message
    assert "disk is full" in message and f"the {saved} matches saved before it are intact" in message
    assert "cannot rollback" not in message and "resume" in message
    assert store.count() == saved
    store.close()
    with Store.open(tmp_path / "run", write=True) as again:  # and it resumes
        assert again.count() == saved
        again.save(result(saved))


def mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or not mount("-t", "tmpfs", "-o", "size=300k", "tmpfs", str(disk)):
        pytest.skip("needs root to mount a small tmpfs")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_run_on_a_full_disk_stops_with_one_line_and_a_resume_hint(finished, tiny_disk):
    config, _ = finished
    out = tiny_disk / "run"
    done = arena("run", config, "--out", out, "--no-live", "--set", "game.rounds=300",
                 "--set", "format.matches=10")
    line = one_line_error(done, "disk is full", "intact", "resume with: arena run",
                          f"--out {out} --resume", "--set game.rounds=300")
    assert "cannot rollback" not in line
    assert "run finished" not in done.stdout and "run interrupted" in done.stdout
    saved = matches_in(out)
    assert saved > 0
    rows = [json.loads(x) for x in arena("export", out).stdout.splitlines()]
    assert len(rows) == saved and all(r["rounds"] == 300 for r in rows)


# -- 5: read-only runs ------------------------------------------------------------------
@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """tmp_path/ro: a read-only view of tmp_path/rw (a bind mount; root only)."""
    rw, ro = tmp_path / "rw", tmp_path / "ro"
    rw.mkdir()
    ro.mkdir()
    if os.geteuid() != 0 or not mount("--bind", str(rw), str(ro)):
        pytest.skip("needs root to make a read-only bind mount")
    try:
        if not mount("-o", "remount,bind,ro", str(ro)):
            pytest.skip("cannot remount read-only")
        yield ro
    finally:
        subprocess.run(["umount", "-l", str(ro)], check=False)


def test_a_finished_run_leaves_no_log_behind(finished):
    _, done = finished
    assert sorted(p.name for p in done.iterdir()) == ["arena.db", "arena.lock"]


def test_read_only_runs_are_readable_and_refuse_resume_in_one_line(finished, read_only):
    config, done = finished
    shutil.copytree(done, read_only.parent / "rw" / "run")
    run = read_only / "run"
    board = arena("leaderboard", run, "--format", "json")
    assert board.returncode == 0, board.stderr
    assert {row["agent"] for row in json.loads(board.stdout)} == {"a", "b", "c"}
    assert arena("matrix", run).returncode == 0
    assert len(arena("export", run, "--rounds").stdout.splitlines()) == 12
    one_line_error(arena("run", config, "--out", run, "--resume", "--no-live"),
                   "read-only", "cp -r")


def test_a_read_only_run_with_matches_in_its_log_is_refused_not_misread(finished, read_only):
    _, done = finished
    rw = read_only.parent / "rw" / "run"
    shutil.copytree(done, rw)
    code = ("import os, sqlite3\n"  # a run killed with a match in its log only
            f"c = sqlite3.connect({str(rw / 'arena.db')!r}, isolation_level=None)\n"
            "c.execute('PRAGMA wal_autocheckpoint=0')\n"
            "c.execute(\"DELETE FROM matches WHERE idx = 0\")\n"
            "os._exit(0)\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    (rw / "arena.db-shm").unlink()  # copied without it, say
    for command in ("leaderboard", "export", "matrix"):
        one_line_error(arena(command, read_only / "run"), "read-only", "arena.db-wal",
                       "would lose them")
    # where the log can be read, it is
    assert len(arena("export", rw).stdout.splitlines()) == 11


def fake_read_only_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite as it behaves in a read-only directory without the -shm file: only an
    ``immutable`` connection opens."""
    real = sqlite3.connect

    def connect(database, *args, **kwargs):
        if "immutable=1" not in str(database):
            raise sqlite3.OperationalError("unable to open database file")
        return real(database, *args, **kwargs)

    monkeypatch.setattr(store_module.sqlite3, "connect", connect)


def test_read_only_fallback_reads_a_checkpointed_run_and_refuses_a_hot_log(tmp_path,
                                                                           monkeypatch):
    run = tmp_path / "run"
    with Store.create(run, config={"name": "s", "games": [], "agents": []}) as store:
        store.save(result(0))
    assert not (run / "arena.db-wal").exists()  # checkpointed on close
    fake_read_only_directory(monkeypatch)
    with Store.open(run) as store:
        assert store.read_only and store.count() == 1
        with pytest.raises(StoreError, match="opened read-only"):
            store.save(result(1))
    with pytest.raises(StoreError, match="read-only.*--resume needs to write"):
        Store.open(run, write=True)
    (run / "arena.db-wal").write_bytes(b"\x37\x7f\x06\x82" + bytes(4000))
    with pytest.raises(StoreError, match=r"arena.db-wal still holds 4004 bytes .* would lose"):
        Store.open(run)
