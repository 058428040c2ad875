"""The ``arena`` CLI as users run it: a subprocess on tiny configs.

Runs are paced by ``tests.arena.pacing_agents:WaitForFile`` (blocks until a file exists) and
observed by polling the run's database and the files the pacing agent leaves, so nothing
here depends on machine speed: no sleeps, no wall-clock bounds on how long a run takes.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
ARENA = shutil.which("arena", path=str(Path(sys.executable).parent)) or "arena"
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
FAULTS = "tests.arena.fault_agents:"


def arena(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([ARENA, *args], cwd=REPO, env=ENV, capture_output=True, text=True,
                          timeout=timeout)


def spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([ARENA, *args], cwd=REPO, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def write_config(path: Path, agents: list[dict], **changes) -> Path:
    data = {"name": "cli", "seed": 4, "game": {"id": "rps", "rounds": 10},
            "format": {"type": "round_robin", "matches": 1}, "agents": agents}
    data.update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


BOTS = [{"name": "rnd", "type": "uniform_random"}, {"name": "freq", "type": "frequency"},
        {"name": "cyc", "type": "cycle"}]


def committed(run_dir: Path) -> int:
    try:
        with sqlite3.connect(run_dir / "arena.db", timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM matches").fetchone()[0]
    except sqlite3.OperationalError:
        return -1  # not created yet


def wait_for(predicate, *, proc: subprocess.Popen | None = None, seconds: float = 300) -> None:
    """Poll ``predicate`` until it holds; fail at once if ``proc`` ended meanwhile, and
    after ``seconds`` (a bound for a hang, far above any machine's pace)."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the run ended (exit {proc.returncode}): "
                                 f"{proc.communicate()}")
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def exported(run_dir: Path, *extra: str) -> list[dict]:
    done = arena("export", str(run_dir), "--format", "jsonl", *extra)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def timeless(rows: list[dict]) -> list[dict]:
    """Rows without what measures time (when a match ran, how long each call took)."""
    from tests.arena.test_runner import timeless as without_timing

    return without_timing(rows)


