"""``arena export --tidy``: one flat row per decision, loadable straight into pandas."""

from __future__ import annotations

import csv
import importlib.util
import io
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
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def arena(*args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([ARENA, *map(str, args)], cwd=REPO, env=ENV, capture_output=True,
                          text=True, timeout=timeout)


def run(tmp_path: Path, name: str, config: dict) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "seed": 3, **config}, sort_keys=False))
    out = tmp_path / name
    done = arena("run", path, "--no-live", "--out", out)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    """rps and random numbers in one run; one agent stores no policy."""
    return run(tmp_path_factory.mktemp("tidy"), "mixed", {
        "games": [{"id": "rps", "rounds": 4}, {"id": "random_number", "low": 1, "high": 4,
                                                "length": 3, "format": {"type": "solo",
                                                                        "episodes": 2}}],
        "format": {"type": "round_robin", "matches": 1},
        "agents": [{"name": "rnd", "type": "uniform_random"},
                   {"name": "cyc", "type": "cycle"}]})


def tidy(directory: Path, fmt: str = "csv") -> str:
    done = arena("export", directory, "--format", fmt, "--tidy")
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_one_row_per_decision_with_names_and_probabilities(mixed: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(tidy(mixed))))
    header = list(rows[0])
    assert header[:14] == ["run", "match", "game", "round", "episode", "step", "seat", "role",
                           "agent", "opponent", "action", "action_index", "reward", "forfeit"]
    assert header[14:] == ["p_rock", "p_paper", "p_scissors", "p_1", "p_2", "p_3", "p_4",
                           "arena_version", "config_sha256"]  # last, as in every export row
    assert rows[0]["arena_version"] and len(rows[0]["config_sha256"]) == 64
    rps = [r for r in rows if r["game"] == "rps"]
    numbers = [r for r in rows if r["game"] == "random_number"]
    assert len(rps) == 2 * 2 * 4  # two matches (both seat orders), two seats, four rounds
    assert len(numbers) == 2 * 3  # cycle plays no numbers: one agent, two episodes of three
    first = rps[0]
    assert first["run"] == "mixed" and first["round"] == "1" and first["episode"] == ""
    assert first["action"] in ("rock", "paper", "scissors")
    assert int(first["action_index"]) == ["rock", "paper", "scissors"].index(first["action"])
    assert first["opponent"] in ("rnd", "cyc") and first["opponent"] != first["agent"]
    seats = {(r["match"], r["round"]): [] for r in rps}
    for r in rps:
        seats[(r["match"], r["round"])].append(float(r["reward"]))
    assert all(sum(v) == 0 for v in seats.values())  # zero-sum, both seats present
    rnd = next(r for r in rps if r["agent"] == "rnd")
    assert [float(rnd[f"p_{a}"]) for a in ("rock", "paper", "scissors")] == [1 / 3] * 3
    assert rnd["p_1"] == ""  # not an action of rps
    number = next(r for r in numbers if r["agent"] == "rnd")
    assert 1 <= int(number["action"]) <= 4
    assert int(number["action_index"]) == int(number["action"]) - 1
    assert number["opponent"] == "" and number["role"] == "solo"
    assert float(number["p_1"]) == pytest.approx(0.25) and number["p_rock"] == ""
    assert {r["episode"] for r in numbers} == {"0", "1"}


def test_jsonl_tidy_has_the_same_keys_and_nulls(mixed: Path) -> None:
    rows = [json.loads(line) for line in tidy(mixed, "jsonl").splitlines()]
    as_csv = list(csv.DictReader(io.StringIO(tidy(mixed))))
    assert len(rows) == len(as_csv) and list(rows[0]) == list(as_csv[0])
    assert rows[0]["episode"] is None and isinstance(rows[0]["reward"], float)
    number = next(r for r in rows if r["game"] == "random_number")
    assert isinstance(number["action"], int) and number["p_rock"] is None


def test_loads_straight_into_pandas(mixed: Path) -> None:
    if importlib.util.find_spec("pandas") is None:
        pytest.skip("pandas is not installed (pip install pandas)")
    import pandas as pd

    frame = pd.read_csv(io.StringIO(tidy(mixed)))
    assert frame["reward"].dtype.kind == "f" and frame["p_rock"].dtype.kind == "f"
    assert frame["round"].dtype.kind == "i" and frame["seat"].dtype.kind == "i"
    rps = frame[frame["game"] == "rps"]
    assert rps[["p_rock", "p_paper", "p_scissors"]].sum(axis=1).round(9).eq(1).all()
    assert set(rps["action"]) <= {"rock", "paper", "scissors"}


def test_text_cells_are_safe_and_numbers_stay_numbers(tmp_path: Path) -> None:
    formula = "=HYPERLINK(\"http://example.invalid\", \"click\")\nand a second line"
    directory = run(tmp_path, "writing", {
        "game": {"id": "creative_writing", "semantic": False},
        "format": {"type": "solo", "episodes": 2},
        "agents": [{"name": "fx", "type": "fixed_text", "text": formula}]})
    rows = list(csv.DictReader(io.StringIO(tidy(directory))))
    assert len(rows) == 2
    assert rows[0]["action"] == "'" + formula  # quoted, so no spreadsheet runs it
    assert rows[0]["action_index"] == "" and float(rows[0]["reward"]) >= 0
    # a text game has no probability columns
    assert list(rows[0])[-3:] == ["forfeit", "arena_version", "config_sha256"]


def test_tidy_to_a_file(mixed: Path, tmp_path: Path) -> None:
    out = tmp_path / "tidy.csv"
    done = arena("export", mixed, "--format", "csv", "--tidy", "--out", out)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "22 rows written to " + str(out)
    assert out.read_text(encoding="utf-8") == tidy(mixed)


def test_the_tidy_csv_loads_in_pandas_with_its_provenance(mixed: Path) -> None:
    import pandas as pd

    frame = pd.read_csv(io.StringIO(tidy(mixed)))
    assert list(frame.columns[-2:]) == ["arena_version", "config_sha256"]
    assert frame["config_sha256"].nunique() == 1 and frame["reward"].dtype.kind == "f"
