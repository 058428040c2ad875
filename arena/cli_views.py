"""Views of a finished (or running) tournament: ``leaderboard``, ``matrix`` and ``graph``.

Each reads the run directory through :class:`arena.store.Store` and hands plain records
to :mod:`leaderboards`:

* ``arena leaderboard DIR [--format table|md|csv|json] [--game ID] [--bt]`` -- TrueSkill
  in schedule order (solo tasks: mean reward with a 95% interval and free-for-all
  TrueSkill). JSON is a list of rows, or an object keyed by game id when the run has
  several games and no ``--game``. ``--bt`` adds order-free Bradley-Terry strengths.
* ``arena matrix DIR [--game ID] [--format table|json]`` -- every pair's mean net reward
  per round with its 95% interval, row agent against column agent, in leaderboard order.
* ``arena graph DIR [--game ID] [--out FILE.png]`` -- who beats whom (edges whose interval
  excludes 0) and the cycles that make a game non-transitive; ``--out`` draws it.

Ratings judge a match by its margin (:class:`leaderboards.OutcomeRule`): the run's
``rating.margin_sd`` (default 2) times the standard deviation of two uniform players'
net, from the game's own payoff matrix (:func:`round_variance_of`).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from arena.config_model import DEFAULT_MARGIN_SD
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
        self.margin_sd, self.game_args = rating_settings(self.config)

    def records(self, game: str) -> list[dict[str, Any]]:
        return game_records(self.store, game)

    def board(self, game: str, records: list[dict[str, Any]], *, bt: bool = False) -> Any:
        """The leaderboard of ``game`` by this run's rating settings."""
        return game_board(records, game, draw_probability=self.draw_probability, bt=bt,
                          margin_sd=self.margin_sd, args=self.game_args.get(game))

    def round_variance(self, game: str) -> float | None:
        return round_variance_of(game, self.game_args.get(game))

    def close(self) -> None:
        self.store.close()


@contextmanager
def _open(directory: Path, game: str | None) -> Iterator[RunView]:
    """The run, for reading; a damaged one shows what can be read, then fails naming the
    matches it left out (exit 2)."""
    from arena.store_files import damaged

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


class RunRecords(list):  # type: ignore[type-arg]
    """A game's records as read from a run (a plain list of record dicts), carrying that
    run's ``margin_sd`` and the game's ``args``: :func:`game_board` rates them by those
    unless told otherwise, so every table of a run uses the run's own outcome rule."""

    margin_sd: float = DEFAULT_MARGIN_SD
    args: dict[str, Any] | None = None


def rating_settings(config: Mapping[str, Any]) -> tuple[float, dict[str, dict[str, Any]]]:
    """``rating.margin_sd`` and game id -> arguments, from a stored config snapshot
    (a snapshot made before ``margin_sd`` existed, or with the default, has none: 2)."""
    rating = config.get("rating") or {}
    games = {g["id"]: dict(g.get("args") or {}) for g in config.get("games") or ()
             if isinstance(g, Mapping) and "id" in g}
    return float(rating.get("margin_sd", DEFAULT_MARGIN_SD)), games


def game_records(store: Any, game: str) -> RunRecords:
    """A game's records; solo tasks come with their round logs (per-episode ranks)."""
    records = store.results(game=game)
    if _is_solo(records):
        records = store.results(game=game, rounds=True)
    out = RunRecords(records)
    out.margin_sd, games = rating_settings(store.run_info().get("config") or {})
    out.args = games.get(game)
    return out


def round_variance_of(game: str, args: Mapping[str, Any] | None = None) -> float | None:
    """One round's variance of the net between two uniform players in ``game`` played
    with ``args`` (its stage game's payoff matrix; the same from either seat), which the
    margin rule of the ratings scales. ``None`` for a solo task, and for a game that
    cannot be built here (an unknown id, arguments that are not plain data): the
    ratings then use rock-paper-scissors' 2/3."""
    from arena.game_facts import facts_of
    from leaderboards import round_variance

    try:
        facts = facts_of(game, args)
    except Exception:  # noqa: BLE001 -- a view never fails on this: the default applies
        return None
    return None if facts.solo else round_variance(facts.payoff(facts.roles[0]))


