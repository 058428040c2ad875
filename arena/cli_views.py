"""Views of a finished (or running) tournament: ``leaderboard``, ``matrix`` and ``graph``.

Each reads the run directory through :class:`arena.store.Store` and hands plain records
to :mod:`leaderboards`:

* ``arena leaderboard DIR [--format table|md|csv|json] [--game ID] [--bt]`` -- TrueSkill
  in schedule order (solo tasks: mean reward with a 95% interval and free-for-all
  TrueSkill). JSON is a list of rows, or an object keyed by game id when the run has
  several games and no ``--game``. ``--bt`` adds order-free Bradley-Terry strengths.
* ``arena matrix DIR [--game ID] [--format table|json]`` -- every pair's mean net reward
  per round, row agent against column agent, coloured by sign.
* ``arena graph DIR [--game ID] [--out FILE.png]`` -- who beats whom: edges and the
  cycles that make a game non-transitive; ``--out`` draws it with matplotlib.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from arena.errors import ArenaError

LEADERBOARD_FORMATS = ("table", "md", "csv", "json")
MATRIX_FORMATS = ("table", "json")

DirArg = typer.Argument(..., help="Run directory (holds arena.db).", show_default=False,
                        metavar="DIR")
GameOpt = typer.Option(None, "--game", help="Only this game (default: every game of the run).")


class RunView:
    """A run directory's records, by game, as the view commands need them."""

    def __init__(self, directory: Path, *, game: str | None = None) -> None:
        from arena.store import Store

        self.store = Store.open(directory)
        self.store.skip_unreadable = True  # show the rest; _open names what was left out
        info = self.store.run_info()
        self.config: dict[str, Any] = info.get("config") or {}
        self.all_games = self.store.games()
        if game is not None and game not in self.all_games:
            known = ", ".join(self.all_games) or "none yet"
            self.store.close()
            raise ArenaError(f"run {directory} has no game {game!r} (games: {known})")
        self.games = [game] if game is not None else self.all_games
        # `games:` in the config (even with one game) keys the JSON by game id
        self.keyed = game is None and (len(self.all_games) > 1
                                       or bool(self.config.get("games_list")))
        rating = self.config.get("rating") or {}
        self.draw_probability = float(rating.get("draw_probability", 0.1))

    def records(self, game: str) -> list[dict[str, Any]]:
        return game_records(self.store, game)

    def close(self) -> None:
        self.store.close()


@contextmanager
def _open(directory: Path, game: str | None) -> Iterator[RunView]:
    """The run, for reading; a damaged one shows what can be read, then fails naming the
    matches it left out (exit 2)."""
    from arena.store import damaged

    view = RunView(directory, game=game)
    try:
        yield view
        summary = view.store.unreadable_summary()
        if summary is not None:
            raise ArenaError(str(damaged(view.store.path, f"{summary}; left out of what is "
                                         "shown above")))
    finally:
        view.close()


def _is_solo(records: list[dict[str, Any]]) -> bool:
    from leaderboards import is_solo

    return bool(records) and is_solo(records[0])


def game_records(store: Any, game: str) -> list[dict[str, Any]]:
    """A game's records; solo tasks come with their round logs (per-episode ranks)."""
    records = store.results(game=game)
    if _is_solo(records):
        records = store.results(game=game, rounds=True)
    return records


def game_board(records: list[dict[str, Any]], game: str, *, draw_probability: float,
               bt: bool = False) -> Any:
    """The leaderboard of one game's records: TrueSkill for matches (``bt``: with
    Bradley-Terry), mean reward with intervals for solo tasks."""
    from leaderboards import add_bradley_terry, build_leaderboard, build_solo_leaderboard

    if _is_solo(records):
        return build_solo_leaderboard(records, draw_probability=draw_probability, title=game)
    board = build_leaderboard(records, draw_probability=draw_probability, title=game)
    return add_bradley_terry(board, records) if bt else board


# -- leaderboard --------------------------------------------------------------------
def build_boards(view: RunView, *, bt: bool = False) -> dict[str, Any]:
    """Game id -> Leaderboard for every game of ``view``."""
    return {game: game_board(view.records(game), game, draw_probability=view.draw_probability,
                             bt=bt) for game in view.games}


