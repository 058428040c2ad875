"""How a run reaches a cluster: the four address forms, the config's ``executor`` and the
flag that wins over it, one line and exit 2 for every way it can fail, and no Ray at all
in a local run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.ray.cluster import arena, records
from tests.ray.conftest import REPO, ray_env

pytestmark = pytest.mark.ray

BOTS = [{"name": "rnd", "type": "uniform_random"}, {"name": "cyc", "type": "cycle"}]


def write(path: Path, **changes) -> Path:
    data = {"name": "connect", "seed": 3, "game": {"id": "rps", "rounds": 5},
            "format": {"type": "round_robin", "matches": 1}, "agents": BOTS}
    data.update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("arena: error: "), done.stderr
    return lines[0]


def test_a_local_run_never_imports_ray(tmp_path):
    config = write(tmp_path / "c.yaml")
    script = ("import sys\nfrom arena.launch import run_command\n"
              f"code = run_command({str(config)!r}, out={str(tmp_path / 'run')!r}, live=False)\n"
              "print('ray imported:', 'ray' in sys.modules, 'exit', code)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=ray_env(),
                          capture_output=True, text=True, timeout=300)
    assert "ray imported: False exit 0" in done.stdout, done.stderr


def test_a_malformed_address_is_one_line(tmp_path):
    config = write(tmp_path / "c.yaml")
    line = one_line_error(arena("run", str(config), "--ray", "head-node", "--no-live"))
    assert "not a Ray address" in line and "HOST:PORT" in line
    bad = write(tmp_path / "bad.yaml", executor={"type": "ray", "address": "a:b:c/"})
    line = one_line_error(arena("run", str(bad), "--no-live"))
    assert "executor.address" in line


def test_an_unreachable_cluster_is_one_line_and_no_run(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    config = write(tmp_path / "c.yaml")
    for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}"):
        start = time.monotonic()
        line = one_line_error(arena("run", str(config), "--ray", address, "--no-live",
                                    "--out", str(tmp_path / "run")))
        assert "no Ray cluster answers" in line and time.monotonic() - start < 60
        assert not (tmp_path / "run").exists()


def test_a_missing_ray_extra_is_one_line(tmp_path):
    config = write(tmp_path / "c.yaml")
    script = ("import sys\nsys.modules['ray'] = None  # as if not installed\n"
              "from arena.cli import main\n"
              f"sys.argv = ['arena', 'run', {str(config)!r}, '--ray', 'local', '--no-live']\n"
              "main()\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=ray_env(),
                          capture_output=True, text=True, timeout=300)
    line = one_line_error(done)
    assert 'pip install -e ".[ray]"' in line


@pytest.mark.slow
def test_the_flag_wins_over_the_config_and_auto_finds_the_cluster(tmp_path, ray_head):
    nowhere = write(tmp_path / "c.yaml", executor={"type": "ray", "address": "127.0.0.1:1"})
    flagged = arena("run", str(nowhere), "--ray", ray_head.address, "--no-live",
                    "--out", str(tmp_path / "flag"))
    assert flagged.returncode == 0, flagged.stderr
    automatic = write(tmp_path / "auto.yaml", executor={"type": "ray", "address": "auto"})
    env = {**ray_env(), "RAY_ADDRESS": ray_head.address}
    found = subprocess.run([str(Path(sys.executable).parent / "arena"), "run", str(automatic),
                            "--no-live", "--out", str(tmp_path / "auto")], cwd=REPO,
                           env=env, capture_output=True, text=True, timeout=300)
    assert found.returncode == 0, found.stderr
    assert "on 127.0.0.1/" in found.stdout
    assert records(tmp_path / "auto") == records(tmp_path / "flag")


@pytest.mark.slow
def test_local_starts_a_private_cluster_for_the_run(tmp_path):
    if not os.environ.get("ARENA_REQUIRE_RAY"):
        pytest.importorskip("ray")
    config = write(tmp_path / "c.yaml")
    done = arena("run", str(config), "--ray", "local", "--no-live", "--out", str(tmp_path / "r"))
    assert done.returncode == 0, done.stderr
    here = arena("run", str(config), "--no-live", "--out", str(tmp_path / "here"))
    assert here.returncode == 0, here.stderr
    assert records(tmp_path / "r") == records(tmp_path / "here")
