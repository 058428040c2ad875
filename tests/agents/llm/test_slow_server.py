"""A slow but healthy server, through the CLI with the default timeouts: every decision
takes 14 s, longer than the client's 10 s health heartbeat, and vLLM's ``/health``
answers 200 with an empty body meanwhile. The run completes with one request per
decision, none abandoned and sent again, and the breaker never trips."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agents.llm.fake_openai_server import FakeServer
from tests.agents.llm.runs import arena, export, rps_config

SECONDS_PER_REQUEST = 14.0


@pytest.fixture
def slow() -> Iterator[FakeServer]:
    server = FakeServer().start()
    server.delay = SECONDS_PER_REQUEST
    yield server
    server.stop()


@pytest.mark.slow
def test_a_server_taking_14_s_per_request_completes_with_one_request_per_decision(
        slow: FakeServer, tiny_model_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "slow.yaml"
    rps_config(config, f'{{name: served, type: llm, engine: openai, base_url: "{slow.url}", '
               f'model: fake, tokenizer: "{tiny_model_dir}"}}',
               name="slow-server", seed=4, rounds=2)
    run = tmp_path / "run"
    done = arena("run", str(config), "--no-live", "--out", str(run))
    assert done.returncode == 0, done.stderr
    assert "unreachable" not in done.stdout + done.stderr
    rows = export(run)
    assert len(rows) == 2 and all(r["status"] == "finished" for r in rows)
    assert not any(entry.get("forfeited") for r in rows for entry in r["round_log"])
    decisions = sum(int(r["stats"]["served"]["decisions"]) for r in rows)
    assert decisions == 4
    posts = [path for path, _, body in slow.requests if body is not None]
    # the scoring probe (``branches`` and ``cached``, which this fake does not offer,
    # then ``prompt_logprobs``), then one request each
    assert posts == ["/v1/completions"] * (3 + decisions)
    bodies = [body for _, _, body in slow.requests if body is not None]
    assert "logprob_token_ids" in bodies[0] and "allowed_token_ids" in bodies[1]
    assert bodies[2]["prompt_logprobs"] == 0
    assert any(path == "/health" for path, _, _ in slow.requests)  # it was asked, and waited
