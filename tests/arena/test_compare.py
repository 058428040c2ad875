"""``arena compare A B`` on runs whose differences are known, and a run given twice.

Agent ``x`` is ``constant`` in run A and ``uniform_random`` in run B (its name is the same,
so it is compared): against a constant a best response earns 1 a round, against a
uniform policy 0; a constant number source has χ²/N = K − 1 = 10 and entropy 0, a uniform
one far less and more. The bots ``markov`` and ``freq`` are the same in both runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ARENA = shutil.which("arena", path=str(Path(sys.executable).parent)) or "arena"
ENV = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "80"}


def arena(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([ARENA, *map(str, args)], cwd=REPO, env=ENV, capture_output=True,
                          text=True, timeout=300)


def make_run(base: Path, name: str, x_type: str, seed: int = 3) -> Path:
    config = {"name": name, "seed": seed,
              "games": [{"id": "rps", "rounds": 40},
                        {"id": "random_number", "low": 0, "high": 10, "length": 10,
                         "format": {"type": "solo", "episodes": 6}}],
              "format": {"type": "round_robin", "matches": 2},
              "agents": [{"name": "x", "type": x_type},
                         {"name": "markov", "type": "markov", "games": ["rps"]},
                         {"name": "freq", "type": "frequency", "games": ["rps"]}]}
    path = base / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    done = arena("run", path, "--no-live", "--out", base / name)
    assert done.returncode == 0, done.stderr
    return base / name


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("compare")
    return make_run(base, "a", "constant"), make_run(base, "b", "uniform_random")


def compare_json(*args: object) -> dict:
    done = arena("compare", *args, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_compare_finds_the_known_differences(runs: tuple[Path, Path]) -> None:
    a, b = runs
    data = compare_json(a, b)
    assert data["format"] == "arena-compare" and not data["same_matches"]
    x = data["games"]["rps"]["agents"]["x"]
    br = x["br_per_round"]
    assert br["a"] == pytest.approx(1.0) and br["b"] == pytest.approx(0.0)
    assert br["diff"] == pytest.approx(-1.0) and br["significant"]
    assert br["lo"] == pytest.approx(-1.0) and br["hi"] == pytest.approx(-1.0)
    numbers = data["games"]["random_number"]["agents"]["x"]
    assert numbers["chi2_per_n"]["a"] == pytest.approx(10.0)
    assert numbers["chi2_per_n"]["b"] < 1.0 and numbers["chi2_per_n"]["significant"]
    assert numbers["chi2_per_n"]["hi"] < 0  # b − a: far below 0
    assert numbers["entropy_bits"]["a"] == 0.0 and numbers["entropy_bits"]["lo"] > 2
    # the flat view: a measure in one game keeps its plain name
    assert data["agents"]["x"]["chi2_per_n"] == numbers["chi2_per_n"]
    assert set(data["agents"]["x"]) == {"br_per_round", "rating", "chi2_per_n", "entropy_bits"}
    # markov is the same agent in both runs: its rating is there, with an interval
    rating = data["games"]["rps"]["agents"]["markov"]["rating"]
    assert rating["lo"] <= rating["diff"] <= rating["hi"]
    # the values are the analysis' own
    analysis = json.loads(arena("analyze", a, "--format", "json").stdout)
    assert numbers["chi2_per_n"]["a"] == pytest.approx(
        analysis["games"]["random_number"]["agents"]["x"]["chi2_per_n"])
    assert x["br_per_round"]["a"] == pytest.approx(
        analysis["games"]["rps"]["agents"]["x"]["roles"]["all seats"]["br_conditioned"])
    # seeded: the same intervals every time
    assert compare_json(a, b) == data
    table = arena("compare", a, b, "--game", "rps")
    assert table.returncode == 0 and "B − A" in table.stdout and "*" in table.stdout


def test_the_same_run_given_twice_is_counted_once(runs: tuple[Path, Path]) -> None:
    a, _ = runs
    data = compare_json(a, a)
    assert data["same_matches"] and len(data["notes"]) == 1
    for rows in data["agents"].values():
        for row in rows.values():
            assert row["diff"] in (0.0, None) and row["lo"] in (0.0, None) \
                and row["hi"] in (0.0, None), row
    # analyze and report: N is not doubled
    once = json.loads(arena("analyze", a, "--format", "json").stdout)
    twice = arena("analyze", a, a, "--format", "json")
    assert twice.returncode == 0, twice.stderr
    twice_data = json.loads(twice.stdout)
    n = once["games"]["random_number"]["agents"]["x"]["n"]
    assert twice_data["games"]["random_number"]["agents"]["x"]["n"] == n == 60
    assert len(twice_data["notes"]) == 1
    table = arena("analyze", a, a)
    assert "counted once" in table.stdout


def test_runs_with_the_same_config_and_seed_are_counted_once(
        tmp_path: Path, runs: tuple[Path, Path]) -> None:
    a, _ = runs
    copy = make_run(tmp_path, "a", "constant")  # the same config, played again
    data = json.loads(arena("analyze", a, copy, "--format", "json").stdout)
    assert data["games"]["random_number"]["agents"]["x"]["n"] == 60
    assert any("same config and seed" in note for note in data["notes"])
    assert compare_json(a, copy)["same_matches"]
    done = arena("report", a, copy, "--out", tmp_path / "r.html")
    assert done.returncode == 0 and "counted once" in done.stdout


def test_game_picks_every_variant(tmp_path: Path, runs: tuple[Path, Path]) -> None:
    a, _ = runs
    config = yaml.safe_load((a.parent / "a.yaml").read_text())
    config["games"][0]["rounds"] = 20
    config["name"] = "short"
    (tmp_path / "short.yaml").write_text(yaml.safe_dump(config))
    assert arena("run", tmp_path / "short.yaml", "--no-live", "--out",
                 tmp_path / "short").returncode == 0
    done = arena("analyze", a, tmp_path / "short", "--game", "rps", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(done.stdout)["games"]) == ["rps (a)", "rps (short)"]
    table = arena("analyze", a, tmp_path / "short", "--game", "rps")
    assert "rps (a):" in table.stdout and "rps (short):" in table.stdout


def test_analyze_ranks_unpredictability_with_intervals(runs: tuple[Path, Path]) -> None:
    _, b = runs
    data = json.loads(arena("analyze", b, "--format", "json").stdout)
    ranking = data["unpredictability"]["rps"]
    assert ranking["better"] == "lower"
    rows = {r["agent"]: r for r in ranking["rows"]}
    assert ranking["rows"][0]["agent"] == "x" and rows["x"]["value"] == pytest.approx(0.0)
    for r in ranking["rows"]:
        assert r["ci_low"] <= r["value"] + 1e-9 and r["value"] <= r["ci_high"] + 1e-9
    assert "unpredictability" in arena("analyze", b).stdout
