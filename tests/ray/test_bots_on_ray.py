"""Bots' matches as tasks on a real Ray cluster (the session's ``ray start --head``):
the same records as a local run, timeouts and dead workers forfeited as locally,
plugin files shipped to the workers, and nothing of a run left behind."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.ray.cluster import arena, cluster_leftovers, records, run_processes, spawn

pytestmark = [pytest.mark.slow, pytest.mark.ray]

BOTS = [{"name": "rnd", "type": "uniform_random"}, {"name": "freq", "type": "frequency"},
        {"name": "cyc", "type": "cycle"}]


def write(path: Path, agents: list[dict], **changes) -> Path:
    data = {"name": "ray", "seed": 7, "games": [{"id": "rps", "rounds": 30},
                                                {"id": "hide_and_seek", "rounds": 10}],
            "format": {"type": "round_robin", "matches": 1}, "agents": agents,
            "concurrency": 2}
    data.update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def read_lines(stream) -> list[str]:
    """Lines of ``stream`` as they come (read by a thread into the list returned)."""
    lines: list[str] = []

    def read() -> None:
        for line in stream:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def wait_until(predicate, *, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "the run did not get there"
        time.sleep(0.05)


def assert_nothing_left(head) -> None:
    wait_until(lambda: not run_processes(head), seconds=60)
    left = {}

    def clean() -> bool:
        left.update(cluster_leftovers(head))
        return left["actors"] == 0 and not any(left["held"].values())

    wait_until(clean, seconds=60)


def test_bots_give_the_same_records_on_ray_as_locally(tmp_path, ray_head):
    config = write(tmp_path / "c.yaml", BOTS)
    local = arena("run", str(config), "--out", str(tmp_path / "local"), "--no-live")
    assert local.returncode == 0, local.stderr
    on_ray = arena("run", str(config), "--out", str(tmp_path / "ray"), "--no-live",
                   "--ray", ray_head.address)
    assert on_ray.returncode == 0, on_ray.stderr
    assert "on 127.0.0.1/" in on_ray.stdout  # each line says which node played it
    assert records(tmp_path / "ray") == records(tmp_path / "local")
    assert len(records(tmp_path / "ray")) == 12
    assert_nothing_left(ray_head)


def test_a_run_started_locally_resumes_on_ray_and_the_reverse(tmp_path, ray_head):
    gate = tmp_path / "gate"
    config = write(tmp_path / "c.yaml", [*BOTS[:2], {
        "name": "gate", "type": "tests.ray.ray_agents:PidGate", "path": str(gate)}],
        games=[{"id": "rps", "rounds": 10}], concurrency=1)
    gate.touch()
    reference = arena("run", str(config), "--out", str(tmp_path / "ref"), "--no-live")
    assert reference.returncode == 0, reference.stderr
    gate.unlink()
    for first, then in ((None, ray_head.address), (ray_head.address, None)):
        out = tmp_path / f"run-{first is None}"
        proc = spawn("run", str(config), "--out", str(out), "--no-live",
                     *(("--ray", first) if first else ()))
        wait_until(lambda: any(tmp_path.glob("gate.*")))  # a gated match is under way
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)
        assert proc.returncode == 130
        gate.touch()
        resumed = arena("run", str(config), "--out", str(out), "--no-live", "--resume",
                        *(("--ray", then) if then else ()))
        assert resumed.returncode == 0, resumed.stderr
        assert records(out) == records(tmp_path / "ref")
        gate.unlink()
        for marker in tmp_path.glob("gate.*"):
            marker.unlink()


def test_a_hanging_bot_is_forfeited_at_its_timeout_and_others_are_untouched(tmp_path,
                                                                           ray_head):
    config = write(tmp_path / "c.yaml", [
        *BOTS[:2], {"name": "hang", "type": "tests.arena.fault_agents:Hang", "at": 3}],
        games=[{"id": "rps", "rounds": 20}], timeout=3)
    local = arena("run", str(config), "--out", str(tmp_path / "local"), "--no-live")
    assert local.returncode == 0, local.stderr
    on_ray = arena("run", str(config), "--out", str(tmp_path / "ray"), "--no-live",
                   "--ray", ray_head.address)
    assert on_ray.returncode == 0, on_ray.stderr
    rows = records(tmp_path / "ray")
    hung = [r for r in rows if "hang" in r["agents"]]
    assert len(hung) == 4 and all(
        r["status"] == "forfeit" and r["forfeited_by"] == "hang"
        and r["error"] == "timed out after 3 s: hang did not answer" for r in hung)
    assert all(r["status"] == "finished" for r in rows if "hang" not in r["agents"])
    assert rows == records(tmp_path / "local")
    assert_nothing_left(ray_head)


def test_a_killed_worker_costs_only_its_match_and_retry_replays_it(tmp_path, ray_head):
    gate = tmp_path / "gate"
    config = write(tmp_path / "c.yaml", [*BOTS[:2], {
        "name": "gate", "type": "tests.ray.ray_agents:PidGate", "path": str(gate)}],
        games=[{"id": "rps", "rounds": 10}])
    gate.touch()
    reference = arena("run", str(config), "--out", str(tmp_path / "ref"), "--no-live")
    assert reference.returncode == 0, reference.stderr
    gate.unlink()
    out = tmp_path / "run"
    proc = spawn("run", str(config), "--out", str(out), "--no-live", "--ray", ray_head.address)
    lines = read_lines(proc.stderr)
    # the run printed the gate's warning: it knows the gate is being called (so the kill
    # is blamed on it, as a worker process's would be)
    wait_until(lambda: any("waits in process" in line for line in lines))
    victim = int(next(line for line in lines if "waits in process" in line).split()[-1])
    assert (victim, "ray::arena_match") in [(p, t.split()[0]) for p, t in
                                           run_processes(ray_head)]
    os.kill(victim, signal.SIGKILL)
    gate.touch()  # the other gated matches go on
    assert proc.wait(timeout=300) == 0, "".join(lines)
    rows = records(out)
    lost = [r for r in rows if r["status"] == "forfeit"]
    assert len(lost) == 1 and lost[0]["forfeited_by"] == "gate"
    assert lost[0]["error"].startswith("the match's process ended (Ray: ")
    assert [r for r in rows if r["status"] == "finished"] == [
        r for r in records(tmp_path / "ref") if r["key"] != lost[0]["key"]]
    again = arena("run", str(config), "--out", str(out), "--no-live", "--resume",
                  "--retry-forfeits", "--ray", ray_head.address)
    assert again.returncode == 0, again.stderr
    assert "Replaying 1 forfeited matches" in again.stdout
    assert records(out) == records(tmp_path / "ref")
    assert_nothing_left(ray_head)


PLUGIN = '''
from pathlib import Path

from arena.agent import BaseAgent
from arena.registry import register_agent


@register_agent("shipped_bot")
class Shipped(BaseAgent):
    """Plays paper, and says which copy of this file it was loaded from."""

    def act(self, observation, action_space):
        return 1

    def stats(self):
        return {"loaded_from": [str(Path(__file__).resolve())]}
'''


def test_plugin_files_and_file_types_play_on_the_workers(tmp_path, ray_head):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "plug.py").write_text(PLUGIN)
    (folder / "typed.py").write_text(PLUGIN.replace('@register_agent("shipped_bot")\n', "")
                                     .replace("return 1", "return 2"))
    config = write(tmp_path / "c.yaml", [
        {"name": "plugged", "type": "shipped_bot"},
        {"name": "typed", "type": "mine/typed.py:Shipped"}],
        games=[{"id": "rps", "rounds": 5}], plugins=["mine/plug.py"])
    done = arena("run", str(config), "--out", str(tmp_path / "run"), "--no-live",
                 "--ray", ray_head.address)
    assert done.returncode == 0, done.stderr
    rows = records(tmp_path / "run")
    assert [r["status"] for r in rows] == ["finished", "finished"]
    for row in rows:
        assert {e["actions"]["plugged"] for e in row["round_log"]} == {1}
        assert {e["actions"]["typed"] for e in row["round_log"]} == {2}
        for name, original in (("plugged", "plug.py"), ("typed", "typed.py")):
            (loaded,) = row["stats"][name]["loaded_from"]
            # the run's own copy, shipped with the job, not the file in tmp_path
            assert loaded.endswith(original) and "py_modules_files" in loaded
            assert not loaded.startswith(str(tmp_path))
