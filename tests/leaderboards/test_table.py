"""Leaderboard formats: JSON keys, CSV, markdown and the Rich table's width."""

from __future__ import annotations

import csv
import io
import json

import pytest
from rich.console import Console

from leaderboards import Leaderboard, build_leaderboard
from tests.leaderboards import match

LONG = "a_language_model_with_a_very_long_descriptive_name"


@pytest.fixture(scope="module")
def board() -> Leaderboard:
    stats = {"llm": {"invalid": 1, "decisions": 10, "off_mass": 0.25}}
    return build_leaderboard([match(0, "llm", "bot", 3, stats=stats),
                              match(1, LONG, "bot", -2), match(2, "llm", LONG, 1)])


def render(obj: object, width: int) -> list[str]:
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(obj)
    return console.export_text().splitlines()


def test_json_has_exactly_the_documented_keys(board: Leaderboard) -> None:
    obj = json.loads(json.dumps(board.to_json_obj()))
    assert isinstance(obj, list) and len(obj) == 3
    assert list(obj[0]) == ["agent", "mu", "sigma", "score", "wins", "losses", "draws",
                            "matches", "net_per_round", "forfeits", "invalid_rate", "off_mass"]
    assert [row["agent"] for row in obj] == board.agents()
    assert obj[board.agents().index("bot")]["invalid_rate"] is None


def test_csv_round_trips_the_rows(board: Leaderboard) -> None:
    rows = list(csv.DictReader(io.StringIO(board.to_csv())))
    assert [r["agent"] for r in rows] == board.agents()
    llm = next(r for r in rows if r["agent"] == "llm")
    assert float(llm["mu"]) == pytest.approx(board.row("llm")["mu"])
    assert int(llm["wins"]) == board.row("llm")["wins"]
    assert llm["invalid_rate"] == "0.1"
    assert next(r for r in rows if r["agent"] == "bot")["invalid_rate"] == ""


def test_markdown_has_a_header_separator_and_one_line_per_agent(board: Leaderboard) -> None:
    lines = board.to_markdown().strip().splitlines()
    assert len(lines) == 2 + len(board)
    assert lines[0].startswith("| # | agent | mu |") and set(lines[1]) <= set("|-: ")
    assert "| 1 | " + board.agents()[0] + " |" in lines[2]
    assert "10.0%" in board.to_markdown()


def test_rich_table_fits_80_columns_and_grows_when_wider(board: Leaderboard) -> None:
    narrow = render(board, 80)
    assert max(len(line) for line in narrow) <= 80
    assert any("llm" in line for line in narrow) and "μ-3σ" in narrow[0]
    assert not any(LONG in line for line in narrow)  # truncated to fit
    wide = render(board, 160)
    assert any(LONG in line for line in wide)
    assert max(len(line) for line in wide) > 80


def test_too_many_columns_give_way_to_the_agent_names(board: Leaderboard) -> None:
    # Bradley-Terry and its interval on top of the language-model columns: without a
    # column dropped, Rich squeezed the agent column to nothing at 80 columns
    rows = [{**row, "bt": 0.5, "bt_low": -1.25, "bt_high": 2.5} for row in board.rows]
    wide = Leaderboard(rows, columns=[*board.columns, "bt", "bt_low", "bt_high"])
    narrow = render(wide, 80)
    assert max(len(line) for line in narrow) <= 80
    header = narrow[0].split()
    assert "agent" in header and "BT" in header and "lo" not in header and "hi" not in header
    assert any(" llm " in line and "10.0%" in line for line in narrow)
    assert any("a_langua" in line for line in narrow)
    # what was dropped is said in one line under the table
    assert narrow[-1] == "not shown at 80 columns: BT lo, BT hi (a wider terminal shows them)"
    assert sum("not shown" in line for line in narrow) == 1
    full = render(wide, 200)
    assert "lo" in full[0].split() and any(LONG in line for line in full)
    assert not any("not shown" in line for line in full)


def test_a_table_that_fits_says_nothing_about_columns(board: Leaderboard) -> None:
    assert not any("not shown" in line for line in render(board, 80))
    narrower = render(board, 50)  # μ, σ... give way: named in one line
    assert narrower[-1].startswith("not shown at 50 columns: ")
    assert max(len(line) for line in narrower) <= 50


def test_empty_and_titled_boards_render() -> None:
    empty = build_leaderboard([], title="rps")
    assert empty.to_json_obj() == []
    assert render(empty, 80)[0].strip() == "rps"
    assert empty.to_csv().startswith("agent,mu,sigma,score")
