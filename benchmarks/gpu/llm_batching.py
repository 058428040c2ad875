"""Decisions per second of an 8B model playing many RPS matches at once, batched against
one at a time, and the FLOP/s that reaches against the GPU's measured matmul peak.

Usage: ``python benchmarks/gpu/llm_batching.py [--matches 64] [--rounds 20] [--tail 0 [45]]
[--layers N] [--device cuda] [--tiny] [--attn sdpa] [--profile ROUNDS] [--out FILE]`` (or
``benchmarks/gpu/run.sh``; ``benchmarks/gpu/before_after.sh`` runs an earlier tree too).

The model is Llama-3.1-8B's architecture, randomly initialised in bfloat16 straight on
the device: no weights and no tokenizer are downloaded. It plays at the token level.
Each match has its own prompt of random token ids, about 150 tokens at round 1, that
grows by about 12 tokens a round (``--tail T`` also rewrites the last T tokens every
round, as a real prompt's "Round r of n, your score..." tail does). Every decision
scores 3 answers of 2 tokens each after the prompt through the match's own prompt cache
(``HFEngine.session().score``), as the arena's distribution mode does. One thread a
match, all started together, as the runner plays matches that share a model.

The two modes differ in one number: ``max_batch`` of the backend's request queue. At 64
the queue's worker runs everything waiting as one padded forward; at 1 it runs each
decision alone. The code path is otherwise the same, so the second is a fair reference.
Both modes run in this process on the same model, after one warm-up.

FLOPs are counted from the steps the forwards actually carried (padding excluded), per
decision::

    2 * P_layers * T  +  2 * P_head * K  +  4 * n_layers * d_attn * S

T: tokens through the layers (new prompt tokens and answer-branch tokens); K: positions
whose logits are kept (the last prompt token and the branch tokens); S: over those T
query tokens, the number of keys each one attends to (its cache, the prompt before it
and, for a branch token, its own answer before it); d_attn = heads * head_dim;
P_layers: the decoder layers' parameters; P_head: the output projection's. The same
formula over the padded batch (every row as wide as the widest, every query against
every key slot) gives the executed FLOPs. The peak is a timed 8192^3 bf16 ``torch.matmul``
on the same device in the same run.

Imports: torch, transformers and :mod:`agents.llm.hf_engine` only (loaded without the
rest of ``agents.llm``, so a GPU image without the arena's dependencies can run it).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

from forward_profile import profile_batch  # a sibling script: its folder is on sys.path

ROOT = Path(__file__).resolve().parents[2]
# 3 answers of 2 tokens each (a word and the end-of-turn token), as in Llama 3's vocabulary
ANSWERS = [[14534, 128009], [80197, 128009], [72, 128009]]
# Llama 3.1's long-context RoPE scaling only changes the rotation frequencies: no cost
LLAMA_31_8B = dict(vocab_size=128256, hidden_size=4096, intermediate_size=14336,
                   num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                   head_dim=128, max_position_embeddings=8192, rope_theta=500000.0,
                   rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=128000,
                   eos_token_id=128009)
# the --tiny preset: small enough for a 2-core CPU, same shape of problem
TINY = dict(LLAMA_31_8B, vocab_size=2004, hidden_size=128, intermediate_size=448,
            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=32,
            bos_token_id=2000, eos_token_id=2001)


def import_backend() -> Any:
    """``agents.llm.hf_engine.HFEngine``, without running ``agents/llm/__init__.py``:
    that imports the hf agent and the whole arena (pettingzoo, pydantic...), which a GPU
    image need not have. The package is registered as a bare namespace instead."""
    sys.path.insert(0, str(ROOT))
    if "agents.llm" not in sys.modules:
        import agents  # noqa: F401 -- a docstring only

        package = types.ModuleType("agents.llm")
        package.__path__ = [str(ROOT / "agents" / "llm")]
        sys.modules["agents.llm"] = package
    from agents.llm.hf_engine import HFEngine
    return HFEngine


def rate(flops: float) -> str:
    """A FLOP count or rate with its unit prefix: '812.3 T'."""
    for prefix, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6)):
        if flops >= scale:
            return f"{flops / scale:.1f} {prefix}"
    return f"{flops:.0f} "


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def build_model(args: argparse.Namespace) -> Any:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    dims = dict(TINY if args.tiny else LLAMA_31_8B)
    if args.layers:
        dims["num_hidden_layers"] = args.layers
    config = LlamaConfig(**dims)
    # made on the device itself: no 32 GB float32 copy on the host, init runs on the GPU;
    # sdpa is what the arena's backend gets by default
    with torch.device(args.device):
        model = LlamaForCausalLM._from_config(config, dtype=getattr(torch, args.dtype),
                                              attn_implementation=args.attn)
    return model.eval()


def matmul_peak(device: Any, dtype: Any, n: int, repeats: int = 20) -> float:
    """FLOP/s of an n x n x n ``torch.matmul`` on random data, the mean of ``repeats``
    after 3 warm-ups."""
    import torch

    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync(device)
    return 2 * n ** 3 * repeats / (time.perf_counter() - start)


class ForwardMeter:
    """Wraps the batcher's forward: counts its time (device synchronised) and FLOPs."""

    def __init__(self, backend: Any, model: Any) -> None:
        config = model.config
        self.inner = backend.batcher._forward
        self.device = model.device
        self.layers = config.num_hidden_layers
        self.d_attn = config.num_attention_heads * config.head_dim
        self.p_layers = sum(p.numel() for p in model.model.layers.parameters())
        self.p_head = model.lm_head.weight.numel()
        self.seconds = 0.0
        self.useful = 0.0
        self.executed = 0.0
        self.sizes: list[int] = []  # rows of each forward
        self.failures: list[str] = []
        self.largest: list[Any] = []  # the steps of the latest widest forward
        backend.batcher._forward = self  # the instance attribute shadows the method

    def flops(self, tokens: int, kept: int, keys: int) -> float:
        return 2 * self.p_layers * tokens + 2 * self.p_head * kept \
            + 4 * self.layers * self.d_attn * keys

    def __call__(self, steps: list[Any]) -> Any:
        start = time.perf_counter()
        try:
            outputs = self.inner(steps)
            sync(self.device)  # the thread would wait here anyway, reading its scores
        except BaseException as exc:
            # the queue retries a failed batch's jobs one by one: say so, or the figures
            # would silently be those of smaller batches
            self.failures.append(f"{len(steps)} rows: {exc!r}")
            log(f"a forward of {len(steps)} rows failed (the queue retries each alone): {exc!r}")
            raise
        self.seconds += time.perf_counter() - start
        self.sizes.append(len(steps))
        if len(steps) >= len(self.largest):  # the latest of the widest batches, for --profile
            self.largest = list(steps)
        width = max(len(s.new) + sum(len(b) for b in s.branches) for s in steps)
        kept = max(sum(len(b) for b in s.branches) + 1 for s in steps)
        slots = max(s.cached for s in steps) + width
        self.executed += self.flops(len(steps) * width, len(steps) * kept,
                                    len(steps) * width * slots)
        for s in steps:
            n = len(s.new)
            keys = sum(s.cached + j + 1 for j in range(n))
            keys += sum(s.cached + n + k + 1 for b in s.branches for k in range(len(b)))
            branch = sum(len(b) for b in s.branches)
            self.useful += self.flops(n + branch, branch + 1, keys)
        return outputs


