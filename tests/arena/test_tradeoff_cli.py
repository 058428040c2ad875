"""``arena analyze --benchmarks``: the trade-off over tagged agents, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from scipy import stats

from tests.arena.test_rating_page import arena

AGENTS = [
    {"name": "random", "type": "uniform_random", "family": "fam", "stage": 0,
     "benchmarks": {"mmlu": 40.0}},
    {"name": "biased", "type": "biased", "weights": [0.5, 0.3, 0.2], "family": "fam",
     "stage": 1, "benchmarks": {"mmlu": 50}},
    {"name": "cycle", "type": "cycle", "family": "fam", "stage": 2,
     "benchmarks": {"mmlu": 60.5}},
    {"name": "humanlike", "type": "humanlike", "benchmarks": {"mmlu": 55.0}},
    {"name": "rock", "type": "constant"},
]


def config(agents: list[dict]) -> dict:
    return {"name": "tradeoff", "seed": 4,
            "games": [{"id": "rps", "rounds": 40,
                       "format": {"type": "gauntlet", "opponents": ["rock"], "matches": 1}}],
            "agents": agents}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tradeoff")
    path = root / "c.yaml"
    path.write_text(yaml.safe_dump(config(AGENTS), sort_keys=False))
    done = arena("run", path, "--no-live", "--out", root / "run")
    assert done.returncode == 0, done.stderr
    return root / "run"


def analyze(run: Path, *args: object) -> dict:
    done = arena("analyze", run, "--format", "json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def gains(data: dict) -> dict[str, float]:
    out = {}
    for name, figures in data["games"]["rps"]["agents"].items():
        values = [r["exploitability_conditioned"] for r in figures["roles"].values()]
        out[name] = sum(values) / len(values)
    return out


def test_rho_over_the_tagged_agents(run: Path) -> None:
    data = analyze(run)
    entry = data["tradeoff"]["mmlu"]["best_response:rps"]
    names = ["random", "biased", "cycle", "humanlike"]
    mmlu = {a["name"]: a["benchmarks"]["mmlu"] for a in AGENTS if "benchmarks" in a}
    g = gains(data)
    assert entry["rho"] == pytest.approx(stats.spearmanr([mmlu[n] for n in names],
                                                         [g[n] for n in names]).statistic)
    assert entry["models"] == 4 and entry["low"] <= entry["rho"] <= entry["high"]
    stage = data["stages"]["fam"]["best_response:rps"]
    assert [p["model"] for p in stage["points"]] == ["random", "biased", "cycle"]
    assert data["agents"]["cycle"]["stage"] == 2
    assert data["measures"]["best_response:rps"]


def test_a_scores_file_adds_and_overrides_benchmarks(run: Path, tmp_path: Path) -> None:
    scores = tmp_path / "scores.csv"
    scores.write_text("model,benchmark,score\nrandom,mmlu,99\nrandom,ifeval,1\n"
                      "biased,ifeval,2\ncycle,ifeval,3\n", encoding="utf-8")
    data = analyze(run, "--benchmarks", scores)
    assert data["agents"]["random"]["benchmarks"] == {"mmlu": 99.0, "ifeval": 1.0}
    assert data["tradeoff"]["ifeval"]["best_response:rps"]["rho"] is None  # 3 models
    assert "at least 4" in data["tradeoff"]["ifeval"]["best_response:rps"]["note"]
    done = arena("report", run, "--benchmarks", scores, "--out", tmp_path / "r.html")
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Trade-off" in page and "a correlation needs at least 4" in page
    assert page.count('alt="ifeval against') == 1 and 'alt="best_response:rps over stages"' in page


@pytest.mark.parametrize(("text", "problem"), [
    ("model,benchmark\nrandom,mmlu\n", "row 1: the header lacks score"),
    ("model,benchmark,score\nrandom,mmlu,high\n", "row 2: score 'high' is not a number"),
    ("model,benchmark,score\nrandom,mmlu,1\nnobody,mmlu,2\n", "row 3: no agent named 'nobody'"),
    ("model,benchmark,score\nrandom,mmlu,1\nrandom,mmlu,2\n", "row 3: a second, different"),
])
def test_a_bad_scores_file_is_one_line(run: Path, tmp_path: Path, text: str,
                                       problem: str) -> None:
    scores = tmp_path / "scores.csv"
    scores.write_text(text, encoding="utf-8")
    done = arena("analyze", run, "--benchmarks", scores)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and problem in done.stderr, done.stderr


@pytest.mark.parametrize(("tag", "problem"), [
    ({"stage": "sft"}, "agents[0].stage"), ({"stage": True}, "agents[0].stage"),
    ({"stage": -1}, "agents[0].stage"), ({"benchmarks": [1, 2]}, "agents[0].benchmarks"),
    ({"benchmarks": {"mmlu": "66"}}, "the score of 'mmlu' must be a number"),
    ({"benchmarks": {"mmlu": True}}, "the score of 'mmlu' must be a number"),
])
def test_bad_tags_are_one_line(tmp_path: Path, tag: dict, problem: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config([{**AGENTS[0], **tag}, *AGENTS[1:]])))
    done = arena("run", path, "--no-live", "--out", tmp_path / "run")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and problem in done.stderr, done.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("size", ["8b", "70b"])
def test_the_paper_configs_carry_the_stages_and_published_scores(size: str) -> None:
    from arena.config import load_config

    repo = Path(__file__).resolve().parents[2]
    config = load_config(str(repo / "configs" / "paper" / f"llama-3.1-{size}.yaml"))
    tagged = {a.name: a for a in config.agents if a.family == f"llama-3.1-{size}"}
    stages = {a.stage: name for name, a in tagged.items() if a.stage is not None}
    assert sorted(stages) == [0, 1, 2, 3]
    assert stages[0] == f"llama{size}-base" and not tagged[stages[0]].benchmarks
    for stage in (1, 2, 3):  # the Tulu 3 chain, with the model cards' scores
        assert set(tagged[stages[stage]].benchmarks) >= {"mmlu_cot", "ifeval", "gsm8k"}
    assert tagged[f"llama{size}-instruct"].stage is None
