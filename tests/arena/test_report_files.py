"""``arena report``: what it merges across runs, and the files it writes."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
import yaml

import arena.report
from arena.errors import ArenaError
from arena.launch import run_command
from arena.report import write_report
from arena.report_data import load_runs


def numbers_run(root: Path, name: str, agents: list[dict]) -> Path:
    config = root / f"{name}.yaml"
    config.write_text(yaml.safe_dump({
        "name": name, "seed": 5,
        "game": {"id": "random_number", "low": 0, "high": 10, "length": 10},
        "format": {"type": "solo", "episodes": 2}, "agents": agents}, sort_keys=False))
    out = root / name
    assert run_command(str(config), out=str(out), live=False) == 0
    return out


def test_an_agent_whose_tags_differ_between_runs_is_shown_twice(tmp_path: Path) -> None:
    first = numbers_run(tmp_path, "first", [
        {"name": "lm", "type": "uniform_random", "family": "toy", "aligned": False},
        {"name": "same", "type": "uniform_random", "family": "toy"}])
    second = numbers_run(tmp_path, "second", [
        {"name": "lm", "type": "uniform_random", "family": "toy", "aligned": True},
        {"name": "same", "type": "uniform_random"}])  # an unset tag: the same agent
    loaded = load_runs([first, second])
    assert loaded.agents["lm"]["aligned"] is False and loaded.agents["lm"]["runs"] == ["first"]
    assert loaded.agents["second/lm"]["aligned"] is True
    assert loaded.agents["same"]["runs"] == ["first", "second"]
    assert loaded.agents["same"]["family"] == "toy"
    agents = {a for r in loaded.sections["random_number"].records for a in r["agents"]}
    assert agents == {"lm", "second/lm", "same"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return numbers_run(tmp_path_factory.mktemp("report"), "numbers",
                       [{"name": "rnd", "type": "uniform_random"}])


def test_a_failed_write_leaves_the_previous_report_whole(run_dir: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch):
    out = tmp_path / "r.html"
    write_report([run_dir], out)
    before = out.read_bytes(), out.with_suffix(".json").read_bytes()

    def full_disk(data: dict) -> str:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(arena.report, "to_json", full_disk)
    with pytest.raises(ArenaError, match="No space left on device.*as it was"):
        write_report([run_dir], out)
    assert (out.read_bytes(), out.with_suffix(".json").read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "r.json"]  # no leftovers


def test_the_json_beside_the_report_never_replaces_someone_elses_file(run_dir: Path,
                                                                      tmp_path: Path) -> None:
    mine = tmp_path / "notes.json"
    mine.write_text('{"my": "data"}\n')
    with pytest.raises(ArenaError, match=r"notes\.json already exists and is not an arena "
                                         r"report's JSON.*nothing was written"):
        write_report([run_dir], tmp_path / "notes.html")
    assert mine.read_text() == '{"my": "data"}\n'
    assert not (tmp_path / "notes.html").exists()
    # a report's own JSON is replaced as the report is
    html, sidecar, _ = write_report([run_dir], tmp_path / "again.html")
    first = json.loads(sidecar.read_text())
    write_report([run_dir], html)
    assert json.loads(sidecar.read_text())["format"] == first["format"] == "arena-analysis"
