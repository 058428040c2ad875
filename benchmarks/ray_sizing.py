"""The paper's grid in GPU-hours, from its configs and the one-GPU figures measured on an
H200 (``benchmarks/gpu/README.md``). Printed by ``ray_scaling.py``; run alone with
``python benchmarks/ray_sizing.py``.

Work per model comes from the real schedules of ``configs/paper/llama-3.1-8b.yaml`` and
``llama-3.1-70b.yaml`` (five models each): a decision per round of a matrix game, one
per number of a random-number episode, and, for writing, one decode step per new token
(``max_new_tokens`` 200; a decode step is counted as a whole decision, which
overcounts). The rates and the assumptions:

- **8B** (bf16, one GPU a replica): 275.3 decisions/s batched (64 at once), one
  forward per about 0.23 s; 22.4 decisions/s one at a time.
- **70B** (bf16, two H200s a replica, ``gpus: 2``): not measured. ``device_map`` puts
  the layers in sequence over the GPUs, so one replica computes at about one GPU's speed
  on 8.8 times the FLOPs (70.6 B / 8.03 B parameters): 31.3 decisions/s batched.
- A model's matches run at once (48 matches and 2 solo series in flight, so its batch
  is full), and one replica a model is enough: more replicas split that batch, which
  costs as much per forward. The run is bounded below by its longest sequence: one solo
  series plays its episodes in turn, one forward latency per decision or token.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: measured on one H200 (benchmarks/gpu/README.md): batched decisions/s, seconds a forward
RATE_8B, FORWARD_8B = 275.3, 64 / 275.3
PARAMS_8B, PARAMS_70B = 8.03, 70.6
WRITING_TOKENS = 200
MODELS = {  # config -> (GPUs a replica, batched decisions/s of a replica, forward seconds)
    "configs/paper/llama-3.1-8b.yaml": (1, RATE_8B, FORWARD_8B),
    "configs/paper/llama-3.1-70b.yaml": (2, RATE_8B * PARAMS_8B / PARAMS_70B,
                                         FORWARD_8B * PARAMS_70B / PARAMS_8B),
}


def work(path: str) -> dict[str, dict[str, int]]:
    """Model name -> {"total": decisions, "longest": the longest sequential chain}."""
    from arena.config import load_config
    from arena.schedule import build_schedule

    config = load_config(str(REPO / path))
    models = {a.name for a in config.agents if a.type in ("hf", "llm")}
    args = {g.id: g.args for g in config.games}
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"total": 0, "longest": 0})
    for fixture in build_schedule(config).fixtures:
        game = args[fixture.game]
        if fixture.game == "creative_writing":
            steps = (fixture.episodes or 1) * WRITING_TOKENS
        elif fixture.episodes:
            steps = fixture.episodes * int(game.get("length", 1))
        else:
            steps = int(game.get("rounds", 100))
        for name in fixture.agents:
            if name in models:
                out[name]["total"] += steps
                out[name]["longest"] = max(out[name]["longest"], steps)
    return out


def print_sizing(gpu_counts: tuple[int, ...] = (8, 16, 32)) -> None:
    rows = []  # (gpus a replica, GPU-seconds, longest chain in seconds) per model
    for path, (gpus, rate, forward) in MODELS.items():
        for name, w in work(path).items():
            rows.append((gpus, w["total"] / rate * gpus, w["longest"] * forward, name))
    gpu_hours = sum(r[1] for r in rows) / 3600
    print(f"paper grid: {len(rows)} models, "
          f"{sum(work(p)[n]['total'] for p in MODELS for n in work(p)):,} decisions "
          f"(writing: one a token); {gpu_hours:.1f} GPU-hours of batched work")
    print("| GPUs | models at once | wall clock (h) | GPU-hours held | bound by |")
    print("|---:|---:|---:|---:|---|")
    for total in gpu_counts:
        # the plan: models placed largest first, as many as fit; a wave ends with its
        # slowest model (its work, or its longest sequence)
        pending = sorted(rows, key=lambda r: -r[0])
        wall, waves, widest, held = 0.0, 0, 0, 0.0
        while pending:
            free, wave = total, []
            for row in list(pending):
                if row[0] <= free:
                    wave.append(row)
                    free -= row[0]
                    pending.remove(row)
            lasts = max(max(r[1] / r[0], r[2]) for r in wave)
            wall += lasts
            held += lasts * sum(r[0] for r in wave)
            waves += 1
            widest = max(widest, len(wave))
        chain = max(r[2] for r in rows) / 3600
        bound = "the longest sequence" if waves == 1 and abs(wall / 3600 - chain) < 1e-9 \
            else f"{waves} waves of models"
        print(f"| {total} | {widest} | {wall / 3600:.2f} | {held / 3600:.1f} | {bound} |")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    print_sizing()
