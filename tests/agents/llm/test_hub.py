"""A hub model id without network fails within seconds, in one line naming the offline
models, instead of retrying for a minute."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from arena.registry import RegistryError, make_agent
from tests.agents.llm.runs import rps_config

HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    return tmp_path


@pytest.mark.parametrize("setting", ["HF_HUB_OFFLINE", "unreachable"])
def test_a_hub_id_without_network_fails_in_seconds(empty_cache: Path, setting: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    if setting == "HF_HUB_OFFLINE":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:  # nothing listens there: as good as no route to the hub
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    started = time.monotonic()
    with pytest.raises(RegistryError) as caught:
        make_agent("hf", name="smol", model=HUB_ID)
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert "\n" not in message and HUB_ID in message
    assert "offline:smollm2-135m-instruct" in message and "offline:gemma-3-270m" in message
    assert ("HF_HUB_OFFLINE is set" if setting == "HF_HUB_OFFLINE" else
            "cannot be reached") in message


def test_the_cli_says_it_in_one_line_with_exit_2(empty_cache: Path) -> None:
    config = empty_cache / "hub.yaml"
    rps_config(config, f"{{name: smol, type: hf, model: {HUB_ID}}}",
               opponent="{name: freq, type: frequency}", name="hub", seed=1, rounds=2)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "arena.cli", "run", str(config), "--out",
                           str(empty_cache / "run"), "--no-live"], capture_output=True,
                          text=True, timeout=300, env=env)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "offline:smollm2-135m-instruct" in lines[0]
    assert "Traceback" not in done.stderr
