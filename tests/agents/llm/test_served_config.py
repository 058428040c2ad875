"""Served-agent settings that are config errors: refused when the config loads, in one
line naming the agent, exit status 2, no traceback and no run directory, by ``arena
run`` and (for prompts) ``arena prompt`` alike; the URL's password and the API key are
never shown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.agents.llm.runs import arena

BAD = {  # option text -> what the one line says
    "request_timeout: .inf": "request_timeout must be a finite number of seconds",
    "unreachable_after: .inf": "unreachable_after must be a finite number of seconds",
    "request_retries: true": "agents[0].request_retries: must be a number, not true",
    "max_in_flight: true": "agents[0].max_in_flight: must be a number, not true",
    'base_url: "http://user:hunter2-pw@127.0.0.1:9/v1"': "may not hold credentials",
    'base_url: "http://127.0.0.1:9/v1\\r\\nX-Evil: 1"': "base_url holds a space or a control",
    'base_url: "http://127.0.0.1:9/ v1"': "base_url holds a space or a control",
    "templates: {rps: {sytem: hi}}": "unknown key 'sytem'; did you mean 'system'?",
    "templates: {rps: {user: 'Play {gmae}'}}": "key 'user': unknown field {gmae}",
    "templates: {rps: {round_chat: 'Round {n}: {mine}'}}": "key 'round_chat': unknown field",
}


def _config(path: Path, tokenizer: Path, option: str) -> Path:
    url = 'base_url: "http://127.0.0.1:9/v1", ' if "base_url" not in option else ""
    path.write_text(f"""name: bad-served
games:
  - {{id: rps, rounds: 2}}
agents:
  - {{name: served, type: llm, engine: openai, {url}model: fake,
     tokenizer: "{tokenizer}", {option}}}
  - {{name: dice, type: uniform_random}}
""")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("option", list(BAD))
def test_a_bad_served_setting_is_one_line_and_exit_2(tmp_path: Path, tiny_model_dir: Path,
                                                     option: str) -> None:
    config = _config(tmp_path / "c.yaml", tiny_model_dir, option)
    run = tmp_path / "run"
    done = arena("run", str(config), "--no-live", "--out", str(run))
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("arena: error: "), done.stderr
    assert BAD[option] in lines[0]
    assert "hunter2-pw" not in done.stdout + done.stderr
    assert not run.exists()
    if "templates" in option:
        shown = arena("prompt", str(config), "served", "--game", "rps")
        assert shown.returncode == 2, shown.stdout + shown.stderr
        lines = shown.stderr.strip().splitlines()
        assert len(lines) == 1 and BAD[option] in lines[0], shown.stderr


@pytest.mark.slow
def test_a_key_no_header_can_carry_is_one_line_that_never_shows_it(
        tmp_path: Path, tiny_model_dir: Path) -> None:
    secret = "sk-leaky-\x1b]0;key-4242"
    config = _config(tmp_path / "c.yaml", tiny_model_dir, "api_key_env: ARENA_TEST_KEY")
    done = subprocess.run([sys.executable, "-m", "arena.cli", "run", str(config), "--no-live",
                           "--out", str(tmp_path / "run")], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "ARENA_TEST_KEY": secret})
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "ARENA_TEST_KEY (api_key_env) holds a control" in lines[0]
    assert "leaky" not in done.stdout + done.stderr and "4242" not in done.stderr
