"""Pairwise matrix values and intervals, and the dominance graph (only edges whose
interval excludes 0), including a rock-paper-scissors cycle."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest
from rich.console import Console

from leaderboards import cycles, dominance_graph, pairwise_matrix
from leaderboards.graph import graph_text
from tests.leaderboards import match


def test_matrix_is_mean_net_per_round_over_both_seats() -> None:
    records = [match(0, "a", "b", 10, rounds=100), match(1, "b", "a", 20, rounds=100),
               match(2, "a", "c", 3, rounds=30), match(3, "c", "b", 0, rounds=50),
               match(4, "a", "c", 30, rounds=30, forfeited_by="c")]
    m = pairwise_matrix(records)
    assert m.agents == ["a", "b", "c"]
    assert m.get("a", "b") == pytest.approx((10 - 20) / 200)
    assert m.get("b", "a") == pytest.approx(-m.get("a", "b"))
    assert m.get("a", "c") == pytest.approx(0.1)  # the forfeited match is left out
    assert m.get("c", "b") == 0.0
    assert math.isnan(m.get("a", "a"))
    obj = m.to_json_obj()
    assert obj["values"][0][0] is None and obj["values"][0][1] == pytest.approx(-0.05)
    assert {(a, b) for a, b, _ in m.pairs()} == {(x, y) for x in "abc" for y in "abc" if x != y}


def test_unplayed_pairs_are_nan() -> None:
    m = pairwise_matrix([match(0, "a", "b", 1), match(1, "c", "d", 1)])
    assert math.isnan(m.get("a", "c"))
    assert ("a", "c") not in {(a, b) for a, b, _ in m.pairs()}


def rps_like() -> list[dict]:
    """paper_bot beats rock_bot beats scissors_bot beats paper_bot; ``sucker`` loses to
    all three, which adds edges but no cycle; ``noise`` is within chance of everyone."""
    beats = [("paper_bot", "rock_bot"), ("rock_bot", "scissors_bot"),
             ("scissors_bot", "paper_bot")]
    records = [match(i, a, b, 8, rounds=10) for i, (a, b) in enumerate(beats)]
    for i, name in enumerate(["paper_bot", "rock_bot", "scissors_bot"]):
        records.append(match(10 + i, "sucker", name, -9, rounds=10))
        # +0.005 per round over 200 rounds: chance's 95% is about +-0.11
        records.append(match(20 + i, "noise", name, 1, rounds=200))
    return records


def test_dominance_graph_edges_point_from_winner_with_margin() -> None:
    graph = dominance_graph(rps_like())
    assert graph.has_edge("paper_bot", "rock_bot")
    assert not graph.has_edge("rock_bot", "paper_bot")
    assert graph["rock_bot"]["scissors_bot"]["weight"] == pytest.approx(0.8)
    assert graph.in_degree("sucker") == 3 and graph.out_degree("sucker") == 0
    assert list(graph.predecessors("rock_bot")) == ["paper_bot"]
    assert set(graph.successors("rock_bot")) == {"scissors_bot", "sucker"}
    assert graph.degree("noise") == 0 and graph.graph["noise"] == 3  # within chance: no edge
    low, high = graph["rock_bot"]["scissors_bot"]["low"], graph["rock_bot"]["scissors_bot"]["high"]
    half = 1.959963984540054 * math.sqrt(2 / 3 / 10)
    assert (low, high) == (pytest.approx(0.8 - half), pytest.approx(0.8 + half))


def test_rock_paper_scissors_cycle_is_found() -> None:
    found = cycles(dominance_graph(rps_like()))
    assert found == [["paper_bot", "rock_bot", "scissors_bot"]]


def test_transitive_results_have_no_cycles_and_cycles_are_bounded() -> None:
    order = ["a", "b", "c", "d"]
    transitive = [match(i * 4 + j, x, y, 9) for i, x in enumerate(order)
                  for j, y in enumerate(order) if i < j]
    assert cycles(dominance_graph(transitive)) == []
    # A 4-agent ring plus chords has several cycles; limit caps the list.
    ring = [match(0, "a", "b", 9), match(1, "b", "c", 9), match(2, "c", "d", 9),
            match(3, "d", "a", 9), match(4, "c", "a", 9), match(5, "d", "b", 9)]
    graph = dominance_graph(ring)
    assert len(cycles(graph)) == 3
    assert len(cycles(graph, limit=1)) == 1
    assert all(len(c) <= 3 for c in cycles(graph, max_length=3))


def test_matrix_renders_ten_agents_in_80_columns_coloured_by_sign() -> None:
    names = [f"agent_{i:02d}" for i in range(10)]
    records = [match(i * 10 + j, a, b, 100 * (i - j), rounds=1000)
               for i, a in enumerate(names) for j, b in enumerate(names) if i < j]
    records.append(match(99, "agent_00", "agent_09", 5, rounds=10))  # -0.894 per round
    console = Console(width=80, record=True, file=io.StringIO(), color_system="truecolor")
    console.print(pairwise_matrix(records, title="rps"))
    text = console.export_text(clear=False)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert all(name in text for name in names)
    assert "-.30" in text and "+.30" in text and "+.89" in text
    assert "±.05" in text  # 1.96 * sqrt(2/3 / 1000): half the 95% interval, under the value
    styled = console.export_text(styles=True)
    assert "\x1b[32m+.30" in styled and "\x1b[31m-.30" in styled  # green and red cells
    # a cell whose interval includes 0 is dim, whatever its sign
    near = pairwise_matrix([match(0, "a", "b", 2, rounds=10)])
    console = Console(width=80, record=True, file=io.StringIO(), color_system="truecolor")
    console.print(near)
    styled = console.export_text(styles=True)
    assert "\x1b[2m+.20" in styled and "\x1b[32m+.20" not in styled


def test_matrix_cells_stay_whole_at_plus_minus_one_in_80_columns() -> None:
    # hide-and-seek against a constant: +-1 per round, the widest values a game gives
    names = ["biased", "cycle", "freq", "hedge", "history", "humanlike", "iocaine",
             "markov", "random", "rock"]
    records = [match(i * 10 + j, a, b, 10 if b == "rock" else 7 if i < j else -2, rounds=10)
               for i, a in enumerate(names) for j, b in enumerate(names) if a != "rock" and a != b]
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(pairwise_matrix(records, title="hide_and_seek"))
    text = console.export_text()
    assert "…" not in text and "mean" in text  # no column was shrunk
    assert max(len(line) for line in text.splitlines()) <= 80
    lines = text.splitlines()
    assert len([line for line in lines if line.startswith("agent ")]) == 1  # one block
    rock = next(line for line in lines if line.startswith("rock ")).split()
    assert rock[1:] == ["-1.0"] * 9 + ["·", "-1.0"]
    # columns are named by the agents (short aliases listed under the table)
    assert lines[1].split() == ["agent", "bias", "cycl", "freq", "hedg", "hist", "huma",
                                "ioca", "mark", "rand", "rock", "mean"]
    assert "columns: bias = biased, cycl = cycle, hedg = hedge" in " ".join(lines)


def test_a_matrix_too_wide_for_the_terminal_comes_in_blocks_of_columns() -> None:
    names = [f"agent_{i:02d}" for i in range(16)]  # the paper configs seat 15-16 agents
    records = [match(i * 100 + j, a, b, (i - j) % 7 - 3, rounds=10)
               for i, a in enumerate(names) for j, b in enumerate(names) if i < j]
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(pairwise_matrix(records, title="rps"))
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80 and "…" not in "\n".join(lines)
    headers = [line.split() for line in lines if line.split()[:1] == ["agent"]]
    assert len(headers) == 2 and headers[1][-1] == "mean"
    aliases = [h for header in headers for h in header[1:] if h != "mean"]
    assert aliases == ["agen", *[f"age{i}" for i in range(2, 10)],
                       *[f"ag{i}" for i in range(10, 17)]]
    legend = " ".join(lines[lines.index(next(x for x in lines if x.startswith("columns:"))):])
    assert "agen = agent_00" in legend and "ag16 = agent_15" in legend
    assert sum(line.split()[:1] == ["agent_15"] for line in lines) == 2  # a row per block


def test_graph_text_lists_edges_by_margin_then_cycles() -> None:
    graph = dominance_graph(rps_like())
    text = graph_text(graph, cycles(graph), title="rps")
    lines = text.splitlines()
    assert lines[0].startswith("rps: who beats whom")
    assert lines[1].split()[:4] == ["paper_bot", "->", "sucker", "+0.900"]  # strongest first
    assert lines[4].split() == ["paper_bot", "->", "rock_bot", "+0.800", "[+0.294,", "+1.306]"]
    assert "  (3 pairs within noise: interval includes 0, no edge)" in lines
    assert lines[-1] == "  paper_bot -> rock_bot -> scissors_bot -> paper_bot"
    transitive = dominance_graph([match(0, "a", "b", 9)])
    assert graph_text(transitive, [], title="x").endswith("the results are transitive\n")


def test_picture_is_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from leaderboards.plot import draw_graph

    graph = dominance_graph(rps_like())
    draw_graph(graph, tmp_path / "g.png", title="rps", cycles=cycles(graph))
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"


def test_interval_is_the_larger_of_chance_and_the_spread_between_matches() -> None:
    # two matches that agree: chance's standard error, sqrt(v / R)
    agree = [match(0, "a", "b", 50, rounds=100), match(1, "b", "a", -50, rounds=100)]
    low, high = pairwise_matrix(agree).interval("a", "b")
    se = math.sqrt(2 / 3 / 200)
    assert (low, high) == (pytest.approx(0.5 - 1.959963984540054 * se),
                           pytest.approx(0.5 + 1.959963984540054 * se))
    # two that disagree (+1.0 and -0.2 per round): the spread between them is larger
    spread = [match(0, "a", "b", 100, rounds=100), match(1, "b", "a", 20, rounds=100)]
    m = pairwise_matrix(spread)
    assert m.get("a", "b") == pytest.approx(0.4)
    se = math.sqrt(2 / 1 * ((100 - 40) ** 2 + (-20 - 40) ** 2)) / 200
    assert m.interval("a", "b") == (pytest.approx(0.4 - 1.959963984540054 * se),
                                    pytest.approx(0.4 + 1.959963984540054 * se))
    assert not m.significant(0, 1)
    # the game's own variance sets chance's floor
    quiet = pairwise_matrix(agree, round_variance=0.0)
    assert quiet.interval("a", "b") == (pytest.approx(0.5), pytest.approx(0.5))


def test_a_hide_and_seek_pair_is_one_unit_of_spread() -> None:
    # the hider wins every round: +1 then -1 per round by role, 0 over the pair each time
    halves = [match(0, "a", "b", 10, group="p0", game="hide_and_seek"),
              match(1, "b", "a", 10, group="p0", game="hide_and_seek"),
              match(2, "a", "b", 10, group="p1", game="hide_and_seek"),
              match(3, "b", "a", 10, group="p1", game="hide_and_seek")]
    m = pairwise_matrix(halves, round_variance=0.5)
    assert m.get("a", "b") == 0.0
    half = 1.959963984540054 * math.sqrt(0.5 / 40)  # chance only: the pairs agree
    assert m.interval("a", "b") == (pytest.approx(-half), pytest.approx(half))


def test_matrix_in_leaderboard_order_with_intervals_in_json() -> None:
    records = [match(0, "a", "b", 9), match(1, "c", "a", 9), match(2, "c", "b", 9)]
    m = pairwise_matrix(records, order=["c", "a", "ghost"])
    assert m.agents == ["c", "a", "b"]  # as ordered; unknown names skipped, the rest sorted
    obj = m.to_json_obj()
    assert list(obj) == ["agents", "values", "low", "high"]
    i, j = obj["agents"].index("a"), obj["agents"].index("b")
    assert obj["values"][i][j] == pytest.approx(0.9)
    assert obj["low"][i][j] < obj["values"][i][j] < obj["high"][i][j]
    assert obj["low"][i][i] is None and obj["high"][i][i] is None


def test_twelve_agents_with_long_names_fit_one_block_in_80_columns() -> None:
    # the quickstart's rock-paper-scissors seats twelve, two with 16-character names
    names = ["iocaine", "markov", "hedge", "history", "smollm2-instruct", "gemma3-base",
             "freq", "biased", "humanlike", "random", "cycle", "rock"]
    records = [match(i * 100 + j, a, b, (i - j) % 7 - 3, rounds=10)
               for i, a in enumerate(names) for j, b in enumerate(names) if i < j]
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(pairwise_matrix(records, title="rps", order=names))
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80 and "…" not in lines[1]
    headers = [line.split() for line in lines if line.split()[:1] == ["agent"]]
    assert len(headers) == 1 and len(headers[0]) == 14  # agent, twelve columns, mean
    assert "smol = smollm2-instruct" in " ".join(" ".join(lines).split())
@pytest.mark.parametrize("name", ["$x^$", "$\\nope{x}$", "$$", "cost $5 or $6^", "$x^2$"])
def test_a_name_that_looks_like_mathtext_is_drawn_literally(tmp_path: Path, name: str) -> None:
    pytest.importorskip("matplotlib")
    from leaderboards.plot import draw_graph

    graph = dominance_graph([match(i, name, "b", 9, rounds=10) for i in range(4)])
    assert name in graph.nodes
    draw_graph(graph, tmp_path / "g.png", title=f"rps {name}", cycles=cycles(graph))
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"
