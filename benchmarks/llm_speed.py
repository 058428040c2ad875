"""Decisions per second of a language model in the arena, against a naive generate loop.

Usage: ``python benchmarks/llm_speed.py [--rounds 1 10 30 100] [--repeats 3] [--threads N]
[--profile]``.

SmolLM2-135M-Instruct in float32 (converted once to safetensors by the test fixture
``convert_smollm2`` in ``tests/agents/llm/conftest.py``, cached under
``~/.cache/arena/models``) plays rock-paper-scissors from the chat prompt. The history is a
fixed, made-up one (seeded): every method sees the same prompts, with the same model, in
the same process. The prompt at round ``r`` shows the ``r - 1`` rounds before it. Three
ways to make one decision are timed:

* **cached**: the arena's distribution mode. An :class:`~agents.llm.agent.HFAgent` is
  reset as the engine resets it and asked ``decide`` for rounds 1, 2, ... in order, with
  the observation a match would give it. It renders its prompt and scores every legal
  answer (``rock<|im_end|>`` ...) through its match's prompt cache
  (:class:`~agents.llm.prompt_cache.PromptCache`): at round ``r`` the cache holds round
  ``r - 1``'s prompt, so only the new tokens are encoded. Each decision of the match is
  timed; one repeat is one whole match with a fresh cache.
* **naive**: what TextArena-style agents do. The prompt is rendered and tokenized, and
  transformers' ``model.generate`` writes 4 new tokens greedily from the whole prompt.
  Nothing is kept between decisions (the answer would then be parsed; that is not
  timed).
* **old**: the scoring before the prompt cache, :meth:`HFEngine.score
  <agents.llm.hf_engine.HFEngine.score>`. Every legal answer is scored after the whole
  prompt from scratch, in one batch.

Every figure is the wall time of one decision, the best of ``repeats``, as the least
disturbed by other work on the machine. The script prints seconds per decision and
decisions per second at each round, the ratios cached/naive and cached/old, and the
cost of a cached decision at the last round against round 10. It notes the load average
before and after. ``--threads`` defaults to every core when the machine is idle and to
one thread when it is loaded: with more compute threads than free cores, torch's
threads wait on each other and a decision can take many times as long.

``--profile`` then splits one cached scoring at round 10 and at the last round (the cache
holding the round before) into its parts, with timers put around the steps of the
batched path (:mod:`agents.llm.batcher`, :mod:`agents.llm.kv_batch`): rendering the
prompt, tokenizing, cropping the cache, the hand-off to the engine's queue and back, and
inside the queue's forward: stacking the caches into the batch, the model's forward pass
(new prompt tokens and answer branches together), and the rest of the batch's work
(positions and masks in, log-probabilities and grown caches out).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from agent_speed import cpu_model  # a sibling script: benchmarks/ is on sys.path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.llm.agent import HFAgent  # noqa: E402
from arena.match import seat_context  # noqa: E402
from envs import make_game  # noqa: E402

GAME = "rps"
NEW_TOKENS = 4
MATCH_ROUNDS = 100
PHASES = ("render", "tokenize", "crop cache", "queue hand-off", "stack caches", "model forward",
          "batch in/out", "rest")


def smollm2_dir() -> Path:
    """The converted SmolLM2 directory, made by the tests' own fixture code if missing."""
    from filelock import FileLock

    from tests.agents.llm.conftest import _cache_root, convert_smollm2

    root = _cache_root()
    target = root / "smollm2-135m-instruct"
    with FileLock(str(root / "smollm2.lock")):
        if not (target / "config.json").exists():
            convert_smollm2(target)
    return target


def made_up_history(rounds: int, seed: int = 0) -> list[tuple[int, int]]:
    """A fixed history of (own, opponent) action indices."""
    rng = np.random.default_rng(seed)
    return [(int(a), int(b)) for a, b in rng.integers(0, 3, size=(rounds, 2))]


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


