"""One batched forward of many matches' cached decisions, against the same forward as it
ran before the copies of the cache were taken out, on the CPU.

Usage: ``python benchmarks/kv_forward.py [--rows 16] [--cached 300 2000] [--repeats 5]
[--threads N]``.

SmolLM2-135M-Instruct in float32 (the copy ``llm_speed.py`` uses; 9 query heads on 3
key/value heads). Each of ``--rows`` rows first encodes a prompt of about ``--cached``
random tokens; then one timed forward of :func:`agents.llm.kv_batch.forward` runs every
row's next decision together: 12 new prompt tokens and three answers of 1 to 3 tokens
as branches on top of its cache, as a rock-paper-scissors round of the chat prompt does.
The same forward is timed four ways, in turn, in the same process:

* **arena**: as the ``hf`` engine runs it. Each layer's rows are gathered into a buffer
  as wide as the cache and the queries together, and the forward writes the queries'
  keys and values behind the cache (:mod:`agents.llm.filled_cache`); attention folds
  the query heads that share a key/value head into one call
  (:mod:`agents.llm.grouped_attention`).
* **concat**: the cache as before: the gathered cache goes into a ``DynamicCache`` as
  ``DynamicCache(ddp_cache_data=...)`` takes it (a copy), and each layer's update
  concatenates the queries onto it (another copy).
* **repeat_kv**: attention as before: transformers' ``sdpa``, which repeats every
  key/value head 3 times over before a masked attention.
* **before**: both, which is the forward as it was.

All four must give the same log-probabilities (the script checks: within 1e-6).
Figures are milliseconds per forward, the best of ``--repeats``, and each way's time
against the arena's.
"""

from __future__ import annotations

import argparse
import inspect
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from agent_speed import cpu_model  # sibling scripts: benchmarks/ is on sys.path
from llm_speed import smollm2_dir

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.llm import filled_cache, grouped_attention, kv_batch  # noqa: E402

NEW_TOKENS = 12
BRANCHES = ([], [5], [7, 8])  # each answer's tokens but its last


def concatenating_layer() -> type:
    """The reference: what the forward did with ``DynamicCache`` before (its update is
    ``DynamicLayer``'s concatenation)."""
    from transformers.cache_utils import DynamicLayer

    class Concatenating(DynamicLayer):  # type: ignore[misc,valid-type]
        def __init__(self, keys: Any, values: Any, *, filled: int) -> None:
            super().__init__()
            # DynamicCache(ddp_cache_data=...) concatenated the gathered cache onto an
            # empty tensor: a copy
            self.keys = keys[:, :, :filled].clone()
            self.values = values[:, :, :filled].clone()
            self.dtype, self.device = keys.dtype, keys.device
            self.is_initialized = True

        def lazy_initialization(self, *args: Any, **kwargs: Any) -> None:
            pass

    return Concatenating


def timed(model: Any, steps: list[kv_batch.Step], layer: Any, attention: str,
          **kw: Any) -> tuple[float, Any]:
    """One forward with ``layer`` making each layer's cache (``forward`` looks up
    ``filled_cache.filled_layer`` at each call) and ``attention`` attending."""
    original = filled_cache.filled_layer
    filled_cache.filled_layer = layer  # type: ignore[assignment]
    model.set_attn_implementation(attention)
    try:
        start = time.perf_counter()
        out = kv_batch.forward(model, steps, **kw)
        return time.perf_counter() - start, out
    finally:
        filled_cache.filled_layer = original  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=16)
    parser.add_argument("--cached", type=int, nargs="+", default=[300, 2000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM

    if args.threads:
        torch.set_num_threads(args.threads)
    model = AutoModelForCausalLM.from_pretrained(smollm2_dir(), dtype=torch.float32).eval()
    if not grouped_attention.install(model):
        raise SystemExit("the model is not on sdpa attention")
    params = inspect.signature(model.forward).parameters
    kw = {"pad_id": 0, "layout": kv_batch.mask_layout(model.config),
          "cache_arg": "cache" if "cache" in params else "past_key_values",
          "keep_arg": "logits_to_keep" in params}
    concat = concatenating_layer()
    ways = {"arena": (filled_cache.filled_layer, grouped_attention.NAME),
            "concat": (concat, grouped_attention.NAME),
            "repeat_kv": (filled_cache.filled_layer, "sdpa"),
            "before": (concat, "sdpa")}
    rng = np.random.default_rng(0)
    vocab = model.config.vocab_size
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, Python {platform.python_version()}; "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"SmolLM2-135M float32, {args.rows} rows, {NEW_TOKENS} new tokens and answers of "
          f"{'/'.join(str(len(b) + 1) for b in BRANCHES)} tokens a row; best of "
          f"{args.repeats}; ms per forward (and against arena)")
    print(f"{'cached':>7} " + " ".join(f"{name:>17}" for name in ways))

    def draw(n: int) -> list[int]:
        return [int(t) for t in rng.integers(0, vocab, n)]

    with torch.inference_mode():
        for cached in args.cached:
            # ragged caches, as matches at slightly different points have
            prompts = [kv_batch.Step(kv=None, new=draw(cached - int(rng.integers(0, 40))))
                       for _ in range(args.rows)]
            first = kv_batch.forward(model, prompts, **kw)
            steps = [kv_batch.Step(kv=o.kv, new=draw(NEW_TOKENS),
                                   branches=[list(b) for b in BRANCHES]) for o in first]
            best = dict.fromkeys(ways, float("inf"))
            outs: dict[str, Any] = {}
            for _ in range(args.repeats):
                for name, (layer, attention) in ways.items():
                    seconds, outs[name] = timed(model, steps, layer, attention, **kw)
                    best[name] = min(best[name], seconds)
            for name in ways:
                for a, b in zip(outs["arena"], outs[name], strict=True):
                    pairs = [(a.first, b.first), *zip(a.after, b.after, strict=True)]
                    worst = max(float((x - y).abs().max()) for x, y in pairs)
                    if worst > 1e-6:
                        raise SystemExit(f"{name} differs from arena by {worst:.2e}")
            print(f"{cached:>7} " + " ".join(
                f"{best[n] * 1e3:>8.0f} ({best[n] / best['arena']:>4.2f}x)" for n in ways))
    print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
