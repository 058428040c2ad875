"""An independent reference for the agent's scoring: one unpadded forward pass per answer.

Deliberately shares no code with ``agents.llm``: it loads its own copy of the model and
scores each complete answer (chat: name + end-of-turn token; base: " " + name + "\\n")
by encoding prompt and answer together and splitting at the prompt's length.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np


@functools.lru_cache(maxsize=4)
def load(model_dir: str) -> tuple[object, object]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype="float32")
    model.eval()
    return model, AutoTokenizer.from_pretrained(model_dir)


def logprob(model_dir: str | Path, prompt: str, answer: str) -> float:
    """log p(answer | prompt), the prompt taken as raw text with its special tokens."""
    import torch

    model, tok = load(str(model_dir))
    n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"])
    ids = tok(prompt + answer, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].double()
    logp = torch.log_softmax(logits, dim=-1)
    return float(sum(logp[j - 1, ids[j]] for j in range(n_prompt, len(ids))))


def distribution(model_dir: str | Path, prompt: str, names: Sequence[str], *, chat: bool,
                 end_of_turn: str = "<|im_end|>", temperature: float = 1.0
                 ) -> tuple[np.ndarray, float]:
    """The renormalised legal-answer distribution after temperature, and the off-legal mass."""
    answers = [n + end_of_turn if chat else " " + n + "\n" for n in names]
    lp = np.array([logprob(model_dir, prompt, a) for a in answers])
    off = 1.0 - float(np.exp(lp).sum())
    z = np.exp((lp - lp.max()) / temperature)
    return z / z.sum(), off
