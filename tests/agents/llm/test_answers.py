"""Served answers the arena refuses (:mod:`agents.llm.answers`), through the ``openai``
engine against a fake server: non-finite, positive or non-numeric log-probabilities and
badly shaped choices are asked for again, then forfeit the round, never a traceback and
never a policy made of them; the ``/v1/models`` list is read for what it tells."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents.llm.codec import Pair, get_codec
from agents.llm.http_client import RequestFailed
from agents.llm.openai_engine import OpenAIEngine
from arena.agent import RoundForfeit
from arena.match import seat_context
from arena.registry import make_agent
from envs import make_game
from tests.agents.llm.fake_openai_server import FakeServer

NAMES = ["rock", "paper", "scissors"]


def served(fake: FakeServer, tokenizer: Path, **options: Any) -> OpenAIEngine:
    backend = OpenAIEngine(base_url=fake.url, model="fake", tokenizer=str(tokenizer),
                           retries=1, **options)
    backend.client.backoff = 0.01
    assert backend.scoring_method() == "prompt_logprobs"
    return backend


def pairs(backend: OpenAIEngine, context: str) -> list[Pair]:
    return backend.codec().pairs(context, [" " + n for n in NAMES])


def context(backend: OpenAIEngine) -> str:
    return backend.codec().completion_prefix() + "Round 1\nMe:"


def scored(fake: FakeServer, body: dict[str, Any], change: Any) -> dict[str, Any]:
    """The fake's own answer to ``body`` with ``change`` applied to it."""
    status, answer = fake.complete(body)
    change(answer)
    return answer


def posts(fake: FakeServer) -> int:
    return sum(1 for _, _, body in fake.requests if body is not None)


def first_logprob(value: Any) -> Any:
    def change(answer: dict[str, Any]) -> None:
        for choice in answer["choices"]:
            entry = choice["prompt_logprobs"][-1]
            for item in entry.values():
                item["logprob"] = value
    return change


def every_logprob(value: Any) -> Any:
    def change(answer: dict[str, Any]) -> None:
        for choice in answer["choices"]:
            for entry in choice["prompt_logprobs"][1:]:
                for item in entry.values():
                    item["logprob"] = value
    return change


def request_body(backend: OpenAIEngine, context: str) -> dict[str, Any]:
    return {"prompt": [list(p.context + p.answer) for p in pairs(backend, context)],
            "prompt_logprobs": 0}


BAD_ANSWERS = {
    "nan": first_logprob(float("nan")),
    "inf": first_logprob(float("inf")),
    "all -inf": every_logprob(float("-inf")),
    "a string": first_logprob("-0.5"),
    "a boolean": first_logprob(False),
    "above 0": first_logprob(0.7),
    "choices not objects": lambda a: a.update(choices=["x", "y", "z"]),
    "a non-integer index": lambda a: a["choices"][0].update(index="0"),
    "a float index": lambda a: a["choices"][0].update(index=0.5),
    "duplicate indices": lambda a: a["choices"][1].update(index=0),
    "too few choices": lambda a: a["choices"].pop(),
    "no choices": lambda a: a.pop("choices"),
    "entries not objects": lambda a: a["choices"][0].update(prompt_logprobs=[None, 3, 4]),
    "short logprobs": lambda a: a["choices"][0]["prompt_logprobs"].pop(),
}


@pytest.mark.parametrize("bad", list(BAD_ANSWERS))
def test_an_unusable_answer_is_retried_then_forfeits_the_round(
        fake: FakeServer, tiny_model_dir: Path, bad: str) -> None:
    backend = served(fake, tiny_model_dir)
    answer = scored(fake, request_body(backend, context(backend)), BAD_ANSWERS[bad])
    fake.script = [(200, answer), (200, answer)]
    before = posts(fake)
    with pytest.raises(RequestFailed, match=r"unusable answer: .* \(after 1 retries\)") as caught:
        backend.score(pairs(backend, context(backend)))
    assert isinstance(caught.value, RoundForfeit) and posts(fake) == before + 2
    fake.script = [(200, answer)]  # once only: the retry gets a good answer
    got = backend.score(pairs(backend, context(backend)))
    assert np.isfinite(got).all() and (got < 0).all()


