"""Seconds per served decision at rounds 10, 50 and 100: scoring that reuses the
server's prefix cache against ``prompt_logprobs``, which recomputes the whole prompt.

Usage: ``python benchmarks/served_speed.py [--rounds 10 50 100] [--repeats 3]
[--window 10] [--vllm-python PATH] [--url URL [--served-name NAME]]``.

SmolLM2-135M-Instruct in float32 is served by a vLLM server that the ``vllm`` engine
starts (its CPU build in ``.venv-vllm`` by default; ``--url`` takes a running server
instead, which must have prefix caching on). It plays rock-paper-scissors from the chat
prompt with a fixed, made-up history, as ``benchmarks/llm_speed.py`` does: the prompt
at round ``r`` shows the ``r - 1`` rounds before it. A decision scores the three legal
answers (``rock<|im_end|>`` ...) through the ``openai`` engine, by three methods
(:mod:`agents.llm.served_scoring`):

* **old**: ``prompt_logprobs`` — every answer's full prompt in one request; vLLM
  skips its prefix cache for such requests, so each decision prefills every answer's
  whole prompt;
* **cached**: one ``max_tokens: 1`` request per answer token on the prompt so far (7
  for rock-paper-scissors), the token's raw log-probability read back;
* **branches**: one request per answer's first token, reading two tokens deep through
  ``logprob_token_ids`` (4 requests).

Before a timed decision at round ``r`` the decision at round ``r - 1`` is made (as in a
match, so the cache holds what a match would leave there); each figure is the best of
``repeats``. A decision's cost at one round depends on where its prompt ends in the
server's cache blocks (the part past the last whole block is computed again), so the
script also plays the rounds before 10 and before 100 in order (``--window`` of them,
as a match does) with the two cached methods and prints their mean. It prints seconds
per decision, the ratios, each method's cost at the last round against round 10, and
the largest difference between the methods' distributions.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from agent_speed import cpu_model  # sibling scripts: benchmarks/ is on sys.path
from llm_speed import made_up_history, smollm2_dir

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.llm.agent import tempered  # noqa: E402
from arena.match import seat_context  # noqa: E402
from arena.registry import make_agent  # noqa: E402
from envs import make_game  # noqa: E402

METHODS = {"old": "prompt_logprobs", "cached": "cached", "branches": "branches"}
CACHED = ("cached", "branches")


def decide(agent: Any, history: list[tuple[int, int]], round_: int) -> tuple[float, np.ndarray]:
    """One decision's scoring at ``round_``: its seconds and its distribution."""
    text = agent.prompt_text(history[:round_ - 1])
    pairs = agent.codec.pairs(text, [agent.continuation(n) for n in agent.prompter.names])
    start = time.perf_counter()
    logprobs = agent.engine.score(pairs)
    return time.perf_counter() - start, tempered(logprobs, 1.0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--window", type=int, default=10,
                        help="rounds played in order before 10 and before the last round")
    parser.add_argument("--vllm-python", default=str(ROOT / ".venv-vllm" / "bin" / "python"))
    parser.add_argument("--url", default=None, help="a running server's OpenAI base URL")
    parser.add_argument("--served-name", default=None,
                        help="the model's name on the --url server (default: its folder)")
    args = parser.parse_args(argv)
    rounds = sorted(set(args.rounds))
    model = smollm2_dir()
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    server = None
    if args.url is None:
        from agents.llm.vllm_engine import VLLMEngine

        server = VLLMEngine(model=str(model), dtype="float32", max_model_len=4096,
                            vllm_python=args.vllm_python, startup_timeout=1200)
        server.start()
        url = server.url
    else:
        url = args.url
    env = make_game("rps", rounds=max(rounds))
    env.reset(seed=0)
    context = seat_context("rps", env, env.possible_agents[0])
    history = made_up_history(max(rounds))
    agents = {}
    for label, method in METHODS.items():
        agent = make_agent("llm", name=label, engine="openai", base_url=url,
                           model=args.served_name or str(model), tokenizer=str(model),
                           scoring=method)
        agent.reset(seed=0, **context)
        if agent.engine.scoring_method() != method:
            raise RuntimeError(f"the server does not score by {method}")
        agents[label] = agent
    load = os.getloadavg()
    seconds: dict[str, dict[int, float]] = {label: {} for label in METHODS}
    worst = 0.0
    for r in rounds:
        got = {}
        for label, agent in agents.items():
            best = np.inf
            for _ in range(args.repeats):
                if r > 1:
                    decide(agent, history, r - 1)  # the match's previous decision
                spent, probs = decide(agent, history, r)
                best = min(best, spent)
            seconds[label][r] = best
            got[label] = probs
        worst = max(worst, max(float(np.abs(got["old"] - got[c]).max()) for c in CACHED))
    first, last = rounds[0], rounds[-1]
    # a match's decisions in order, the ``window`` rounds up to ``first`` and to ``last``
    spans = {end: range(max(2, end - args.window + 1), end + 1) for end in (first, last)}
    windows: dict[str, dict[int, float]] = {label: {} for label in CACHED}
    for label in CACHED:
        for end, span in spans.items():
            decide(agents[label], history, span[0] - 1)
            windows[label][end] = float(np.mean([decide(agents[label], history, r)[0]
                                                 for r in span]))
    tokens = {r: len(agents["branches"].codec.encode(
        agents["branches"].prompt_text(history[:r - 1]))) for r in rounds}
    print(f"# {platform.machine()}, {cpu_model()}, {os.cpu_count()} cores; vLLM CPU server, "
          f"SmolLM2-135M-Instruct float32; best of {args.repeats}; load average before: "
          + " ".join(f"{x:.1f}" for x in load))
    print()
    print("| round | prompt tokens | old s | cached s | branches s | old / branches |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rounds:
        old, cached, branches = (seconds[label][r] for label in METHODS)
        print(f"| {r} | {tokens[r]} | {old:.3f} | {cached:.3f} | {branches:.3f} | "
              f"{old / branches:.1f}x |")
    print()
    for label in METHODS:
        print(f"{label} ({METHODS[label]}): round {last} costs "
              f"{seconds[label][last] / seconds[label][first]:.2f}x round {first}")
    for label in CACHED:
        a, b = spans[first], spans[last]
        print(f"{label}, mean of rounds {b[0]}-{b[-1]} against {a[0]}-{a[-1]}, in order: "
              f"{windows[label][last]:.3f} s / {windows[label][first]:.3f} s = "
              f"{windows[label][last] / windows[label][first]:.2f}x")
    print(f"largest |p_old - p_cached or p_branches|: {worst:.2e}")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if server is not None:
        server.close()


if __name__ == "__main__":
    main()
