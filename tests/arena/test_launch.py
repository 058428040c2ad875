"""``arena run`` in-process: errors that must name the config file and the key the user wrote."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from arena.errors import ArenaError, ConfigError
from arena.launch import run_command
from tests.arena.fault_agents import HangInInit


def write(path: Path, **changes) -> Path:
    data = {"name": "t", "seed": 2, "games": [{"id": "rps", "rounds": 4}],
            "agents": [{"name": "a", "type": "uniform_random"},
                       {"name": "b", "type": "cycle"}]}
    data.update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_clashing_match_keys_name_the_config_file(tmp_path):
    # ("x", "y-vs-z") and ("x-vs-y", "z") both give the key rps/x-vs-y-vs-z/0
    clash = [{"name": n, "type": "uniform_random"} for n in ("x", "y-vs-z", "x-vs-y", "z")]
    config = write(tmp_path / "clash.yaml", agents=clash)
    with pytest.raises(ConfigError) as info:
        run_command(str(config), out=str(tmp_path / "run"), live=False)
    assert str(info.value).startswith(f"{config}: agents: two matches get the key")
    assert not (tmp_path / "run").exists()


def test_resume_names_the_changed_key_as_written(tmp_path, capsys):
    config = write(tmp_path / "c.yaml")
    out = str(tmp_path / "run")
    assert run_command(str(config), out=out, live=False) == 0
    with pytest.raises(ArenaError, match=r"different config \(at games\[0\]\.rounds\)"):
        run_command(str(config), out=out, resume=True, live=False,
                    overrides=["games[0].rounds=5"])
    with pytest.raises(ArenaError, match=r"different config \(at agents\[1\]\.step\)"):
        run_command(str(write(tmp_path / "c.yaml", agents=[
            {"name": "a", "type": "uniform_random"},
            {"name": "b", "type": "cycle", "step": 2}])), out=out, resume=True, live=False)
    assert "Results:" in capsys.readouterr().out


def test_a_constructor_that_never_returns_fails_fast_as_a_config_error(tmp_path):
    config = write(tmp_path / "c.yaml", timeout=1, agents=[
        {"name": "a", "type": "uniform_random"},
        {"name": "stuck", "type": "tests.arena.fault_agents:HangInInit"}])
    HangInInit.release.clear()
    start = time.monotonic()
    try:
        with pytest.raises(ConfigError, match=r"agents\[1\]: building agent 'stuck' did not "
                                              r"finish within 1 s"):
            run_command(str(config), out=str(tmp_path / "run"), live=False)
        assert time.monotonic() - start < 5
    finally:
        HangInInit.release.set()
    assert not (tmp_path / "run").exists()


def test_a_run_directory_that_cannot_be_made_is_one_line(tmp_path):
    config = write(tmp_path / "c.yaml")
    with pytest.raises(ArenaError, match=r"cannot create the run directory .*Not a directory"):
        run_command(str(config), out=str(config / "run"), live=False)


def test_resume_never_deletes_a_damaged_run(tmp_path):
    from arena.errors import StoreError

    config = write(tmp_path / "c.yaml")
    out = tmp_path / "run"
    assert run_command(str(config), out=str(out), live=False) == 0
    db = out / "arena.db"
    with open(db, "r+b") as handle:
        handle.write(b"garbagegarbage!!")
    before = db.read_bytes()
    with pytest.raises(StoreError, match=r"damaged \(file is not a database\); it was kept .*"
                                         r"\.recover"):
        run_command(str(config), out=str(out), resume=True, live=False,
                    overrides=["games[0].rounds=7"])
    assert db.read_bytes() == before


def test_a_run_directory_that_cannot_be_written_is_one_line(tmp_path, monkeypatch):
    import errno

    import filelock

    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(filelock.FileLock, "acquire", read_only)
    config = write(tmp_path / "c.yaml")
    with pytest.raises(ArenaError, match=r"cannot write in the run directory .* \(Read-only "
                                         r"file system\).*copy it \(cp -r"):
        run_command(str(config), out=str(tmp_path / "run"), resume=True, live=False)


def test_a_run_records_the_arena_that_made_it(tmp_path):
    from arena import __version__
    from arena.store import Store

    config = write(tmp_path / "c.yaml")
    assert run_command(str(config), out=str(tmp_path / "run"), live=False) == 0
    with Store.open(tmp_path / "run") as store:
        versions = store.run_info()["versions"]
    assert versions["arena"] == __version__ and "numpy" in versions and "python" in versions