class Bench:
    """One loaded model, one agent, the fixed history, and the three ways to decide."""

    def __init__(self, model_dir: Path, last: int, threads: int) -> None:
        self.agent = HFAgent(name="lm", model=str(model_dir), dtype="float32",
                             prompt_format="chat", mode="distribution", threads=threads)
        # the prompt names the match's length: the same prompts whichever rounds are timed
        self.env = make_game(GAME, rounds=max(last, MATCH_ROUNDS))
        self.env.reset(seed=0)
        self.role = self.env.possible_agents[0]
        self.space = self.env.action_space(self.role)
        self.context = seat_context(GAME, self.env, self.role)
        self.history = made_up_history(max(last, MATCH_ROUNDS))
        self.agent.reset(seed=0, **self.context)
        self.names = self.agent.prompter.names
        self.continuations = [self.agent.continuation(n) for n in self.names]
        self.engine, self.codec = self.agent.engine, self.agent.codec
        self.model = self.engine.model  # loaded here, not in the first timed decision
        self.generated: dict[int, str] = {}

    def prompt(self, round_: int) -> str:
        return self.agent.prompt_text(self.history[:round_ - 1])

    def tokens(self, round_: int) -> int:
        return len(self.codec.encode(self.prompt(round_)))

    # -- the three methods -----------------------------------------------------------
    def cached_match(self, last: int) -> tuple[list[float], list[int]]:
        """One match played in order up to round ``last``: each decision's seconds and the
        tokens it encoded (those after the longest prefix shared with the cache)."""
        agent = self.agent
        agent.reset(seed=0, **self.context)
        obs = np.full((len(self.history), 2), -1, dtype=np.int64)
        seconds, fed = [], []
        try:
            for r in range(1, last + 1):
                if r > 1:
                    obs[r - 2] = self.history[r - 2]
                start = time.perf_counter()
                agent.decide(obs, self.space)
                seconds.append(time.perf_counter() - start)
                session = agent.session
                fed.append(len(session.ids) - session.reused)
            if agent.prompt_text() != self.prompt(last):
                raise RuntimeError("the agent saw another history than the fixed one")
        finally:
            agent.close()  # the match is over: free its cache
        return seconds, fed

    def naive(self, round_: int) -> float:
        import torch

        tok = self.codec.tokenizer
        start = time.perf_counter()
        enc = tok(self.prompt(round_), add_special_tokens=False, return_tensors="pt")
        with torch.inference_mode():
            out = self.model.generate(**enc, max_new_tokens=NEW_TOKENS, do_sample=False,
                                      pad_token_id=tok.pad_token_id)
        spent = time.perf_counter() - start
        self.generated[round_] = tok.decode(out[0, enc["input_ids"].shape[1]:])
        return spent

    def old(self, round_: int) -> float:
        start = time.perf_counter()
        text = self.prompt(round_)
        self.engine.score(self.codec.pairs(text, self.continuations))
        return time.perf_counter() - start

    def phases(self, round_: int) -> dict[str, float]:
        """One cached scoring at ``round_`` (the cache holding the round before), split
        into its parts by timers put around the steps of the batched path."""
        from agents.llm import kv_batch, prompt_cache

        agent, codec, batcher = self.agent, self.codec, self.engine.batcher
        for owner, name in ((prompt_cache, "crop"), (kv_batch, "_gather"), (batcher, "_forward"),
                            (batcher, "submit_all"), (codec, "encode"), (self.model, "forward")):
            if not callable(getattr(owner, name, None)):
                raise RuntimeError(f"{owner!r} has no {name}(): update the profile")
        session = self.engine.session()
        # raw time inside each call; the calls nest (submit_all > _forward > _gather, forward)
        spent = dict.fromkeys(("render", "encode", "crop", "submit_all", "_forward", "_gather",
                               "forward"), 0.0)

        def timed(name: str, call: Callable[..., Any]) -> Callable[..., Any]:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return call(*args, **kwargs)
                finally:
                    spent[name] += time.perf_counter() - start
            return wrapper

        if round_ > 1:
            session.score(codec.pairs(self.prompt(round_ - 1), self.continuations))
        patched = [(prompt_cache, "crop"), (kv_batch, "_gather")]
        originals = [getattr(owner, name) for owner, name in patched]
        for owner, name in patched:  # module globals, looked up at each call
            setattr(owner, name, timed(name, getattr(owner, name)))
        # instance attributes shadow the methods; deleting them restores the methods
        instances = [(batcher, "_forward"), (batcher, "submit_all"), (codec, "encode"),
                     (self.model, "forward")]
        for owner, name in instances:
            owner.__dict__[name] = timed(name, getattr(owner, name))
        try:
            start = time.perf_counter()
            text = timed("render", agent.prompt_text)(self.history[:round_ - 1])
            session.score(codec.pairs(text, self.continuations))
            total = time.perf_counter() - start
        finally:
            for (owner, name), original in zip(patched, originals, strict=True):
                setattr(owner, name, original)
            for owner, name in instances:
                owner.__dict__.pop(name, None)
            session.close()
        parts = {"render": spent["render"], "tokenize": spent["encode"],
                 "crop cache": spent["crop"],
                 "queue hand-off": spent["submit_all"] - spent["_forward"],
                 "stack caches": spent["_gather"], "model forward": spent["forward"],
                 "batch in/out": spent["_forward"] - spent["_gather"] - spent["forward"]}
        parts["rest"] = total - sum(parts.values())
        parts["total"] = total
        return parts