def test_help_imports_nothing_heavy():
    done = arena("--help")
    assert done.returncode == 0 and "run" in done.stdout and "export" in done.stdout
    # what keeps it quick on any machine: torch and transformers are left for the commands
    probe = subprocess.run([sys.executable, "-c", "import sys, arena.cli; print(sorted(m for m "
                            "in ('torch', 'transformers') if m in sys.modules))"],
                           cwd=REPO, env=ENV, capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip() == "[]", probe.stderr


def test_agents_lists_registered_types_with_games():
    done = arena("agents")
    assert done.returncode == 0
    rows = {line.split("│")[1].strip(): line for line in done.stdout.splitlines()
            if line.startswith("│ ") and line.split("│")[1].strip()}
    assert {"uniform_random", "frequency", "constant"} <= set(rows)
    assert "rps, hide_and_seek" in rows["frequency"]  # the games of the class's kinds
    assert "creative_writing" in rows["fixed_text"] and "rps" not in rows["fixed_text"]


def _bad_configs(tmp: Path) -> list[tuple[str, Path, str]]:
    cases = [
        ("unknown agent type", write_config(tmp / "type.yaml", BOTS[:1] + [
            {"name": "x", "type": "no_such_bot"}]), "agents[1].type"),
        ("missing key", write_config(tmp / "missing.yaml", [
            {"name": "a", "type": "cycle"}, {"type": "cycle"}]), "agents[1].name"),
        ("wrong type", write_config(tmp / "wrong.yaml", BOTS, seed="many"), "seed"),
        ("bad option value", write_config(tmp / "value.yaml", BOTS[:1] + [
            {"name": "b", "type": "biased", "weights": [-1, 2]}]), "agents[1]"),
        ("unknown game argument", write_config(tmp / "arg.yaml", BOTS,
                                               game={"id": "rps", "roundz": 5}), "game.roundz"),
    ]
    yaml_file = tmp / "broken.yaml"
    yaml_file.write_text("name: x\nagents: [\n  {name: a\n")
    cases.append(("invalid YAML", yaml_file, "invalid YAML at line"))
    cases.append(("missing file", tmp / "absent.yaml", "no such file"))
    return cases


@pytest.mark.slow
def test_each_bad_config_is_one_clear_line_and_exit_2(tmp_path):
    for what, path, words in _bad_configs(tmp_path):
        done = arena("run", str(path), "--out", str(tmp_path / "out"), "--no-live")
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2, (what, done.stderr)
        assert len(lines) == 1 and lines[0].startswith("arena: error: "), (what, done.stderr)
        assert str(path) in lines[0] and words in lines[0], (what, lines[0])
        assert not (tmp_path / "out").exists()


def test_run_export_and_refuse_to_overwrite(tmp_path):
    config = write_config(tmp_path / "c.yaml", BOTS)
    out = tmp_path / "run"
    done = arena("run", str(config), "--out", str(out), "--no-live")
    assert done.returncode == 0, done.stderr
    assert str(out) in done.stdout and f"arena leaderboard {out}" in done.stdout
    rows = exported(out)
    assert len(rows) == 6 and [r["index"] for r in rows] == list(range(6))
    for row in rows:
        assert {"key", "game", "seed", "agents", "rounds", "scores", "status", "error"} <= set(row)
        assert row["rounds"] == 10 and row["status"] == "finished" and "round_log" not in row
        assert sum(row["scores"].values()) == 0
    logged = exported(out, "--rounds")
    first = logged[0]["round_log"][0]
    assert set(first["actions"]) == set(logged[0]["agents"])
    assert "rnd" in first["probabilities"] or "rnd" not in logged[0]["agents"]
    table = arena("export", str(out), "--format", "csv", "--out", str(tmp_path / "m.csv"))
    assert table.returncode == 0, table.stderr
    parsed = list(csv.DictReader(io.StringIO((tmp_path / "m.csv").read_text())))
    assert [r["key"] for r in parsed] == [r["key"] for r in rows]
    assert json.loads(parsed[0]["scores"]) == rows[0]["scores"]
    again = arena("run", str(config), "--out", str(out), "--no-live")
    assert again.returncode == 2 and "already exists" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert committed(out) == 6
    missing = arena("export", str(tmp_path / "nope"))
    assert missing.returncode == 2 and missing.stderr.startswith("arena: error: ")


@pytest.mark.slow
def test_a_hanging_agent_cannot_hold_the_run(tmp_path):
    config = write_config(tmp_path / "c.yaml", [
        {"name": "hang", "type": FAULTS + "Hang", "at": 3},
        {"name": "rnd", "type": "uniform_random"},
        {"name": "bad", "type": FAULTS + "Garbage", "at": 2}])
    # the hang would hold the run for ever without its timeout
    done = arena("run", str(config), "--out", str(tmp_path / "run"), "--no-live",
                 "--timeout", "1", "--concurrency", "2", timeout=300)
    assert done.returncode == 0, done.stderr
    rows = {r["key"]: r for r in exported(tmp_path / "run")}
    assert len(rows) == 6
    for key, row in rows.items():
        if "hang" in row["agents"]:
            assert row["status"] == "forfeit" and row["forfeited_by"] in ("hang", "bad"), key
        if row["agents"] == ["rnd", "bad"] or row["agents"] == ["bad", "rnd"]:
            assert row["forfeited_by"] == "bad" and "returned 99" in row["error"]
    assert rows["rps/hang-vs-rnd/0"]["error"].startswith("timed out after 1 s")


def test_auto_timeout_is_what_the_seated_agents_ask_for(tmp_path):
    config = write_config(tmp_path / "c.yaml", [
        {"name": "hang", "type": FAULTS + "QuickHang", "at": 3},
        {"name": "calm", "type": FAULTS + "QuickHang", "at": 1000}])  # no `timeout`: auto
    done = arena("run", str(config), "--out", str(tmp_path / "run"), "--no-live", timeout=300)
    assert done.returncode == 0, done.stderr
    rows = exported(tmp_path / "run")
    assert [r["status"] for r in rows] == ["forfeit", "forfeit"]
    assert all(r["error"].startswith("timed out after 1 s") for r in rows)


def _gated(tmp_path: Path) -> tuple[Path, Path]:
    """A run whose first four matches finish, then both workers wait in gate's matches
    until the file ``gate`` exists (no time limit: however slow the machine)."""
    gate = tmp_path / "open"
    config = write_config(tmp_path / "g.yaml", BOTS + [
        {"name": "gate", "type": "tests.arena.pacing_agents:WaitForFile", "path": str(gate),
         "wait_at": 2}],
        concurrency=2, timeout=None)
    return config, gate


def held(out: Path, gate: Path) -> bool:
    """The gated run has saved its first four matches and waits at the gate."""
    return committed(out) == 4 and Path(f"{gate}.waiting").exists()


def _reference(tmp_path: Path, config: Path, gate: Path) -> list[dict]:
    """The gated run, uninterrupted: played in this process (its worker processes come
    from this process's forkserver, started once for every test)."""
    from arena.launch import run_command

    gate.touch()
    assert run_command(str(config), out=str(tmp_path / "ref"), live=False) == 0
    gate.unlink()
    return timeless(exported(tmp_path / "ref", "--rounds"))


@pytest.mark.slow
def test_sigkill_then_resume_loses_and_repeats_nothing(tmp_path):
    config, gate = _gated(tmp_path)
    reference = _reference(tmp_path, config, gate)
    out = tmp_path / "run"
    proc = spawn("run", str(config), "--out", str(out), "--no-live")
    try:
        wait_for(lambda: held(out, gate), proc=proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    gate.touch()
    done = arena("run", str(config), "--out", str(out), "--no-live", "--resume")
    assert done.returncode == 0, done.stderr
    assert "4 already done" in done.stdout
    rows = timeless(exported(out, "--rounds"))
    assert len(rows) == 12 and len({r["key"] for r in rows}) == 12
    assert rows == reference


def test_ctrl_c_keeps_finished_matches_and_says_how_to_resume(tmp_path):
    config, gate = _gated(tmp_path)
    out = tmp_path / "run"
    proc = spawn("run", str(config), "--out", str(out), "--no-live")
    wait_for(lambda: held(out, gate), proc=proc)
    second = arena("run", str(config), "--out", str(out), "--no-live", "--resume")
    assert second.returncode == 2 and "in use by another arena run" in second.stderr
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert time.monotonic() - start < 10
    assert proc.returncode == 130, stderr
    assert "--resume" in stdout and str(out) in stdout and "Traceback" not in stderr
    assert committed(out) == 4
    gate.touch()
    done = arena("run", str(config), "--out", str(out), "--no-live", "--resume")
    assert done.returncode == 0, done.stderr
    assert committed(out) == 12
    changed = arena("run", str(config), "--out", str(out), "--no-live", "--resume",
                    "--set", "seed=5")
    assert changed.returncode == 2 and "different config (at seed)" in changed.stderr


def test_agent_class_from_outside_the_project(tmp_path):
    (tmp_path / "mybots.py").write_text(
        "import numpy as np\n\n"
        "class Stubborn:\n"
        "    '''No BaseAgent: the bare protocol (numpy ints are fine as actions).'''\n"
        "    def __init__(self, *, name, move=1):\n"
        "        self.name, self.move = name, move\n\n"
        "    def reset(self, *, seed=None, **context):\n"
        "        assert context['action_names'][0] == 'rock'\n\n"
        "    def act(self, observation, action_space):\n"
        "        return np.int64(self.move)\n")
    config = write_config(tmp_path / "c.yaml", [
        {"name": "mine", "type": "mybots:Stubborn", "move": 2}, BOTS[0]])
    done = subprocess.run([ARENA, "run", str(config), "--out", str(tmp_path / "run"),
                           "--no-live"], cwd=tmp_path, env=ENV, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    rows = exported(tmp_path / "run", "--rounds")
    assert [r["status"] for r in rows] == ["finished", "finished"]
    assert {e["actions"]["mine"] for r in rows for e in r["round_log"]} == {2}


def test_usage_errors_are_one_line_too():
    for args in (["run"], ["bogus"], ["run", "x.yaml", "--concurrency", "0"]):
        done = arena(*args)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1, (args, done.stderr)
        assert lines[0].startswith("arena: error: ") and "--help" in lines[0]
