"""A run with more language models than its memory budget: four tiny models, two at a time.

The run must never hold more than two models, load them as often as the plan says, and
give the same records as the same run without a budget (only the order of play moves).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.agents.llm.runs import arena, export

pytestmark = pytest.mark.slow


def _config(path: Path, models: list[Path], budget: str) -> Path:
    agents = "\n".join(f'  - {{name: lm{i}, type: hf, model: "{m}", dtype: float32}}'
                       for i, m in enumerate(models))
    path.write_text(f"""name: budget
seed: 9
game: {{id: rps, rounds: 3}}
format: {{type: round_robin, matches: 1}}
concurrency: 3
{budget}
agents:
{agents}
  - {{name: bot, type: frequency}}
""")
    return path


def test_four_models_under_a_budget_of_two(tiny_model_dir: Path, tmp_path: Path) -> None:
    models = []
    for i in range(4):  # four distinct models as far as the run can tell
        models.append(tmp_path / f"model{i}")
        shutil.copytree(tiny_model_dir, models[-1])
    bounded = _config(tmp_path / "bounded.yaml", models, "memory: {max_models: 2}")
    free = _config(tmp_path / "free.yaml", models, "")
    done = arena("run", str(bounded), "--out", str(tmp_path / "bounded"), "--no-live")
    assert done.returncode == 0, done.stderr
    log = done.stdout + done.stderr
    planned = re.search(r"4 language models, at most 2 in memory: (\d+) loads planned", log)
    summary = re.search(r"model loads: (\d+) \(planned (\d+)\); at most (\d+) in memory", log)
    assert planned and summary, log
    assert summary[1] == summary[2] == planned[1]
    assert int(summary[3]) <= 2
    # a round robin of 4 needs each pair together once: at least 4 loads, and the plan
    # does far better than loading for every match
    assert 4 <= int(summary[1]) <= 8
    assert log.count("model loaded:") == int(summary[1])

    done = arena("run", str(free), "--out", str(tmp_path / "free"), "--no-live")
    assert done.returncode == 0, done.stderr
    assert "model loads" not in done.stdout + done.stderr
    a = {r["key"]: r for r in export(tmp_path / "bounded")}
    b = {r["key"]: r for r in export(tmp_path / "free")}
    assert a.keys() == b.keys()
    for key in a:  # same records: the budget moved only the order of play
        assert a[key]["index"] == b[key]["index"] and a[key]["scores"] == b[key]["scores"]
        assert [r["actions"] for r in a[key]["round_log"]] == \
            [r["actions"] for r in b[key]["round_log"]]
    board = arena("leaderboard", str(tmp_path / "bounded"), "--format", "json")
    same = arena("leaderboard", str(tmp_path / "free"), "--format", "json")
    assert board.returncode == 0 and same.returncode == 0
    # ratings follow the schedule's order: equal (off_mass differs by float rounding, as
    # the batches that carried each decision differ)
    for x, y in zip(json.loads(board.stdout), json.loads(same.stdout), strict=True):
        assert x.keys() == y.keys()
        for field, value in x.items():
            if isinstance(value, float):
                assert value == pytest.approx(y[field], rel=1e-9), field
            else:
                assert value == y[field], field
