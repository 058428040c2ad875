"""The ``hf`` engine and its prompt codec: exact scoring, seeded sampling, sharing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agents.llm.codec import Pair, get_codec
from agents.llm.engine import get_engine, make_engine
from tests.agents.llm import reference

CHAT = "<|im_start|>user\nPick a number.<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path):
    return get_engine("hf", {"model": str(tiny_model_dir)})


@pytest.fixture(scope="module")
def codec(tiny_model_dir: Path):
    return get_codec(tokenizer=str(tiny_model_dir))


def pairs(codec, contexts: list[str], answers: list[str]) -> list[Pair]:
    return [codec.pairs(c, [a])[0] for c, a in zip(contexts, answers, strict=True)]


def test_importing_the_agents_never_imports_torch() -> None:
    code = ("import sys, arena.registry as r; r.registered(); import agents.llm.hf_engine; "
            "import agents.llm.codec, agents.llm.engine; "
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_special_tokens_read_from_the_tokenizer(codec) -> None:
    assert codec.end_of_turn() == "<|im_end|>"
    assert codec.completion_prefix() == "<|endoftext|>"
    prompt = codec.prompt([{"role": "user", "content": "Pick a number."}])
    assert prompt.text == CHAT and list(prompt.ids) == codec.encode(CHAT)
    assert codec.prompt("Round 1").text == "<|endoftext|>Round 1"


def test_scores_equal_unpadded_forward_passes(engine, codec, tiny_model_dir: Path) -> None:
    # contexts of different lengths exercise the padding; answers of several tokens
    contexts = [CHAT, CHAT, "<|endoftext|>Round 1\nMe:", "<|endoftext|>A much longer context: Me:"]
    answers = ["10<|im_end|>", "scissors<|im_end|>", " living room\n", " rock\n"]
    assert any(len(codec.encode(a)) >= 3 for a in answers)
    got = engine.score(pairs(codec, contexts, answers))
    want = [reference.logprob(tiny_model_dir, c, a) for c, a in zip(contexts, answers, strict=True)]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)


def test_a_merged_answer_is_scored_with_the_context_it_was_encoded_with(
        engine, codec, tiny_model_dir: Path) -> None:
    context = "<|endoftext|>I play sc"
    answers = [" rock\n", "k\n"]  # "sc" + "k" encodes differently from "sc" alone
    asked = codec.pairs(context, answers)
    assert asked[0].context != asked[1].context  # merged: the split moved
    got = engine.score(asked)
    want = [reference.logprob(tiny_model_dir, context, a) for a in answers]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)


def test_a_prefix_name_is_scored_as_a_complete_answer(engine, codec, tiny_model_dir: Path) -> None:
    one, ten = engine.score(codec.pairs(CHAT, ["1<|im_end|>", "10<|im_end|>"]))
    prefix_only = reference.logprob(tiny_model_dir, CHAT, "1")
    # "1" as a bare prefix also covers "10", "11", ...; the complete answer cannot
    assert one < prefix_only and ten < prefix_only
    assert np.exp(one) + np.exp(ten) <= np.exp(prefix_only) + 1e-9
    eot = codec.encode("<|im_end|>")
    assert codec.encode(CHAT + "1<|im_end|>")[-len(eot):] == eot


def test_sampling_is_seeded_by_its_own_generator(engine, codec) -> None:
    import torch

    prompt = codec.text_prompt(CHAT)

    def draw(seed: int) -> str:
        return engine.generate(prompt, max_new_tokens=8, stop=[], temperature=1.0, seed=seed)

    state = torch.random.get_rng_state()
    assert draw(5) == draw(5)
    assert torch.equal(state, torch.random.get_rng_state())  # the global RNG is untouched
    assert len({draw(seed) for seed in range(4)}) > 1


def test_sampling_stops_at_a_stop_string(engine, codec) -> None:
    from agents.llm.codec import cut_at_stop

    prompt = codec.text_prompt(CHAT)
    for seed in range(4):
        free = engine.generate(prompt, max_new_tokens=12, stop=[], temperature=1.0, seed=seed)
        stopped = engine.generate(prompt, max_new_tokens=12, stop=["o", "e"], temperature=1.0,
                                  seed=seed)
        # the same seed draws the same tokens, up to the one that wrote the stop string
        assert cut_at_stop(stopped, ["o", "e"]) == re.split("[oe]", free)[0]
        assert free.startswith(stopped) or re.search("[oe]", stopped)


def test_one_shared_copy_per_model_and_options(engine, tiny_model_dir: Path) -> None:
    assert get_engine("hf", {"model": str(tiny_model_dir)}) is engine
    other = get_engine("hf", {"model": str(tiny_model_dir), "dtype": "float32"})
    assert other is not engine
    assert make_engine("hf", {"model": str(tiny_model_dir)}) is not engine  # a fresh one


def test_an_engine_is_built_from_plain_options_in_another_process(
        engine, codec, tiny_model_dir: Path) -> None:
    import multiprocessing
    import pickle

    options = {"model": str(tiny_model_dir), "dtype": "float32"}
    asked = codec.pairs(CHAT, ["7<|im_end|>", "8<|im_end|>"])
    pickle.dumps((options, asked))  # what crosses to the other process is plain data
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        there = pool.apply(_score_elsewhere, (options, asked))
    here = get_engine("hf", options).score(asked)
    np.testing.assert_allclose(there, here, rtol=0, atol=1e-5)


def _score_elsewhere(options: dict, asked: list[Pair]) -> np.ndarray:
    return make_engine("hf", options).score(asked)