def rating_options(game: str, *, margin_sd: float = DEFAULT_MARGIN_SD,
                   args: Mapping[str, Any] | None = None) -> dict[str, float]:
    """``margin_sd`` and ``round_variance`` keywords for the leaderboards functions."""
    variance = round_variance_of(game, args)
    return {"margin_sd": margin_sd,
            **({"round_variance": variance} if variance is not None else {})}


def game_board(records: list[dict[str, Any]], game: str, *, draw_probability: float,
               bt: bool = False, margin_sd: float | None = None,
               args: Mapping[str, Any] | None = None) -> Any:
    """The leaderboard of one game's records: TrueSkill for matches (``bt``: with
    Bradley-Terry), mean reward with intervals for solo tasks. A match's rated outcome
    follows the margin rule: ``margin_sd`` (the config's ``rating.margin_sd``) standard
    deviations of chance's net in ``game`` played with ``args`` (the game block's
    arguments). Either left out is taken from ``records`` when they came from
    :func:`game_records` (the run's own), else the default 2 and the game's defaults."""
    from leaderboards import add_bradley_terry, build_leaderboard, build_solo_leaderboard

    if margin_sd is None:
        margin_sd = getattr(records, "margin_sd", DEFAULT_MARGIN_SD)
    if args is None:
        args = getattr(records, "args", None)
    if _is_solo(records):
        return build_solo_leaderboard(records, draw_probability=draw_probability, title=game)
    rule = rating_options(game, margin_sd=margin_sd, args=args)
    board = build_leaderboard(records, draw_probability=draw_probability, title=game, **rule)
    return add_bradley_terry(board, records, **rule) if bt else board


# -- leaderboard --------------------------------------------------------------------
def build_boards(view: RunView, *, bt: bool = False) -> dict[str, Any]:
    """Game id -> Leaderboard for every game of ``view``."""
    return {game: view.board(game, view.records(game), bt=bt) for game in view.games}


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
    inside = runs_inside(directory)
    if inside:
        list_runs(directory, inside)
        return
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


def runs_inside(directory: Path) -> list[Path]:
    """The run directories right inside ``directory`` (``runs/``), when it is not one itself."""
    from arena.store_files import DB_NAME

    if not directory.is_dir() or (directory / DB_NAME).exists():
        return []
    return sorted(p for p in directory.iterdir() if (p / DB_NAME).is_file())


def list_runs(directory: Path, runs: list[Path]) -> None:
    """A table of the runs in ``directory``: what to give ``arena leaderboard``."""
    import time

    from arena.store import Store
    from leaderboards.fit import Col, FitTable

    table = FitTable([Col("run directory", number=False, min_width=16),
                      Col("name", number=False, min_width=8), Col("matches"),
                      Col("games", number=False, min_width=8, wrap=True),
                      Col("created", drop=1)],
                     title=f"{directory} is not a run: the runs inside it",
                     notes=[f"show one with: arena leaderboard {runs[-1]}"])
    for run in runs:
        try:
            with Store.open(run) as store:
                info = store.run_info()
                created = info.get("created")
                table.add_row(str(run), str(info.get("name")), str(store.count()),
                              ", ".join(store.games()),
                              time.strftime("%Y-%m-%d %H:%M", time.localtime(created))
                              if isinstance(created, int | float) else "–")
        except Exception as exc:  # noqa: BLE001 -- one unreadable run does not hide the rest
            table.add_row(str(run), f"unreadable: {exc}", "–", "", "–")
    Console().print(table)


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
                variance = view.round_variance(g)
                matrices[g] = pairwise_matrix(
                    records, title=g, order=view.board(g, records).agents(),
                    **({"round_variance": variance} if variance is not None else {}))
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
        from arena.store_files import refuse_run_file

        refuse_run_file(out, directory)  # never draw over a run's own files
    with _open(directory, game) as view:
        graphs = {}
        for g in view.games:
            records = view.store.results(game=g)
            if not _is_solo(records):
                variance = view.round_variance(g)
                graphs[g] = dominance_graph(
                    records, **({"round_variance": variance} if variance is not None else {}))
        if not graphs:
            raise ArenaError("no two-player games in this run: a dominance graph needs "
                             "pairwise matches")
        if out is not None and len(graphs) > 1:
            first = next(iter(graphs))
            print(f"--out draws one game: {first} (choose another with --game: "
                  f"{', '.join(graphs)})", file=sys.stderr)
            graphs = {first: graphs[first]}
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