def test_a_log_probability_of_zero_is_a_certainty(fake: FakeServer, tiny_model_dir: Path) -> None:
    backend = served(fake, tiny_model_dir)
    fake.script = [(200, scored(fake, request_body(backend, context(backend)), every_logprob(0)))]
    assert (backend.score(pairs(backend, context(backend))) == 0).all()


@pytest.mark.parametrize("text", [5, ["rock"], {"a": 1}])
def test_sampled_text_that_is_not_a_string_is_retried(fake: FakeServer, tiny_model_dir: Path,
                                                       text: Any) -> None:
    backend = served(fake, tiny_model_dir)
    bad = {"choices": [{"index": 0, "text": text}]}
    fake.script = [(200, bad)]
    prompt = get_codec(tokenizer=str(tiny_model_dir)).text_prompt("Round 1\nMe:")
    assert backend.generate(prompt, max_new_tokens=3) == "rock"
    fake.script = [(200, bad), (200, bad)]
    with pytest.raises(RequestFailed, match="not a string"):
        backend.generate(prompt, max_new_tokens=3)


@pytest.mark.parametrize("choices", [["text"], [{"index": 0, "message": "rock"}],
                                     [{"index": 0, "message": {"content": 7}}], []])
def test_a_chat_answer_of_the_wrong_shape_forfeits_the_round(fake: FakeServer,
                                                             choices: Any) -> None:
    agent = make_agent("llm", name="lm", model="fake", engine="openai", base_url=fake.url,
                       tokenizer="none", request_retries=1)
    agent.engine.client.backoff = 0.01
    agent.reset(seed=0, **seat_context("rps", make_game("rps", rounds=5), "player_0"))
    fake.script = [(200, {"choices": choices})] * 2
    if choices and isinstance(choices[0], dict) and choices[0]["message"] == "rock":
        assert agent.decide(np.full((5, 2), -1), None).action in (0, 1, 2)  # read as no text
        return
    with pytest.raises(RoundForfeit):
        agent.decide(np.full((5, 2), -1), None)


def test_a_models_list_of_non_objects_keeps_what_is_known(fake: FakeServer,
                                                          tiny_model_dir: Path) -> None:
    fake.models = ["fake", 3, None, {"id": "fake", "owned_by": "me", "max_model_len": 99}]
    backend = OpenAIEngine(base_url=fake.url, model="fake", tokenizer=str(tiny_model_dir))
    found = backend.server_identity()
    assert found["served"] == {"id": "fake", "owned_by": "me", "max_model_len": 99}
    assert found["version"] == "0.0-fake" and found["scoring"] == "prompt_logprobs"
    assert "3 of its 4 /v1/models entries are not objects" in found["error"]
    fake.models = "not a list"
    found = OpenAIEngine(base_url=fake.url, model="fake",
                         tokenizer=str(tiny_model_dir)).server_identity()
    assert found["url"] == fake.url and "no list of models" in found["error"]
    fake.models = [1, 2]
    agent = make_agent("llm", name="lm", model="fake", engine="openai", base_url=fake.url,
                       tokenizer=str(tiny_model_dir))
    identity = agent.identity()
    assert identity["engine"] == "openai" and identity["tokenizer"]["path"]
    assert "lists no model 'fake'" in identity["server"]["error"]


def test_the_start_up_probe_is_bounded(fake: FakeServer, tiny_model_dir: Path) -> None:
    """A server that trickles its answers cannot hold `arena run` before the run starts."""
    fake.script = [("trickle_body", 0.2)] * 10
    backend = OpenAIEngine(base_url=fake.url, model="fake", tokenizer=str(tiny_model_dir),
                            request_timeout=1.0)
    started = time.monotonic()
    found = backend.server_identity()
    assert time.monotonic() - started < 5
    assert "no answer within 1 s" in found["scoring_error"] and found["scoring"] is None
    fake.script = []
    assert backend.scoring_method() == "prompt_logprobs"  # asked again at the first decision
