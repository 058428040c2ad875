"""Language models in Ray actors (the session's ``ray start --head``): the same records
as a local run, an actor killed mid-run restarted with its matches played again exactly,
and one that cannot come back stopping the run for ``--resume``."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.ray.cluster import arena, records, run_processes, spawn
from tests.ray.test_bots_on_ray import assert_nothing_left, read_lines, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.ray]


def write(path: Path, model: Path, *, gate: Path | None = None, **changes) -> Path:
    opponent = ({"name": "gate", "type": "tests.ray.ray_agents:PidGate", "path": str(gate)}
                if gate else {"name": "cyc", "type": "cycle"})
    data = {"name": "models", "seed": 11, "game": {"id": "rps", "rounds": 6},
            "format": {"type": "round_robin", "matches": 1}, "concurrency": 2,
            "agents": [{"name": "tiny", "type": "hf", "model": str(model), "dtype": "float32",
                        "prompt_format": "chat", "mode": "distribution"},
                       opponent, {"name": "rnd", "type": "uniform_random"}]}
    data.update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def assert_same(got: list[dict], expected: list[dict]) -> None:
    """Same matches, actions and scores; probabilities within 1e-5 (other matches in a
    batch may change the last bits)."""
    assert [r["key"] for r in got] == [r["key"] for r in expected]
    for a, b in zip(got, expected, strict=True):
        assert (a["status"], a["scores"], a["error"]) == (b["status"], b["scores"], b["error"])
        for x, y in zip(a["round_log"], b["round_log"], strict=True):
            assert x["actions"] == y["actions"]
            for name, probs in x["probabilities"].items():
                if probs is not None:
                    assert np.allclose(probs, y["probabilities"][name], atol=1e-5)


def test_a_tiny_model_gives_the_same_records_on_ray_as_locally(tmp_path, ray_head, tiny_llama):
    config = write(tmp_path / "c.yaml", tiny_llama)
    local = arena("run", str(config), "--out", str(tmp_path / "local"), "--no-live")
    assert local.returncode == 0, local.stderr
    on_ray = arena("run", str(config), "--out", str(tmp_path / "ray"), "--no-live",
                   "--ray", ray_head.address)
    assert on_ray.returncode == 0, on_ray.stderr
    rows = records(tmp_path / "ray")
    assert len(rows) == 6 and all(r["status"] == "finished" for r in rows)
    assert_same(rows, records(tmp_path / "local"))
    assert_nothing_left(ray_head)


def _kill_the_model_mid_match(tmp_path: Path, head, config: Path, gate: Path,
                              out: Path) -> tuple[int, list[str]]:
    proc = spawn("run", str(config), "--out", str(out), "--no-live", "--ray", head.address)
    lines = read_lines(proc.stderr)
    wait_until(lambda: any("waits in process" in line for line in lines), seconds=300)
    actors = [pid for pid, title in run_processes(head) if title.startswith("ray::ModelActor")]
    assert len(actors) == 1, run_processes(head)
    os.kill(actors[0], signal.SIGKILL)
    gate.touch()
    return proc.wait(timeout=600), lines


def test_a_killed_model_actor_is_restarted_and_its_matches_replayed_exactly(
        tmp_path, ray_head, tiny_llama):
    gate = tmp_path / "gate"
    config = write(tmp_path / "c.yaml", tiny_llama, gate=gate)
    gate.touch()
    reference = arena("run", str(config), "--out", str(tmp_path / "ref"), "--no-live")
    assert reference.returncode == 0, reference.stderr
    gate.unlink()
    code, lines = _kill_the_model_mid_match(tmp_path, ray_head, config, gate,
                                            tmp_path / "run")
    output = "".join(lines)
    assert code == 0, output
    rows = records(tmp_path / "run")
    assert all(r["status"] == "finished" for r in rows)
    assert_same(rows, records(tmp_path / "ref"))
    assert_nothing_left(ray_head)


def test_a_model_actor_that_cannot_come_back_stops_the_run_and_resume_completes(
        tmp_path, ray_head, tiny_llama):
    gate = tmp_path / "gate"
    config = write(tmp_path / "c.yaml", tiny_llama, gate=gate,
                   executor={"type": "ray", "address": ray_head.address,
                             "model_restarts": 0})
    gate.touch()
    reference = arena("run", str(config), "--out", str(tmp_path / "ref"), "--no-live")
    assert reference.returncode == 0, reference.stderr
    gate.unlink()
    out = tmp_path / "run"
    code, lines = _kill_the_model_mid_match(tmp_path, ray_head, config, gate, out)
    assert code == 3, "".join(lines)
    assert "could not be restarted" in "".join(lines) and "--resume" in "".join(lines)
    assert_nothing_left(ray_head)
    resumed = arena("run", str(config), "--out", str(out), "--no-live", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert_same(records(out), records(tmp_path / "ref"))
