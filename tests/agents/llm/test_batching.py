"""Batching across matches: many sessions share one forward pass, and nothing changes.

Decisions of concurrent matches on one model run as one padded batch
(:mod:`agents.llm.kv_batch`); each match keeps its own cache. Batched and one-at-a-time
distributions must agree within 1e-5 in float32, and a whole LLM tournament must play
the same actions at concurrency 1 and 8.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from agents.llm.codec import Pair, get_codec
from agents.llm.hf_engine import HFEngine
from tests.agents.llm import reference
from tests.agents.llm.runs import arena, export


def _prompts(seed: int, rounds: int) -> list[list[int]]:
    """A match's growing prompts as token ids: a prefix, then a few tokens a round."""
    rng = np.random.default_rng(seed)
    ids = list(rng.integers(3, 300, size=int(rng.integers(20, 60))))
    out = []
    for _ in range(rounds):
        ids = ids + list(rng.integers(3, 300, size=int(rng.integers(3, 9))))
        out.append(list(ids))
    return out


ANSWERS = [[40, 41], [42], [43, 44, 45]]  # answers of 1 to 3 tokens: a ragged tree


def _pairs(prompt: list[int]) -> list[Pair]:
    return [Pair(tuple(prompt), tuple(a), "", "") for a in ANSWERS]


