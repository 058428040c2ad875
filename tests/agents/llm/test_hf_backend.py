"""The transformers backend: exact batched scoring, left-padded seeded generation, sharing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agents.llm.backend import get_backend
from tests.agents.llm import reference

CHAT = "<|im_start|>user\nPick a number.<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def backend(tiny_model_dir: Path):
    return get_backend(model=str(tiny_model_dir))


def test_importing_the_agents_never_imports_torch() -> None:
    code = ("import sys, arena.registry as r; r.registered(); import agents.llm.hf_backend; "
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_special_tokens_read_from_the_tokenizer(backend) -> None:
    assert backend.end_of_turn() == "<|im_end|>"
    assert backend.completion_prefix() == "<|endoftext|>"
    text = backend.chat_prompt([{"role": "user", "content": "Pick a number."}])
    assert text == CHAT


def test_scores_equal_unpadded_forward_passes(backend, tiny_model_dir: Path) -> None:
    # contexts of different lengths exercise the left padding; answers of several tokens
    contexts = [CHAT, CHAT, "<|endoftext|>Round 1\nMe:", "<|endoftext|>A much longer context: Me:"]
    answers = ["10<|im_end|>", "scissors<|im_end|>", " living room\n", " rock\n"]
    assert any(len(backend.encode(a)) >= 3 for a in answers)
    got = backend.score(contexts, answers)
    want = [reference.logprob(tiny_model_dir, c, a) for c, a in zip(contexts, answers, strict=True)]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)


def test_a_prefix_name_is_scored_as_a_complete_answer(backend, tiny_model_dir: Path) -> None:
    one, ten = backend.score([CHAT, CHAT], ["1<|im_end|>", "10<|im_end|>"])
    prefix_only = reference.logprob(tiny_model_dir, CHAT, "1")
    # "1" as a bare prefix also covers "10", "11", ...; the complete answer cannot
    assert one < prefix_only and ten < prefix_only
    assert np.exp(one) + np.exp(ten) <= np.exp(prefix_only) + 1e-9
    eot = backend.encode("<|im_end|>")
    assert backend.encode(CHAT + "1<|im_end|>")[-len(eot):] == eot


def test_greedy_generation_ignores_left_padding(backend) -> None:
    prompts = [CHAT, "<|endoftext|>Here is a sequence of random integers:\n1."]
    batched = backend.generate(prompts, max_new_tokens=6, stop=[], temperature=0, seed=0)
    alone = [backend.generate([p], max_new_tokens=6, stop=[], temperature=0, seed=0)[0]
             for p in prompts]
    assert batched == alone


def test_sampling_is_seeded_by_its_own_generator(backend) -> None:
    import torch

    def draw(seed: int) -> list[str]:
        return backend.generate([CHAT] * 3, max_new_tokens=8, stop=[], temperature=1.0,
                                seed=seed)

    state = torch.random.get_rng_state()
    assert draw(5) == draw(5)
    assert torch.equal(state, torch.random.get_rng_state())  # the global RNG is untouched
    assert len({t for seed in range(4) for t in draw(seed)}) > 1


def test_stop_strings_cut_the_text(backend) -> None:
    def draw(stop: list[str]) -> list[str]:
        return backend.generate([CHAT] * 4, max_new_tokens=12, stop=stop, temperature=1.0,
                                seed=3)

    free, cut = draw([]), draw(["o", "e"])
    assert all("o" in t or "e" in t for t in free)  # every row had something to cut
    # the same seed draws the same tokens: each cut text is its free text up to the first stop
    assert cut == [re.split("[oe]", t)[0] for t in free]


def test_one_shared_copy_per_model_and_options(backend, tiny_model_dir: Path) -> None:
    assert get_backend(model=str(tiny_model_dir)) is backend
    other = get_backend(model=str(tiny_model_dir), dtype="float32")
    assert other is not backend
