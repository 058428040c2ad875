"""``arena run`` under signals, replaying forfeits, and bots kept in any file."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from tests.test_cli import (
    ARENA,
    BOTS,
    ENV,
    FAULTS,
    _gated,
    _reference,
    arena,
    committed,
    exported,
    held,
    spawn,
    timeless,
    wait_for,
    write_config,
)


@pytest.mark.slow
@pytest.mark.parametrize(("signals", "code"), [
    ([signal.SIGTERM], 143),  # stops cleanly and says how to resume
    ([signal.SIGINT, signal.SIGINT], 130),  # the second Ctrl-C stops at once
], ids=["sigterm", "second-ctrl-c"])
def test_a_signal_stops_within_seconds_and_resume_finishes_the_same_run(tmp_path, signals,
                                                                          code):
    config, gate = _gated(tmp_path)
    reference = _reference(tmp_path, config, gate)
    out = tmp_path / "run"
    proc = spawn("run", str(config), "--out", str(out), "--no-live")
    wait_for(lambda: held(out, gate), proc=proc)
    start = time.monotonic()
    for sig in signals:
        proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=30)
    assert time.monotonic() - start < 10
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr and committed(out) == 4
    if len(signals) == 1:
        assert "--resume" in stdout
    gate.touch()
    done = arena("run", str(config), "--out", str(out), "--no-live", "--resume")
    assert done.returncode == 0, done.stderr
    assert timeless(exported(out, "--rounds")) == reference


@pytest.mark.slow
def test_retry_forfeits_replays_the_matches_that_timed_out(tmp_path):
    fixed = tmp_path / "fixed"
    config = write_config(tmp_path / "c.yaml", [
        {"name": "flaky", "type": FAULTS + "HangUnlessFile", "at": 3, "path": str(fixed)},
        *BOTS[:2]], timeout=1, concurrency=4)
    fixed.touch()
    clean = arena("run", str(config), "--out", str(tmp_path / "clean"), "--no-live")
    assert clean.returncode == 0, clean.stderr
    fixed.unlink()
    out = tmp_path / "run"
    first = arena("run", str(config), "--out", str(out), "--no-live")
    assert first.returncode == 0, first.stderr
    rows = exported(out)
    assert sum(r["status"] == "forfeit" for r in rows) == 4  # flaky's matches timed out
    resumed = arena("run", str(config), "--out", str(out), "--no-live", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert sum(r["status"] == "forfeit" for r in exported(out)) == 4  # kept without the flag
    fixed.touch()
    replay = arena("run", str(config), "--out", str(out), "--no-live", "--resume",
                   "--retry-forfeits")
    assert replay.returncode == 0, replay.stderr
    assert "Replaying 4 forfeited matches" in replay.stdout
    assert timeless(exported(out, "--rounds")) == timeless(exported(tmp_path / "clean",
                                                                     "--rounds"))


def test_retry_forfeits_needs_resume(tmp_path):
    config = write_config(tmp_path / "c.yaml", BOTS[:2])
    done = arena("run", str(config), "--out", str(tmp_path / "run"), "--retry-forfeits")
    assert done.returncode == 2 and "add --resume" in done.stderr


def test_a_bot_from_a_file_outside_the_repository(tmp_path):
    bots = tmp_path / "elsewhere" / "bots"
    bots.mkdir(parents=True)
    (bots / "mine.py").write_text(
        "import numpy as np\n"
        "from arena.agent import BaseAgent\n"
        "from arena.registry import register_agent\n\n\n"
        "@register_agent('always_paper')\n"
        "class AlwaysPaper(BaseAgent):\n"
        "    '''Paper, every round.'''\n"
        "    kinds = frozenset({'matrix'})\n\n"
        "    def distribution(self, observation, action_space):\n"
        "        return np.eye(self.n_actions(action_space))[1]\n\n\n"
        "class Scissors(BaseAgent):\n"
        "    def distribution(self, observation, action_space):\n"
        "        return np.eye(self.n_actions(action_space))[2]\n")
    configs = tmp_path / "elsewhere" / "configs"
    configs.mkdir()
    config = write_config(configs / "c.yaml", [
        {"name": "paper", "type": "always_paper"},
        {"name": "scissors", "type": "../bots/mine.py:Scissors"}],
        plugins=["../bots/mine.py"])
    # run from the repository root: the file paths are read from the config's folder
    done = arena("run", str(config), "--out", str(tmp_path / "run"), "--no-live")
    assert done.returncode == 0, done.stderr
    rows = exported(tmp_path / "run", "--rounds")
    assert [r["status"] for r in rows] == ["finished", "finished"]
    for row in rows:
        assert {e["actions"]["paper"] for e in row["round_log"]} == {1}
        assert {e["actions"]["scissors"] for e in row["round_log"]} == {2}
        assert row["scores"]["scissors"] == 10.0  # scissors cut paper, every round
    listed = arena("agents", "--plugin", str(bots / "mine.py"))
    assert listed.returncode == 0 and "always_paper" in listed.stdout
    assert "Paper, every round." in listed.stdout
    missing = arena("run", str(write_config(configs / "bad.yaml", BOTS[:2],
                                            plugins=["nope.py"])), "--no-live")
    assert missing.returncode == 2 and "plugins[0]" in missing.stderr
    assert "no such file" in missing.stderr


def test_an_async_agent_is_a_config_error(tmp_path):
    (tmp_path / "asyncbot.py").write_text(
        "class Waiter:\n"
        "    def reset(self, *, seed=None, **context): ...\n"
        "    async def act(self, observation, action_space):\n"
        "        return 0\n")
    config = write_config(tmp_path / "c.yaml", [{"name": "w", "type": "asyncbot.py:Waiter"},
                                                 BOTS[0]])
    done = subprocess.run([ARENA, "run", str(config), "--no-live"], cwd=tmp_path, env=ENV,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "agents[0].type" in done.stderr
    assert "'async def'" in done.stderr
