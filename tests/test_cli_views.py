"""``arena leaderboard``, ``matrix`` and ``graph`` run as subprocesses on real run directories.

One small real run (``arena run``: rps, hide-and-seek pairs and a solo random-number
task) checks the commands end to end; a hand-made store checks exact values (an
RPS-like cycle and a forfeit) that a real run would only give by chance.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from arena.store import Store
from tests.helpers import as_result
from tests.leaderboards import match

LEADERBOARD_KEYS = ["agent", "mu", "sigma", "score", "wins", "losses", "draws", "matches",
                    "net_per_round", "forfeits"]
SOLO_KEYS = ["agent", "reward_mean", "ci_low", "ci_high", "mu", "sigma", "score", "episodes"]

CONFIG = """\
name: views
seed: 3
games:
  - {id: rps, rounds: 20}
  - {id: hide_and_seek, graph: house, search_radius: 1, rounds: 10}
  - {id: random_number, format: {type: solo, episodes: 6}}
format: {type: round_robin, matches: 1}
agents:
  - {name: uniform, type: uniform_random}
  - {name: always, type: constant}
  - {name: human, type: humanlike}
rating: {draw_probability: 0.1}
concurrency: 2
"""


def arena(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "arena.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("views")
    config = root / "views.yaml"
    config.write_text(CONFIG)
    done = arena("run", config, "--out", root / "run", "--no-live")
    assert done.returncode == 0, done.stderr
    return root / "run"


@pytest.fixture(scope="module")
def cycle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """paper beats rock beats scissors beats paper; 'crash' forfeits against paper."""
    directory = tmp_path_factory.mktemp("cycle") / "run"
    names = ["paper", "rock", "scissors", "crash"]
    config = {"name": "cycle", "games": [{"id": "rps", "rounds": 10}],
              "agents": [{"name": n, "type": "constant"} for n in names],
              "rating": {"draw_probability": 0.1}}
    # margins beyond chance (2 sd of two uniform players' net), so each edge counts
    records = [match(0, "paper", "rock", 60, rounds=100),
               match(1, "rock", "scissors", 40, rounds=100),
               match(2, "scissors", "paper", 20, rounds=100), match(3, "crash", "paper", 3, rounds=4,
                                                        forfeited_by="crash")]
    with Store.create(directory, config=config) as store:
        for record in records:
            store.save(as_result(record))
    return directory


def test_json_is_keyed_by_game_with_the_documented_keys(run_dir: Path) -> None:
    done = arena("leaderboard", run_dir, "--format", "json")
    assert done.returncode == 0, done.stderr
    boards = json.loads(done.stdout)
    assert list(boards) == ["rps", "hide_and_seek", "random_number"]
    for game in ("rps", "hide_and_seek"):
        assert [list(row) for row in boards[game]] == [LEADERBOARD_KEYS] * 3
    # hide-and-seek: one pair per pairing, so each agent has 2 contests
    assert all(row["matches"] == 2 for row in boards["hide_and_seek"])
    assert all(row["matches"] == 4 for row in boards["rps"])
    solo = boards["random_number"]
    assert [list(row) for row in solo] == [SOLO_KEYS] * 3
    assert all(row["episodes"] == 6 for row in solo)
    assert solo[-1]["agent"] == "always"  # a constant is the most predictable


def test_one_game_gives_a_list_and_agrees_with_the_stored_records(run_dir: Path) -> None:
    from leaderboards import build_leaderboard

    done = arena("leaderboard", run_dir, "--format", "json", "--game", "rps")
    rows = json.loads(done.stdout)
    assert isinstance(rows, list)
    with Store.open(run_dir) as store:
        expected = build_leaderboard(store.results(game="rps")).to_json_obj()
    assert rows == expected


def test_table_md_and_csv_formats(run_dir: Path) -> None:
    table = arena("leaderboard", run_dir)
    assert table.returncode == 0, table.stderr
    assert "μ-3σ" in table.stdout and "reward" in table.stdout and "uniform" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 80
    md = arena("leaderboard", run_dir, "--format", "md").stdout
    assert "## rps" in md and "## random_number" in md and "| # | agent | mu |" in md
    rows = list(csv.DictReader(io.StringIO(
        arena("leaderboard", run_dir, "--format", "csv", "--game", "rps").stdout)))
    assert [r["agent"] for r in rows] and set(LEADERBOARD_KEYS) <= set(rows[0])
    both = list(csv.DictReader(io.StringIO(
        arena("leaderboard", run_dir, "--format", "csv").stdout)))
    assert {r["game"] for r in both} == {"rps", "hide_and_seek", "random_number"}


def test_bradley_terry_columns(cycle_dir: Path) -> None:
    rows = json.loads(arena("leaderboard", cycle_dir, "-f", "json", "--bt").stdout)
    assert all({"bt", "bt_low", "bt_high"} <= set(row) for row in rows)
    crash = next(r for r in rows if r["agent"] == "crash")
    assert (crash["forfeits"], crash["losses"]) == (1, 1)


def test_matrix_values_and_table(cycle_dir: Path) -> None:
    done = arena("matrix", cycle_dir, "--format", "json")
    assert done.returncode == 0, done.stderr
    obj = json.loads(done.stdout)
    agents = obj["agents"]
    value = {(a, b): obj["values"][i][j] for i, a in enumerate(agents)
             for j, b in enumerate(agents)}
    assert value[("paper", "rock")] == pytest.approx(0.6)
    assert value[("paper", "scissors")] == pytest.approx(-0.2)
    assert value[("crash", "paper")] is None  # forfeited matches are left out
    table = arena("matrix", cycle_dir).stdout
    assert "+.60" in table and "-.60" in table and "scissors" in table


def test_graph_lists_edges_and_the_cycle(cycle_dir: Path) -> None:
    done = arena("graph", cycle_dir)
    assert done.returncode == 0, done.stderr
    assert "paper    -> rock  +0.600" in done.stdout
    assert "paper -> rock -> scissors -> paper" in done.stdout


def test_graph_picture_or_a_clear_hint(cycle_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "g.png"
    done = arena("graph", cycle_dir, "--out", out)
    if importlib.util.find_spec("matplotlib") is None:
        assert done.returncode == 2
        assert done.stderr.strip() == "arena: error: --out needs matplotlib: pip install matplotlib"
    else:
        assert done.returncode == 0, done.stderr
        assert out.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("args, message", [
    (["leaderboard", "{missing}"], "does not exist: not a run directory"),
    (["leaderboard", "{empty}"], "has no arena.db"),
    (["leaderboard", "{run}", "--format", "xml"], "unknown --format 'xml'"),
    (["matrix", "{run}", "--game", "chess"], "has no game 'chess'"),
    (["graph", "{run}", "--game", "random_number"], "no two-player games"),
])
def test_user_errors_are_one_line_and_exit_2(args: list[str], message: str, run_dir: Path,
                                             tmp_path: Path) -> None:
    paths = {"missing": tmp_path / "nope", "empty": tmp_path, "run": run_dir}
    done = arena(*(a.format(**paths) for a in args))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("arena: error: ") and message in lines[0]


@pytest.mark.parametrize(("block", "keyed"), [("games: [{id: rps, rounds: 5}]", True),
                                              ("game: {id: rps, rounds: 5}", False)])
def test_json_is_keyed_whenever_the_config_says_games(block: str, keyed: bool,
                                                      tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"name: one\n{block}\nagents:\n  - {{name: a, type: uniform_random}}\n"
                      "  - {name: b, type: constant}\n")
    assert arena("run", config, "--out", tmp_path / "run", "--no-live").returncode == 0
    boards = json.loads(arena("leaderboard", tmp_path / "run", "--format", "json").stdout)
    assert isinstance(boards, dict) == keyed
    rows = boards["rps"] if keyed else boards
    assert sorted(row["agent"] for row in rows) == ["a", "b"]


def test_keyed_csv_keeps_each_row_whole_and_every_cell_safe(tmp_path: Path) -> None:
    # names a config would refuse today, as an older run may hold them
    names = ["=cmd|' /C calc'!A0", "line\nbreak", "half\rway", "plain"]
    config = {"name": "k", "games": [{"id": "rps", "rounds": 4}], "games_list": True,
              "agents": [{"name": n, "type": "constant"} for n in names]}
    records = [match(i, a, b, 1, rounds=4)
               for i, (a, b) in enumerate([(names[0], names[1]), (names[2], names[3]),
                                           (names[1], names[2])])]
    with Store.create(tmp_path / "run", config=config) as store:
        for record in records:
            store.save(as_result(record))
    done = subprocess.run([sys.executable, "-m", "arena.cli", "leaderboard",  # bytes: CR kept
                           str(tmp_path / "run"), "--format", "csv"], capture_output=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout.decode("utf-8"), newline="")))
    header, body = rows[0], rows[1:]
    assert header[:2] == ["game", "agent"] and len(body) == 4
    assert all(len(row) == len(header) and row[0] == "rps" for row in body)
    assert {row[1] for row in body} == {"'=cmd|' /C calc'!A0", "line\nbreak", "half\rway",
                                        "plain"}


def test_graph_out_draws_the_first_game_and_says_so(run_dir: Path, tmp_path: Path) -> None:
    if importlib.util.find_spec("matplotlib") is None:
        pytest.skip("needs matplotlib")
    out = tmp_path / "g.png"
    done = arena("graph", run_dir, "--out", out)
    assert done.returncode == 0, done.stderr
    assert "--out draws one game: rps (choose another with --game: rps, hide_and_seek)" \
        in done.stderr
    assert out.read_bytes().startswith(b"\x89PNG") and "hide_and_seek" not in done.stdout


def test_leaderboard_of_a_folder_of_runs_lists_them(run_dir: Path) -> None:
    done = arena("leaderboard", run_dir.parent)
    assert done.returncode == 0, done.stderr
    assert "the runs inside it" in done.stdout and "views" in done.stdout
    assert str(run_dir.name) in done.stdout and "arena leaderboard" in done.stdout


def test_version_and_agent_options() -> None:
    from arena import __version__

    done = arena("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"arena {__version__}"
    done = subprocess.run([sys.executable, "-m", "arena.cli", "agents"], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert "options: weights=(0.5, 0.3, 0.2)" in done.stdout  # biased
    assert "options: start=0, step=1" in done.stdout  # cycle
    hf = done.stdout[done.stdout.index("│ hf "):]
    assert "model=None" in hf[:2000]  # the language model's options, from its class
