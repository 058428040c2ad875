"""SmolLM2-135M-Instruct (a real chat model, offline) through the whole arena.

The model plays through its chat template in distribution mode; the stored round-1
distribution must match an independent forward pass on the prompt ``arena prompt``
prints (complete answers: name + ``<|im_end|>``, temperature 1), and every sampled
action must be the seeded draw from its stored distribution.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.agents.llm import reference
from tests.agents.llm.runs import arena, export, printed_prompt, replay_draws

pytestmark = [pytest.mark.real_model, pytest.mark.slow]
NAMES = {"rps": ["rock", "paper", "scissors"], "random_number": [str(v) for v in range(11)]}


def test_smollm2_chat_distribution_is_stored_exactly(smollm2_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "smol.yaml"
    config.write_text(f"""name: smol
seed: 5
games:
  - {{id: rps, rounds: 3}}
  - {{id: random_number, length: 1, format: {{type: solo, episodes: 3}}}}
format: {{type: round_robin, matches: 1}}
timeout: 600
agents:
  - {{name: smol, type: hf, model: "{smollm2_dir}", prompt_format: chat, dtype: float32}}
  - {{name: dice, type: uniform_random}}
""")
    done = arena("run", str(config), "--out", str(tmp_path / "run"), "--no-live")
    assert done.returncode == 0, done.stderr
    rows = export(tmp_path / "run")
    assert all(r["status"] == "finished" for r in rows), [r["error"] for r in rows]
    for game in ("rps", "random_number"):
        row = next(r for r in rows if r["game"] == game and r["agents"][0] == "smol")
        prompt = printed_prompt(config, "smol", game)
        assert prompt.endswith("<|im_start|>assistant\n")
        want, off = reference.distribution(smollm2_dir, prompt, NAMES[game], chat=True)
        stored = np.asarray(row["round_log"][0]["probabilities"]["smol"])
        np.testing.assert_allclose(stored, want, rtol=0, atol=0.02)
        assert np.abs(stored - want).max() < 1e-3  # in fact far closer than the bar
        assert 0.0 <= off < 1.0
    for row in rows:
        if "smol" in row["agents"]:
            replay_draws(row, "smol")