def best(times: Callable[[], float], repeats: int) -> float:
    return min(times() for _ in range(repeats))


def profile(bench: Bench, rounds: list[int], repeats: int) -> None:
    """Where a cached decision's time goes, in ms: the repeat with the least total."""
    runs = {r: min((bench.phases(r) for _ in range(repeats)), key=lambda p: p["total"])
            for r in rounds}
    print()
    print("| part of a cached decision | " + " | ".join(f"round {r}, ms" for r in rounds) + " |")
    print("|---|" + "---:|" * len(rounds))
    for name in (*PHASES, "total"):
        cells = [f"{runs[r][name] * 1000:.1f} ({runs[r][name] / runs[r]['total']:.0%})"
                 for r in rounds]
        print(f"| {name} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, nargs="+", default=[1, 10, 30, 100])
    parser.add_argument("--repeats", type=int, default=3, help="best of this many (default 3)")
    parser.add_argument("--profile", action="store_true",
                        help="also split a cached decision at round 10 and the last into parts")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: all cores if idle, else 1)")
    args = parser.parse_args(argv)
    rounds = sorted(set(args.rounds))
    if rounds[0] < 1:
        parser.error("rounds count from 1")
    last = rounds[-1]

    import torch
    import transformers

    cores = os.cpu_count() or 1
    before = os.getloadavg()
    threads = args.threads or (cores if before[0] < cores - 0.5 else 1)
    torch.set_num_threads(threads)
    warnings.filterwarnings("ignore")
    transformers.logging.set_verbosity_error()

    wall = time.perf_counter()
    bench = Bench(smollm2_dir(), last, threads)
    print(f"# {platform.machine()}, {cpu_model()}, {cores} cores, torch {torch.__version__} "
          f"({threads} threads), transformers {transformers.__version__}, "
          f"Python {platform.python_version()}")
    print(f"# SmolLM2-135M-Instruct float32, {GAME} chat prompt, fixed made-up history; "
          f"best of {args.repeats}; load average before: "
          + " ".join(f"{x:.1f}" for x in before))

    cached: dict[int, float] = {}
    fed: dict[int, int] = {}
    for _ in range(args.repeats):
        seconds, new = bench.cached_match(last)
        for r in rounds:
            cached[r] = min(cached.get(r, np.inf), seconds[r - 1])
            fed[r] = new[r - 1]
    naive = {r: best(lambda r=r: bench.naive(r), args.repeats) for r in rounds}
    old = {r: best(lambda r=r: bench.old(r), args.repeats) for r in rounds}

    print()
    print("| round | prompt tokens | new tokens | cached s | cached /s | naive s | naive /s "
          "| old s | old /s | cached vs naive | cached vs old |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rounds:
        print(f"| {r} | {bench.tokens(r)} | {fed[r]} | {cached[r]:.3f} | {1 / cached[r]:.2f} "
              f"| {naive[r]:.3f} | {1 / naive[r]:.2f} | {old[r]:.3f} | {1 / old[r]:.2f} "
              f"| {naive[r] / cached[r]:.1f}x | {old[r] / cached[r]:.1f}x |")
    print()
    if 10 in cached and last != 10:
        print(f"cached: a decision at round {last} costs {cached[last] / cached[10]:.2f}x "
              f"one at round 10")
    print(f"naive answers (greedy, {NEW_TOKENS} tokens): "
          + "; ".join(f"round {r}: {bench.generated[r]!r}" for r in rounds))
    if args.profile:
        profile(bench, [r for r in (10, last) if r in rounds], args.repeats)
    print(f"load average after: {load()}; wall time {time.perf_counter() - wall:.0f} s")


if __name__ == "__main__":
    main()
