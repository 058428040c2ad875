"""The ``openai`` engine against a fake server (fast; the real vLLM server is in
``serving/``): token-id prompts split as the hf engine splits them, the scoring
fall-backs, sampling, mode resolution, per-engine options, ``arena prompt`` without a
server, and an API key that appears nowhere in a run."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from agents.llm.codec import cut_at_stop, get_codec
from agents.llm.http_client import RequestFailed
from agents.llm.openai_engine import OpenAIEngine, ScoringUnsupported
from arena.agent import ServiceUnavailable
from arena.match import seat_context
from arena.registry import RegistryError, make_agent
from envs import make_game
from tests.agents.llm.fake_openai_server import FakeServer, token_logprob
from tests.agents.llm.runs import SEPARATOR, arena, export, rps_config

NAMES = ["rock", "paper", "scissors"]


def backend(fake: FakeServer, tokenizer: Path) -> OpenAIEngine:
    return OpenAIEngine(base_url=fake.url, model="fake", tokenizer=str(tokenizer), retries=0)


def expected(tokenizer: Path, context: str, continuation: str) -> float:
    text = get_codec(tokenizer=str(tokenizer))
    n, whole = len(text.encode(context)), text.encode(context + continuation)
    return sum(token_logprob(t) for t in whole[n:])


def rps_agent(**options: object):
    agent = make_agent("llm", name="lm", model="fake", engine="openai", **options)
    agent.reset(seed=0, **seat_context("rps", make_game("rps", rounds=5), "player_0"))
    return agent


def test_scores_token_ids_split_as_the_hf_engine_does(fake: FakeServer,
                                                      tiny_model_dir: Path) -> None:
    served, codec = backend(fake, tiny_model_dir), get_codec(tokenizer=str(tiny_model_dir))
    context = codec.completion_prefix() + "Round 1\nMe:"
    got = served.score(codec.pairs(context, [" " + n + "\n" for n in NAMES]))
    want = [expected(tiny_model_dir, context, " " + n + "\n") for n in NAMES]
    assert served.scoring_method() == "prompt_logprobs"
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    request = fake.requests[-1][2]
    assert request["prompt_logprobs"] == 0 and request["max_tokens"] == 1
    ids = codec.encode(context + " rock\n")
    assert request["prompt"][0] == ids  # one BOS: the prompt's own, never one more


def test_a_vllm_server_scores_one_answer_token_a_request_on_the_cached_prompt(
        fake: FakeServer, tiny_model_dir: Path) -> None:
    fake.allowed = True
    served, codec = backend(fake, tiny_model_dir), get_codec(tokenizer=str(tiny_model_dir))
    context = codec.completion_prefix() + "Round 1\nMe:"
    pairs = codec.pairs(context, [" " + n + "\n" for n in NAMES])
    assert served.scoring_method() == "cached"  # the best the server offers
    fake.requests.clear()
    got = served.score(pairs)
    want = [expected(tiny_model_dir, context, " " + n + "\n") for n in NAMES]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    asked = sorted((tuple(body["prompt"]), tuple(body["allowed_token_ids"]))
                   for _, _, body in fake.requests)
    wanted = sorted((p.context + p.answer[:k], (p.answer[k],))
                    for p in pairs for k in range(len(p.answer)))
    assert asked == wanted  # one token each, after the context and the answer so far
    assert all(body["max_tokens"] == 1 and "prompt_logprobs" not in body
               for _, _, body in fake.requests)


def test_a_vllm_with_logprob_token_ids_reads_every_token_after_a_prefix_at_once(
        fake: FakeServer, tiny_model_dir: Path) -> None:
    fake.allowed = fake.token_ids = True
    served, codec = backend(fake, tiny_model_dir), get_codec(tokenizer=str(tiny_model_dir))
    context = codec.completion_prefix() + "Round 1\nMe:"
    answers = [" rock\n", " paper\n", " scissors or rock\n"]
    pairs = codec.pairs(context, answers)
    assert served.scoring_method() == "branches"  # checked against "cached" on the probe
    fake.requests.clear()
    got = served.score(pairs)
    want = [expected(tiny_model_dir, context, a) for a in answers]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    bodies = [body for _, _, body in fake.requests]
    prefixes = {p.context + p.answer[:k] for p in pairs for k in range(len(p.answer))}
    # one plain request per prefix that answers continue, reading all that follows it
    assert sorted(tuple(b["prompt"]) for b in bodies) == sorted(prefixes)
    for body in bodies:
        follows = {p.answer[len(body["prompt"]) - len(p.context)] for p in pairs
                   if (p.context + p.answer)[:len(body["prompt"])] == tuple(body["prompt"])}
        assert sorted(body["logprob_token_ids"]) == sorted(follows)
    assert all(b["max_tokens"] == 1 and "allowed_token_ids" not in b
               and "prompt_logprobs" not in b and not b.get("echo") for b in bodies)
    assert bodies[0]["prompt"] == list(pairs[0].context)  # sent first, alone


@pytest.mark.parametrize(("token_ids", "shift"), [(False, 0.0), (True, -0.5)])
def test_a_server_that_ignores_or_bends_logprob_token_ids_scores_one_token_at_a_time(
        fake: FakeServer, tiny_model_dir: Path, token_ids: bool, shift: float) -> None:
    fake.allowed, fake.token_ids, fake.token_ids_shift = True, token_ids, shift
    assert backend(fake, tiny_model_dir).scoring_method() == "cached"


def test_a_scoring_option_picks_the_method(fake: FakeServer, tiny_model_dir: Path) -> None:
    fake.allowed = True
    served = OpenAIEngine(base_url=fake.url, model="fake", tokenizer=str(tiny_model_dir),
                          scoring="echo")
    assert served.scoring_method() == "echo"
    with pytest.raises(RegistryError, match="scoring must be"):
        rps_agent(base_url=fake.url, tokenizer=str(tiny_model_dir), scoring="magic")


@pytest.mark.parametrize(("server", "method"), [
    ({"prompt_logprobs": False}, "echo"),
    ({"prompt_logprobs": False, "take_ids": False}, "echo_text"),
])
def test_falls_back_to_echo(fake: FakeServer, tiny_model_dir: Path, server: dict[str, bool],
                            method: str) -> None:
    for key, value in server.items():
        setattr(fake, key, value)
    served, codec = backend(fake, tiny_model_dir), get_codec(tokenizer=str(tiny_model_dir))
    assert served.scoring_method() == method
    context = codec.completion_prefix() + "Round 1\nMe:"
    got = served.score(codec.pairs(context, [" rock\n"]))
    if method == "echo":
        assert got[0] == pytest.approx(expected(tiny_model_dir, context, " rock\n"))
    assert np.isfinite(got).all() and got[0] < 0


def test_a_server_in_trouble_is_not_taken_for_one_that_cannot_score(
        fake: FakeServer, tiny_model_dir: Path) -> None:
    served = backend(fake, tiny_model_dir)  # retries=0
    fake.script = [(503, {"error": {"message": "overloaded"}})]
    with pytest.raises(RequestFailed, match="overloaded"):
        served.scoring_method()
    assert served.scoring_method() == "prompt_logprobs"  # asked again, not cached


def test_a_server_that_cannot_score_samples_and_says_so(
        fake: FakeServer, tiny_model_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    fake.prompt_logprobs = fake.echo = False
    with caplog.at_level(logging.WARNING):
        agent = rps_agent(base_url=fake.url, tokenizer=str(tiny_model_dir))
        assert agent.identity()["server"]["scoring"] is None  # asked at start-up
    assert "no prompt log-probabilities" in caplog.text and "only sampling" in caplog.text
    assert agent.mode == "sample"
    decision = agent.decide(np.full((5, 2), -1), None)
    assert decision.action == 0 and decision.policy is None  # the fake always says "rock"
    explicit = rps_agent(base_url=fake.url, tokenizer=str(tiny_model_dir), mode="distribution")
    with pytest.raises(ScoringUnsupported, match="use mode: sample") as caught:
        explicit.decide(np.full((5, 2), -1), None)
    assert isinstance(caught.value, ServiceUnavailable)  # the run stops; no forfeits


def test_distribution_mode_by_default_where_the_server_scores(fake: FakeServer,
                                                              tiny_model_dir: Path) -> None:
    agent = rps_agent(base_url=fake.url, tokenizer=str(tiny_model_dir))
    decision = agent.decide(np.full((5, 2), -1), None)
    assert agent.mode == "distribution" and decision.policy.sum() == pytest.approx(1.0)
    prompt = agent.prompt_text([])
    want = np.exp([expected(tiny_model_dir, prompt, agent.continuation(n)) for n in NAMES])
    np.testing.assert_allclose(decision.policy, want / want.sum(), atol=1e-12)


def test_sampling_sends_token_ids_seed_and_stop(fake: FakeServer, tiny_model_dir: Path) -> None:
    served, codec = backend(fake, tiny_model_dir), get_codec(tokenizer=str(tiny_model_dir))
    fake.text = "paper\nmore"
    out = served.generate(codec.text_prompt("Round 1\nMe:"), max_new_tokens=5, stop=["\n"],
                          temperature=0.7, seed=2**40 + 3)
    assert cut_at_stop(out, ["\n"]) == "paper"
    request = fake.requests[-1][2]
    assert request["prompt"] == [codec.encode("Round 1\nMe:")]
    assert request["temperature"] == 0.7 and request["max_tokens"] == 5
    assert request["stop"] == ["\n"] and request["top_p"] == 1.0
    assert 0 <= request["seed"] < 2**31
    assert request["top_k"] == -1  # the fake answers /version as vLLM does


def test_a_chat_api_without_a_tokenizer_is_sampled_with_messages(fake: FakeServer) -> None:
    agent = rps_agent(base_url=fake.url, tokenizer="none")
    assert agent.mode == "sample"  # nothing to score with, and no probe sent
    decision = agent.decide(np.full((5, 2), -1), None)
    assert decision.action == 0 and decision.policy is None
    path, _, body = fake.requests[-1]
    assert path == "/v1/chat/completions"
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert json.loads(agent.prompt_text([])) == body["messages"]  # what arena prompt shows
    with pytest.raises(RegistryError, match="tokenizer: none"):
        rps_agent(base_url=fake.url, tokenizer="none", mode="distribution")


def test_identity_names_the_server_never_the_key(fake: FakeServer, tiny_model_dir: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENA_TEST_KEY", "sk-secret-identity")
    agent = rps_agent(base_url=fake.url, tokenizer=str(tiny_model_dir),
                      api_key_env="ARENA_TEST_KEY")
    found = agent.identity()
    assert found["engine"] == "openai" and found["model"] == "fake"
    assert found["server"]["url"] == fake.url and found["server"]["version"] == "0.0-fake"
    assert found["server"]["served"]["max_model_len"] == 2048
    assert found["tokenizer"]["path"] == str(tiny_model_dir.resolve())
    assert found["api_key_env"] == "ARENA_TEST_KEY"
    assert "sk-secret-identity" not in repr(found)


@pytest.mark.parametrize(("options", "message"), [
    ({"engine": "openai", "base_url": "http://h:1/v1", "device_map": "auto"},
     "option 'device_map' is for engine hf, not openai"),
    ({"engine": "openai", "base_url": "http://h:1/v1", "gguf_file": "x.gguf"},
     "option 'gguf_file' is for engine hf, not openai"),
    ({"engine": "hf", "base_url": "http://h:1/v1"}, "option 'base_url' is for engine openai"),
    ({"engine": "hf", "api_key_env": "KEY"}, "option 'api_key_env' is for engine openai"),
    ({"engine": "openai"}, "engine openai needs option 'base_url'"),
    ({"engine": "tgi"}, "engine must be one of hf, openai, vllm"),
    ({"engine": "openai", "base_url": "http://h:1/v1", "vllm_python": "python3"},
     "option 'vllm_python' is for engine vllm"),
])
def test_options_of_another_engine_are_errors(tiny_model_dir: Path, options: dict[str, str],
                                              message: str) -> None:
    with pytest.raises(RegistryError, match=message):
        make_agent("hf", name="lm", model=str(tiny_model_dir), tokenizer=None, **options)


def test_hf_and_llm_are_the_same_agent() -> None:
    from arena.registry import get_agent_class

    assert get_agent_class("llm") is get_agent_class("hf")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(path: Path, url: str, tokenizer: Path, **extra: str) -> Path:
    options = "".join(f", {k}: {v}" for k, v in extra.items())
    return rps_config(path, f'{{name: served, type: llm, engine: openai, base_url: "{url}", '
                      f'model: fake, tokenizer: "{tokenizer}"{options}}}',
                      name="served", seed=3, rounds=4)


@pytest.mark.slow
def test_arena_prompt_needs_no_server(tmp_path: Path, tiny_model_dir: Path) -> None:
    config = _config(tmp_path / "c.yaml", f"http://127.0.0.1:{_closed_port()}/v1",
                     tiny_model_dir)
    done = arena("prompt", str(config), "served", "--game", "rps")
    assert done.returncode == 0, done.stderr
    first = done.stdout.split(SEPARATOR)[0]
    assert first.startswith("<|im_start|>system\n") and "rock" in first


@pytest.mark.slow
def test_a_run_keeps_no_trace_of_the_api_key(tmp_path: Path, tiny_model_dir: Path,
                                             fake: FakeServer) -> None:
    secret = "sk-arena-test-7f3e9a"
    config = _config(tmp_path / "c.yaml", fake.url, tiny_model_dir,
                     api_key_env="ARENA_TEST_KEY")
    env = {**os.environ, "ARENA_TEST_KEY": secret + "\n"}  # as `echo KEY > file` leaves it
    run = tmp_path / "run"
    done = _arena_with_env(env, "run", str(config), "--no-live", "--out", str(run))
    assert done.returncode == 0, done.stderr
    assert all(h.get("Authorization") == f"Bearer {secret}"
               for path, h, body in fake.requests if body is not None)
    rows = export(run)
    assert len(rows) == 2 and all(r["status"] == "finished" for r in rows)
    provenance = _arena_with_env(env, "export", str(run), "--provenance")
    texts = [done.stdout, done.stderr, provenance.stdout]
    texts += [p.read_bytes().decode("utf-8", "replace") for p in run.rglob("*") if p.is_file()]
    assert "ARENA_TEST_KEY" in provenance.stdout  # only the variable's name is kept
    assert not any(secret in text for text in texts)
    # the prompt of a stored match is rebuilt from the tokenizer alone, server gone
    fake.stop()
    replay = arena("prompt", str(run), "--match", rows[0]["key"], "--round", "2")
    assert replay.returncode == 0, replay.stderr
    assert replay.stdout.startswith("<|im_start|>system\n")


def _arena_with_env(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "arena.cli", *args], capture_output=True,
                          text=True, timeout=300, env=env)


@pytest.mark.slow
def test_a_killed_server_stops_the_run_and_resume_completes(tmp_path: Path,
                                                             tiny_model_dir: Path) -> None:
    """The breaker through the CLI, fast (the real server: serving/test_server_faults.py)."""
    port = _closed_port()
    fake = Path(__file__).with_name("fake_openai_server.py")

    def serve() -> subprocess.Popen[bytes]:
        server = subprocess.Popen([sys.executable, str(fake), "--port", str(port),
                                   "--served-model-name", "fake", "--delay", "0.05"])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return server
            time.sleep(0.05)
        raise AssertionError("the fake server did not start")

    config = _config(tmp_path / "c.yaml", f"http://127.0.0.1:{port}/v1", tiny_model_dir,
                     unreachable_after="2")
    config.write_text(config.read_text().replace("rounds: 4", "rounds: 40")
                      .replace("matches: 1", "matches: 2"))
    run = tmp_path / "run"
    server = serve()
    playing = subprocess.Popen([sys.executable, "-m", "arena.cli", "run", str(config),
                                "--no-live", "--out", str(run)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2.5)
        server.kill()
        server.wait()
        out, err = playing.communicate(timeout=120)
    finally:
        if playing.poll() is None:
            playing.kill()
    assert playing.returncode == 3, err
    assert "Traceback" not in out + err, err
    assert f"model server http://127.0.0.1:{port}/v1 unreachable for 2 s" in err
    server = serve()
    try:
        resumed = arena("run", str(config), "--no-live", "--out", str(run), "--resume")
    finally:
        server.kill()
        server.wait()
    assert resumed.returncode == 0, resumed.stderr
    rows = export(run)
    assert len(rows) == 4 and all(len(r["round_log"]) == 40 for r in rows)