class Match:
    """One match's prompt as token ids: random, seeded, growing ``grow`` tokens a round;
    the last ``tail`` tokens are drawn anew every round."""

    def __init__(self, seed: int, vocab: int, start: int, grow: int, tail: int) -> None:
        self.rng = random.Random(seed)
        self.vocab, self.grow, self.tail = vocab, grow, tail
        self.history = self._draw(start - tail)

    def _draw(self, n: int) -> list[int]:
        return [self.rng.randrange(self.vocab) for _ in range(max(0, n))]

    def prompt(self, round_: int) -> list[int]:
        if round_ > 1:  # ~12 tokens, like one history line
            self.history += self._draw(self.grow + self.rng.randint(-1, 1))
        return self.history + self._draw(self.tail)


def play(backend: Any, meter: ForwardMeter, args: argparse.Namespace, tail: int, label: str,
         vocab: int, seconds: float) -> dict[str, Any]:
    """All matches, one thread each, until ``args.rounds`` rounds or ``seconds`` run out.
    Nothing keeps them in step: a match asks again as soon as it has its answer, as in
    the runner."""
    from agents.llm.codec import Pair  # importable once import_backend() has run

    batcher = backend.batcher
    batches0, rows0 = batcher.batches, batcher.rows
    fwd0, useful0, executed0 = meter.seconds, meter.useful, meter.executed
    sizes0, failures0 = len(meter.sizes), len(meter.failures)
    done = [0] * args.matches
    errors: list[BaseException] = []
    go = threading.Barrier(args.matches + 1)
    deadline = [float("inf")]
    answers = [[t % vocab for t in a] for a in ANSWERS]  # the tiny vocabulary is smaller

    def match(i: int) -> None:
        session = backend.session()
        game = Match(args.seed * 1000 + i, vocab, args.prompt, args.grow, tail)
        try:
            go.wait()
            for r in range(1, args.rounds + 1):
                if time.perf_counter() > deadline[0]:
                    break
                prompt = tuple(game.prompt(r))
                session.score([Pair(prompt, tuple(a), "", "") for a in answers])
                done[i] += 1
        except BaseException as exc:  # noqa: BLE001 -- re-raised by the main thread
            errors.append(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=match, args=(i,), daemon=True) for i in range(args.matches)]
    for t in threads:
        t.start()
    start = time.perf_counter()
    deadline[0] = start + seconds
    go.wait()
    while not errors:
        alive = [t for t in threads if t.is_alive()]
        if not alive:
            break
        alive[0].join(timeout=10)
        if alive[0].is_alive():
            log(f"  {label}: {sum(done)} decisions, {time.perf_counter() - start:.0f} s")
    wall = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{label}: a match failed") from errors[0]
    batches, rows = batcher.batches - batches0, batcher.rows - rows0
    sizes = sorted(meter.sizes[sizes0:]) or [0]
    decisions = sum(done)
    return {"mode": label, "tail": tail, "max_batch": batcher.max_batch, "decisions": decisions,
            "rounds_reached": min(done), "truncated": min(done) < args.rounds,
            "wall_s": wall, "decisions_per_s": decisions / wall,
            "batches": batches, "mean_batch": rows / max(batches, 1),
            "batch_min_median_max": [sizes[0], sizes[len(sizes) // 2], sizes[-1]],
            "forward_s": meter.seconds - fwd0, "useful_flop": meter.useful - useful0,
            "executed_flop": meter.executed - executed0, "failed_forwards": meter.failures[failures0:]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--matches", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--prompt", type=int, default=150, help="prompt tokens at round 1")
    parser.add_argument("--grow", type=int, default=12, help="prompt tokens added a round")
    parser.add_argument("--tail", type=int, nargs="+", default=[0],
                        help="last prompt tokens rewritten every round, one scenario each "
                             "(default 0; the arena's RPS chat prompt has about 45)")
    parser.add_argument("--batch", type=int, default=64, help="max_batch of the batched mode")
    parser.add_argument("--layers", type=int, default=None, help="fewer layers (smoke tests)")
    parser.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    parser.add_argument("--dtype", default=None, help="default: bfloat16 (float32 with --tiny)")
    parser.add_argument("--tiny", action="store_true", help="a tiny Llama, for a CPU smoke test")
    parser.add_argument("--budget", type=float, default=240.0,
                        help="seconds for all timed runs together; each run stops starting "
                             "rounds after its share, each warm-up after a fifth of that "
                             "(default 240)")
    parser.add_argument("--peak-size", type=int, default=None,
                        help="matmul size (default 8192; 1024 with --tiny)")
    parser.add_argument("--attn", default="sdpa",
                        help="transformers' attn_implementation (default sdpa, the engine's)")
    parser.add_argument("--profile", type=int, default=0, metavar="ROUNDS",
                        help="after the timed runs, ROUNDS more batched rounds, then their "
                             "widest batch again under torch.profiler: where a forward's "
                             "time goes (default 0: no profile)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="also write the figures here as JSON")
    args = parser.parse_args(argv)

    begun = time.perf_counter()
    import torch
    import transformers

    HFEngine = import_backend()
    args.device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    args.dtype = args.dtype or ("float32" if args.tiny else "bfloat16")
    device, dtype = torch.device(args.device), getattr(torch, args.dtype)
    name = (torch.cuda.get_device_name(device) if device.type == "cuda"
            else platform.processor() or platform.machine())
    log(f"torch {torch.__version__}, transformers {transformers.__version__}, "
        f"Python {platform.python_version()}, device {device} ({name}), "
        f"{torch.get_num_threads()} CPU threads")

    n = args.peak_size or (1024 if args.tiny else 8192)
    peak = matmul_peak(device, dtype, n)
    log(f"matmul peak ({n}^3 {args.dtype}): {rate(peak)}FLOP/s")

    model = build_model(args)
    sync(device)
    params = sum(p.numel() for p in model.parameters())
    log(f"model: Llama-3.1-8B shape{' (tiny)' if args.tiny else ''}, "
        f"{model.config.num_hidden_layers} layers, {params / 1e9:.2f} B parameters, "
        f"{args.dtype}, ready {time.perf_counter() - begun:.0f} s after start")
    # no tokenizer: the token-id calls only need a pad id. A stand-in gives one, since
    # HFBackend.pad_id before a639803 read it off the tokenizer and failed on None.
    stand_in = types.SimpleNamespace(pad_token_id=0, eos_token_id=model.config.eos_token_id)
    vocab = model.config.vocab_size
    share = args.budget / (2 * len(args.tail))
    results, ratios = [], {}
    for tail in args.tail:
        pair = []
        # the same model behind two backends that differ only in max_batch
        for label, max_batch in (("batched", args.batch), ("one at a time", 1)):
            backend = HFEngine.from_model(model, stand_in, max_batch=max_batch)
            meter = ForwardMeter(backend, model)
            warm = argparse.Namespace(**{**vars(args), "rounds": 2, "seed": args.seed + 1})
            play(backend, meter, warm, tail, f"{label} warm-up", vocab, share / 5)
            log(f"tail {tail}, {label} (max_batch {max_batch}): "
                f"{args.matches} matches x {args.rounds} rounds")
            result = play(backend, meter, args, tail, label, vocab, share)
            pair.append(result)
            log(f"tail {tail}, {label}: {result['decisions_per_s']:.1f} decisions/s, "
                f"mean batch {result['mean_batch']:.1f}")
        ratios[tail] = pair[0]["decisions_per_s"] / pair[1]["decisions_per_s"]
        results += pair
    profiled = None
    if args.profile:
        backend = HFEngine.from_model(model, stand_in, max_batch=args.batch)
        meter = ForwardMeter(backend, model)
        short = argparse.Namespace(**{**vars(args), "rounds": args.profile,
                                      "seed": args.seed + 2})
        log(f"profile: {args.matches} matches x {args.profile} rounds, batched, "
            f"tail {args.tail[0]}")
        play(backend, meter, short, args.tail[0], "profiled", vocab, share)
        profiled = profile_batch(model, meter.inner, meter.largest) if meter.largest else None
    # measured again, warm: the higher of the two is the peak the runs are set against
    peak = max(peak, matmul_peak(device, dtype, n))

    print()
    print("| tail | mode | max_batch | decisions | wall s | decisions/s "
          "| batch: mean (min/median/max) | forward s | useful FLOP/s (wall) "
          "| useful FLOP/s (in forwards) | executed FLOP/s (in forwards) | useful, % of peak |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        r["useful_flop_per_s"] = r["useful_flop"] / r["wall_s"]
        r["useful_flop_per_forward_s"] = r["useful_flop"] / r["forward_s"]
        r["executed_flop_per_forward_s"] = r["executed_flop"] / r["forward_s"]
        r["useful_fraction_of_peak"] = r["useful_flop_per_s"] / peak
        print(f"| {r['tail']} | {r['mode']}{' (truncated)' if r['truncated'] else ''} "
              f"| {r['max_batch']} | {r['decisions']} | {r['wall_s']:.1f} "
              f"| {r['decisions_per_s']:.1f} "
              f"| {r['mean_batch']:.1f} ({'/'.join(map(str, r['batch_min_median_max']))}) "
              f"| {r['forward_s']:.1f} | {rate(r['useful_flop_per_s'])} "
              f"| {rate(r['useful_flop_per_forward_s'])} "
              f"| {rate(r['executed_flop_per_forward_s'])} "
              f"| {r['useful_fraction_of_peak']:.1%} |")
    print()
    for r in results:
        if r["failed_forwards"]:
            print(f"WARNING: tail {r['tail']}, {r['mode']}: {len(r['failed_forwards'])} forwards "
                  f"failed and were retried one job at a time; first: {r['failed_forwards'][0]}")
    for tail, ratio in ratios.items():
        print(f"ratio, tail {tail}: batched (max_batch {args.batch}) / one at a time = "
              f"{ratio:.1f}x decisions/s")
    print(f"peak {rate(peak)}FLOP/s ({n}^3 {args.dtype} matmul on the same device, the better "
          "of one before and one after the runs)")
    memory = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    total = time.perf_counter() - begun
    print(f"wall time {total:.0f} s" + (f"; peak device memory {memory / 2**30:.1f} GiB"
                                        if memory else ""), flush=True)
    if args.out:
        report = {"device": name, "torch": torch.__version__,
                  "transformers": transformers.__version__, "python": platform.python_version(),
                  "settings": {k: v for k, v in vars(args).items() if k != "out"},
                  "parameters": params, "peak_flop_per_s": peak, "peak_matmul_size": n,
                  "flop_formula": "2*P_layers*T + 2*P_head*K + 4*n_layers*d_attn*S",
                  "results": results, "ratios": {str(t): r for t, r in ratios.items()},
                  "wall_s": total, "max_device_memory": memory, "profile": profiled}
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
        log(f"figures written to {args.out}")


if __name__ == "__main__":
    main()