def _play(backend: HFEngine, matches: int, rounds: int, *, threads: bool) -> dict[int, list]:
    """Every match's scores per round, its decisions run concurrently or one by one."""
    scores: dict[int, list] = {m: [] for m in range(matches)}

    def play(m: int) -> None:
        session = backend.session()
        for prompt in _prompts(m, rounds):
            scores[m].append(session.score(_pairs(prompt)))
        session.close()

    if threads:
        workers = [threading.Thread(target=play, args=(m,)) for m in range(matches)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    else:
        for m in range(matches):
            play(m)
    return scores


def test_batched_scores_equal_one_at_a_time_within_1e_5(tiny_model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype="float32")
    alone = HFEngine.from_model(model, max_batch=1)
    together = HFEngine.from_model(model, max_batch=64)
    want = _play(alone, 8, 6, threads=False)
    got = _play(together, 8, 6, threads=True)
    worst = max(np.abs(np.asarray(got[m]) - np.asarray(want[m])).max() for m in want)
    assert worst < 1e-5
    assert alone.batcher.rows == alone.batcher.batches  # one decision per forward
    # eight matches in flight share forwards: fewer forwards than decisions
    assert together.batcher.rows == 48 and together.batcher.batches < 48


def test_scores_equal_a_fresh_uncached_pass(tiny_model_dir: Path) -> None:
    """Cut the cache back (a shorter prompt), grow it again: always the uncached numbers."""
    backend = HFEngine(model=str(tiny_model_dir), dtype="float32")
    codec = get_codec(tokenizer=str(tiny_model_dir))
    session = backend.session()
    texts = ["Round 1\nMe: rock\nOpponent: paper\n", "Round 1\nMe: rock\nOpponent: paper\n"
             "Round 2\nMe: scissors\n", "Round 1\nMe: rock\n"]
    answers = [" rock\n", " paper\n", " scissors\n"]
    for text in texts:
        cached = session.score(codec.pairs(text, answers))
        fresh = backend.score(codec.pairs(text, answers))
        want = [reference.logprob(tiny_model_dir, text, a) for a in answers]
        assert np.abs(cached - fresh).max() < 1e-5 and np.abs(cached - want).max() < 1e-5


def test_a_failing_request_fails_only_its_own_match(tiny_model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype="float32")
    backend = HFEngine.from_model(model)
    bad, good = backend.session(), backend.session()
    errors: list[BaseException] = []
    results: list[np.ndarray] = []

    def ask(session, ids) -> None:
        try:
            results.append(session.score(_pairs(ids)))
        except Exception as exc:  # noqa: BLE001 -- the test looks at it
            errors.append(exc)

    # a token id past the vocabulary makes the embedding lookup fail
    workers = [threading.Thread(target=ask, args=(bad, [10**7, 5])),
               threading.Thread(target=ask, args=(good, [5, 6, 7]))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(errors) == 1 and len(results) == 1
    assert np.isfinite(results[0]).all()


def _tournament(path: Path, model: Path) -> Path:
    path.write_text(f"""name: batching
seed: 5
games:
  - {{id: rps, rounds: 6}}
  - {{id: random_number, low: 0, high: 10, length: 4, format: {{type: solo, episodes: 2}}}}
format: {{type: gauntlet, opponents: [freq, iocaine], matches: 2}}
agents:
  - {{name: chat, type: hf, model: "{model}", prompt_format: chat, dtype: float32}}
  - {{name: base, type: hf, model: "{model}", prompt_format: completion, dtype: float32}}
  - {{name: writer, type: hf, model: "{model}", mode: sample, dtype: float32, games: [rps]}}
  - {{name: freq, type: frequency, games: [rps]}}
  - {{name: iocaine, type: iocaine, games: [rps]}}
""")
    return path


@pytest.mark.slow
def test_a_tournament_plays_the_same_actions_at_concurrency_1_and_8(
        tiny_model_dir: Path, tmp_path: Path) -> None:
    config = _tournament(tmp_path / "batching.yaml", tiny_model_dir)
    runs = {}
    for concurrency in (1, 8):
        out = tmp_path / f"c{concurrency}"
        done = arena("run", str(config), "--out", str(out), "--no-live",
                     "--concurrency", str(concurrency))
        assert done.returncode == 0, done.stderr
        runs[concurrency] = {row["key"]: row for row in export(out)}
    assert runs[1].keys() == runs[8].keys() and len(runs[1]) == 26
    for key, one in runs[1].items():
        eight = runs[8][key]
        assert one["seed"] == eight["seed"]
        for a, b in zip(one["round_log"], eight["round_log"], strict=True):
            assert a["actions"] == b["actions"], key
            for name, probs in (a.get("probabilities") or {}).items():
                if probs is not None:
                    assert np.abs(np.asarray(probs) - b["probabilities"][name]).max() < 1e-5


def test_sliding_window_layers_match_the_model_s_own_masks(tiny_model_dir: Path,
                                                           tmp_path: Path) -> None:
    """Gemma 3 mixes sliding-window and full layers: the cache keeps every token and the
    batch masks apply the window. A window of 6 tokens is far shorter than the prompts."""
    import torch
    from transformers import AutoTokenizer, Gemma3ForCausalLM, Gemma3TextConfig

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    config = Gemma3TextConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=4,
        num_attention_heads=2, num_key_value_heads=1, head_dim=16, sliding_window=6,
        layer_types=["sliding_attention"] * 3 + ["full_attention"],
        max_position_embeddings=512, bos_token_id=0, pad_token_id=0,
        eos_token_id=tok.eos_token_id)
    torch.manual_seed(0)
    model = Gemma3ForCausalLM(config)
    with torch.no_grad():
        for param in model.parameters():
            if param.ndim >= 2:
                param.normal_(0.0, 0.3)
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    backend = HFEngine(model=str(tmp_path), dtype="float32")
    codec = get_codec(tokenizer=str(tmp_path))
    assert backend.mask_layout == (config.layer_types, 6)
    answers = [" rock\n", " paper\n", " scissors\n"]
    history = "".join(f"Round {r}\nMe: rock\nOpponent: paper\n" for r in range(1, 6))
    texts = [history[:40], history, history[:25]]
    sessions = [backend.session() for _ in texts]
    got: dict[int, np.ndarray] = {}

    def ask(i: int) -> None:
        got[i] = sessions[i].score(codec.pairs(texts[i], answers))

    workers = [threading.Thread(target=ask, args=(i,)) for i in range(len(texts))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for i, text in enumerate(texts):
        assert len(codec.encode(text)) > 6
        want = [reference.logprob(tmp_path, text, a) for a in answers]
        assert np.abs(got[i] - want).max() < 1e-5


def _layout_row_by_row(steps, queries, longest_cache: int, width: int, pad_id: int):
    """The batch layout built one row and one token at a time: the reference."""
    import torch

    rows, slots = len(steps), longest_cache + width
    ids = torch.full((rows, width), pad_id, dtype=torch.long)
    positions = torch.zeros((rows, width), dtype=torch.long)
    k_pos = torch.full((rows, slots), -1, dtype=torch.long)
    k_kind = torch.full((rows, slots), -1, dtype=torch.long)
    k_group = torch.full((rows, slots), -1, dtype=torch.long)
    k_off = torch.zeros((rows, slots), dtype=torch.long)
    for i, (step, query) in enumerate(zip(steps, queries, strict=True)):
        c, q, n = step.cached, len(query), len(step.new)
        for k in range(c):
            k_pos[i, longest_cache - c + k], k_kind[i, longest_cache - c + k] = k, 0
        slot = []
        slot += [(c + j, 1, -1, j) for j in range(n)]
        for g, branch in enumerate(step.branches):
            slot += [(c + n + k, 2, g, k) for k in range(len(branch))]
        for j, (pos, kind, group, off) in enumerate(slot):
            col = width - q + j
            ids[i, col], positions[i, col] = query[j], pos
            key = longest_cache + col
            k_pos[i, key], k_kind[i, key], k_group[i, key], k_off[i, key] = pos, kind, group, off
    return ids, positions, k_pos, k_kind, k_group, k_off


def test_the_batch_layout_is_built_in_tensor_operations_exactly() -> None:
    import torch

    from agents.llm.kv_batch import Step, layout_rows

    rng = np.random.default_rng(3)
    for _ in range(20):
        steps = []
        for _ in range(int(rng.integers(1, 7))):
            cached = int(rng.integers(0, 9))
            kv = None if cached == 0 else type("KV", (), {"__len__": lambda s, n=cached: n})()
            new = [int(t) for t in rng.integers(3, 99, size=int(rng.integers(1, 6)))]
            branches = [[int(t) for t in rng.integers(3, 99, size=int(rng.integers(0, 4)))]
                        for _ in range(int(rng.integers(0, 4)))]
            steps.append(Step(kv=kv, new=new, branches=branches))
        queries = [s.new + [t for b in s.branches for t in b] for s in steps]
        longest = max(s.cached for s in steps)
        width = max(len(q) for q in queries)
        got = layout_rows(steps, queries, longest_cache=longest, width=width, pad_id=0)
        want = _layout_row_by_row(steps, queries, longest, width, 0)
        for a, b in zip(got, want, strict=True):
            assert torch.equal(a, b)


def test_a_batch_runs_no_more_tensor_operations_for_more_rows(tiny_model_dir: Path) -> None:
    """Per row, a batch only takes views of its results (slices, the list of branch
    places): every operation that computes (layout, masks, the gather, log-softmax) runs
    once for the whole batch, so the work in Python does not grow with the rows."""
    import torch
    from torch.overrides import TorchFunctionMode
    from transformers import AutoModelForCausalLM

    from agents.llm import kv_batch

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    layout = kv_batch.mask_layout(model.config)
    rng = np.random.default_rng(0)
    views = {"__get__", "__getitem__", "__len__", "dim", "unbind"}

    class Computing(TorchFunctionMode):
        def __init__(self) -> None:
            super().__init__()
            self.calls: dict[str, int] = {}

        def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
            name = getattr(func, "__name__", str(func))
            if name not in views:
                self.calls[name] = self.calls.get(name, 0) + 1
            return func(*args, **(kwargs or {}))

    def run(steps: list[kv_batch.Step]) -> list[kv_batch.StepOutput]:
        return kv_batch.forward(model, steps, pad_id=0, cache_arg="past_key_values",
                                keep_arg=True, layout=layout)

    def operations(rows: int) -> dict[str, int]:
        with torch.no_grad():
            first = run([kv_batch.Step(None, [int(t) for t in rng.integers(3, 300, 20)])
                         for _ in range(rows)])
            steps = [kv_batch.Step(out.kv, [int(t) for t in rng.integers(3, 300, 6)],
                                   [[5, 6], [7, 8, 9]]) for out in first]
            with Computing() as counted:
                run(steps)
        return counted.calls

    few, many = operations(2), operations(24)
    assert few == many and sum(few.values()) > 0