def render_boards(boards: dict[str, Any], fmt: str, *, keyed: bool) -> str:
    """``boards`` as md, csv or json text (``table`` is printed through Rich instead)."""
    if fmt == "json":
        obj: Any = ({g: b.to_json_obj() for g, b in boards.items()} if keyed
                    else next(iter(boards.values())).to_json_obj() if boards else [])
        return json.dumps(obj, indent=2) + "\n"
    if fmt == "md":
        if not keyed:
            return "".join(b.to_markdown() for b in boards.values())
        return "\n".join(f"## {g}\n\n{b.to_markdown()}" for g, b in boards.items())
    if fmt == "csv":
        if not keyed:
            return "".join(b.to_csv() for b in boards.values())
        import csv
        import io

        from arena.export import CsvWriter
        from leaderboards.csv_safe import safe_cell

        out = io.StringIO()
        writer = CsvWriter(out)
        for i, (game, board) in enumerate(boards.items()):
            # read back, not split by line: a quoted cell may hold a newline
            header, *body = csv.reader(io.StringIO(board.to_csv(), newline=""))
            if i == 0:
                writer.writerow(["game", *header])
            for row in body:
                writer.writerow([safe_cell(game), *row])
        return out.getvalue()
    raise ValueError(f"unknown format {fmt!r}")


def leaderboard_command(
    directory: Path = DirArg,
    fmt: str = typer.Option("table", "--format", "-f", help="table, md, csv or json."),
    game: str | None = GameOpt,
    bt: bool = typer.Option(False, "--bt", help="Add Bradley-Terry strengths with 95% CIs."),
) -> None:
    """Show a run's leaderboard (TrueSkill in schedule order)."""
    if fmt not in LEADERBOARD_FORMATS:
        raise ArenaError(f"unknown --format {fmt!r}; choose one of "
                         f"{', '.join(LEADERBOARD_FORMATS)}")
    with _open(directory, game) as view:
        boards = build_boards(view, bt=bt)
        if fmt != "table":
            sys.stdout.write(render_boards(boards, fmt, keyed=view.keyed))
            return
        console = Console()
        if not boards:
            console.print("no finished matches yet")
        for board in boards.values():
            console.print(board)


# -- matrix -------------------------------------------------------------------------
def matrix_command(
    directory: Path = DirArg,
    game: str | None = GameOpt,
    fmt: str = typer.Option("table", "--format", "-f", help="table or json."),
) -> None:
    """Show every pair's mean net reward per round (row agent vs column agent)."""
    from leaderboards import pairwise_matrix

    if fmt not in MATRIX_FORMATS:
        raise ArenaError(f"unknown --format {fmt!r}; choose one of {', '.join(MATRIX_FORMATS)}")
    with _open(directory, game) as view:
        matrices = {}
        for g in view.games:
            records = view.store.results(game=g)
            if not _is_solo(records):
                matrices[g] = pairwise_matrix(records, title=g)
        if not matrices:
            raise ArenaError("no two-player games in this run: a matrix needs pairwise matches")
        if fmt == "json":
            obj = {g: m.to_json_obj() for g, m in matrices.items()}
            sys.stdout.write(json.dumps(obj if view.keyed else next(iter(obj.values())),
                                        indent=2) + "\n")
            return
        console = Console()
        for matrix in matrices.values():
            console.print(matrix)


# -- graph --------------------------------------------------------------------------
def _draw(graph: Any, out: Path, *, title: str, found: list[list[str]]) -> None:
    from leaderboards.plot import draw_graph

    try:
        draw_graph(graph, out, title=title, cycles=found)
    except OSError as exc:
        raise ArenaError(f"cannot write {out}: {exc.strerror or exc}") from None
    sys.stdout.write(f"wrote {out}\n")


def graph_command(
    directory: Path = DirArg,
    game: str | None = GameOpt,
    out: Path | None = typer.Option(None, "--out", help="Also draw the graph to FILE.png."),
) -> None:
    """Show the dominance graph (who beats whom) and its cycles."""
    from leaderboards import cycles, dominance_graph
    from leaderboards.graph import graph_text

    if out is not None and importlib.util.find_spec("matplotlib") is None:
        raise ArenaError("--out needs matplotlib: pip install matplotlib")
    if out is not None:
        from arena.store import refuse_run_file

        refuse_run_file(out, directory)  # never draw over a run's own files
    with _open(directory, game) as view:
        graphs = {}
        for g in view.games:
            records = view.store.results(game=g)
            if not _is_solo(records):
                graphs[g] = dominance_graph(records)
        if not graphs:
            raise ArenaError("no two-player games in this run: a dominance graph needs "
                             "pairwise matches")
        if out is not None and len(graphs) > 1:
            raise ArenaError(f"--out draws one game; choose it with --game ({', '.join(graphs)})")
        for g, graph in graphs.items():
            found = cycles(graph)
            sys.stdout.write(graph_text(graph, found, title=g))
            if out is not None:
                _draw(graph, out, title=f"{g}: who beats whom (red: on a cycle)", found=found)


def register(app: typer.Typer) -> None:
    """Add ``leaderboard``, ``matrix`` and ``graph`` to ``app``."""
    app.command("leaderboard")(leaderboard_command)
    app.command("matrix")(matrix_command)
    app.command("graph")(graph_command)
