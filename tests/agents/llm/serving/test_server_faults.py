"""A real vLLM server killed mid-run: the breaker stops the run by itself, with one line
and no traceback, and ``--resume`` completes once the server is back. Also the ``vllm``
engine through the CLI: the arena starts its own server and stops it at the end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.agents.llm.runs import arena, export, rps_config

pytestmark = pytest.mark.serving


def _completions(log: Path) -> int:
    try:
        return log.read_text(errors="replace").count("POST /v1/completions")
    except OSError:
        return 0


@pytest.mark.slow
def test_a_killed_server_trips_the_breaker_and_resume_completes(
        vllm_server: Any, smollm2_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "faults.yaml"
    rps_config(config, f'{{name: smol, type: llm, engine: openai, base_url: "{vllm_server.url}", '
               f'model: "{vllm_server.model}", tokenizer: "{smollm2_dir}", '
               'unreachable_after: 10}', opponent="{name: freq, type: frequency}",
               name="served-faults", seed=5, rounds=12)
    run = tmp_path / "run"
    server = vllm_server.server
    before = _completions(server.log_path)
    playing = subprocess.Popen([sys.executable, "-m", "arena.cli", "run", str(config),
                                "--no-live", "--out", str(run)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while _completions(server.log_path) < before + 4 and time.monotonic() < deadline:
            assert playing.poll() is None, playing.communicate()
            time.sleep(0.5)
        os.killpg(server.process.pid, signal.SIGKILL)  # mid-match, no warning
        killed = time.monotonic()
        out, err = playing.communicate(timeout=240)
        ended_after = time.monotonic() - killed
    finally:
        if playing.poll() is None:
            playing.kill()
        server.process.wait(timeout=30)
        server.start()  # back on the same port, for this test's resume and the others
    print(f"\nthe run ended {ended_after:.1f} s after the server was killed")
    assert playing.returncode not in (0, None)
    assert "Traceback" not in out + err
    assert f"model server {vllm_server.url} unreachable for 10 s" in err
    assert ended_after < 10 + 30 + 30  # the breaker, then the 30 s to stop
    resumed = arena("run", str(config), "--no-live", "--out", str(run), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    rows = export(run)
    assert len(rows) == 2 and all(r["status"] == "finished" for r in rows)
    assert all(len(r["round_log"]) == 12 for r in rows)


@pytest.mark.slow
def test_engine_vllm_runs_its_own_server_and_stops_it(
        vllm_python_path: str, smollm2_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "managed.yaml"
    rps_config(config, f'{{name: smol, type: llm, engine: vllm, model: "{smollm2_dir}", '
               f'dtype: float32, max_model_len: 1024, vllm_python: "{vllm_python_path}"}}',
               name="managed", seed=2, rounds=3)
    run = tmp_path / "run"
    done = arena("run", str(config), "--no-live", "--out", str(run))
    assert done.returncode == 0, done.stderr
    rows = export(run)
    assert len(rows) == 2 and all(r["status"] == "finished" for r in rows)
    assert all(np.sum(r["round_log"][0]["probabilities"]["smol"]) > 0.99 for r in rows)
    leftover = subprocess.run(["pgrep", "-f", "max-model-len 1024.*--port"],
                              capture_output=True, text=True)
    assert leftover.stdout.strip() == ""  # the server went with the run

