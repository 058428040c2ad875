"""A real Ray cluster for the tests: ``ray start --head`` as a separate process.

One head per test session (per xdist worker), on 127.0.0.1 with free ports, small (two
CPUs, a 100 MB object store, no dashboard), with the repository on its ``PYTHONPATH``
so its workers import this checkout and the test agents. It is stopped at the end by its
process group (the head started it with ``setsid``), never with ``ray stop``, which would
stop every Ray cluster on the machine. Tests skip when Ray is not installed, unless
``ARENA_REQUIRE_RAY`` is set (``make test`` sets it: the tests must run there).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ray_env() -> dict[str, str]:
    """The environment of the head and of every process that talks to it: this checkout
    first on the path, and Ray kept on the loopback address."""
    return {**os.environ, "PYTHONPATH": str(REPO), "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
            "RAY_USAGE_STATS_ENABLED": "0"}


@dataclass
class Head:
    address: str  # HOST:PORT of its GCS
    process: subprocess.Popen
    temp_dir: str


def _start_head(*, cpus: int = 2, gpus: int = 0) -> Head:
    port = _free_port()
    temp_dir = tempfile.mkdtemp(prefix="rayt-", dir="/tmp")  # short: socket paths are limited
    ports = {flag: _free_port() for flag in (
        "--ray-client-server-port", "--dashboard-port", "--dashboard-agent-listen-port",
        "--dashboard-agent-grpc-port", "--metrics-export-port", "--runtime-env-agent-port",
        "--node-manager-port", "--object-manager-port")}
    command = [str(BIN / "ray"), "start", "--head", "--block", f"--port={port}",
               "--node-ip-address=127.0.0.1", f"--num-cpus={cpus}", f"--num-gpus={gpus}",
               "--include-dashboard=false", "--object-store-memory=100000000",
               "--disable-usage-stats", f"--temp-dir={temp_dir}",
               *(f"{flag}={value}" for flag, value in ports.items())]
    log = open(Path(temp_dir) / "head.log", "w")  # noqa: SIM115 -- the head's for its life
    process = subprocess.Popen(command, env=ray_env(), stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True, cwd=REPO)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ray start --head ended: {(Path(temp_dir) / 'head.log').read_text()}")
        if "Ray runtime started" in (Path(temp_dir) / "head.log").read_text():
            return Head(f"127.0.0.1:{port}", process, temp_dir)
        time.sleep(0.2)
    stop_head(Head(f"127.0.0.1:{port}", process, temp_dir))
    raise RuntimeError("ray start --head did not start within 180 s")


def _session(pid: int) -> list[int]:
    """The processes of the session ``pid`` leads (the head's; its workers have process
    groups of their own)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and int(
                    (proc / "stat").read_text().rsplit(")", 1)[1].split()[3]) == pid:
                found.append(int(proc.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def stop_head(head: Head) -> None:
    """SIGTERM to the head (it stops what it started), then SIGKILL whatever of its
    session is left."""
    try:
        os.killpg(head.process.pid, signal.SIGTERM)
        head.process.wait(40)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    for pid in _session(head.process.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    head.process.wait(10)


@pytest.fixture(scope="session")
def ray_head() -> Iterator[Head]:
    try:
        import ray  # noqa: F401
    except ImportError:
        if os.environ.get("ARENA_REQUIRE_RAY"):
            raise
        pytest.skip("Ray is not installed (pip install -e '.[ray]')")
    head = _start_head()
    try:
        yield head
    finally:
        stop_head(head)


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random Llama the language-model tests use, saved once for this session."""
    from tests.agents.llm.conftest import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))
