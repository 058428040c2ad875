"""What `arena run` shows while it plays: a live Rich view, or plain lines.

The engine reports progress through the run-observer protocol (``run_started``,
``match_started``, ``round_played``, ``match_finished``, ``notice``, ``run_finished``).
Two observers implement it:

:class:`LiveObserver`
    For a terminal. A ``rich.live.Live`` display refreshed a few times a second from
    a view object that renders the *current* state on demand: the matches in flight
    (agents, game, round k/N, score so far, the last few moves by name), the
    leaderboard in finish order, and a progress bar with elapsed time and the time
    left as the runner estimates it (:mod:`arena.eta`; "estimating…" until it can).
    Events only update small pieces of state, so a round costs a few dict writes.
    Log records, warnings and anything printed to stdout/stderr appear above the
    live area instead of through it (see :mod:`arena.live_logging`).

:class:`PlainObserver`
    For pipes, files and ``--no-live``: one line per finished match plus notices,
    flushed as they happen. The final leaderboard is printed by the CLI.

Every name and text from the config or an agent (run and agent names, game ids, moves,
written answers, errors, notices) is shown literally: never read as Rich markup, and
with control, invisible and direction-changing characters written as their escapes
(:func:`leaderboards.table.visible`), in the live view and in plain lines alike.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, TextIO

from rich import progress as bar
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.live import Live
from rich.table import Column, Table
from rich.text import Text

from arena.cli_views import round_variance_of
from arena.config_model import DEFAULT_MARGIN_SD
from arena.live_logging import LogRouting, PlainLogs
from arena.records import FORFEIT, MatchResult
from leaderboards import Leaderboard, LiveRatings
from leaderboards.table import literal, visible

_MOVES_KEPT = 12


def _short_error(error: str | None) -> str:
    """The last non-empty line of an error text: for a traceback, the exception itself."""
    lines = [line.strip() for line in (error or "").splitlines() if line.strip()]
    return lines[-1][:200] if lines else "unknown error"


def _fmt(value: float) -> str:
    return f"{value:.3f}" if value != int(value) else f"{int(value)}"


def _ordered(values: dict[str, Any], agents: list[str]) -> list[Any]:
    """Values in seat order when keyed by agent name, else in the order given."""
    if all(a in values for a in agents):
        return [values[a] for a in agents]
    return list(values.values())


@dataclass
class _InFlight:
    game: str
    agents: list[str]
    rounds: int
    round: int = 0
    scores: dict[str, float] = field(default_factory=dict)
    moves: deque[dict[str, str]] = field(default_factory=lambda: deque(maxlen=_MOVES_KEPT))


class LiveObserver:
    """A live terminal view of a run (see the module docstring).

    ``draw_probability`` feeds the live TrueSkill ratings, and ``margin_sd`` with
    ``game_args`` (game id -> the game block's arguments; a game not in it is taken
    with its defaults) make the margin rule of their outcomes, the same as the final
    table's (:func:`arena.cli_views.game_board`); ``max_rows`` caps the
    matches-in-flight table so the view fits a 40-line terminal. The observer is
    itself the renderable handed to ``Live``: each refresh draws the current state.
    """

    def __init__(self, *, console: Console | None = None, draw_probability: float = 0.1,
                 refresh_per_second: float = 4.0, max_rows: int = 8,
                 margin_sd: float = DEFAULT_MARGIN_SD,
                 game_args: dict[str, dict[str, Any]] | None = None) -> None:
        self.console = console or Console()
        self._refresh = refresh_per_second
        self._max_rows = max_rows
        self._lock = threading.Lock()
        self._in_flight: dict[str, _InFlight] = {}
        args = dict(game_args or {})
        self._ratings = LiveRatings(
            draw_probability=draw_probability, margin_sd=margin_sd,
            round_variance=lambda game: round_variance_of(game, args.get(game)))
        self._boards: dict[str, Any] = {}  # game -> leaderboard, rebuilt after a match ends
        self._latest_game: str | None = None
        self._finished: bool | None = None  # None while running, then `interrupted`
        self._forfeits = 0
        self._progress = bar.Progress(
            # a long run name is cut, never the counts and times after it
            bar.TextColumn("{task.description}", style="bold", markup=False,
                           table_column=Column(no_wrap=True, overflow="ellipsis", max_width=24)),
            bar.BarColumn(bar_width=None),
            bar.MofNCompleteColumn(), "elapsed", bar.TimeElapsedColumn(), "eta",
            _EtaColumn(), auto_refresh=False, expand=True, console=self.console)
        self._task = self._progress.add_task("run", total=0, start=False, eta=None)
        self._live: Live | None = None
        self._logs: LogRouting | None = None

    # -- the observer protocol -------------------------------------------------
    def run_started(self, *, name: str, total: int, done: int) -> None:
        self._finished = None
        self._progress.update(self._task, description=visible(name), total=total,
                              completed=done)
        self._progress.start_task(self._task)
        quiet_progress_bars()
        self._live = Live(self, console=self.console, auto_refresh=True,
                          refresh_per_second=self._refresh, redirect_stdout=True,
                          redirect_stderr=True, transient=False)
        self._live.start()
        self._logs = LogRouting(self._live)

    def match_started(self, *, key: str, game: str, agents: list[str], rounds: int) -> None:
        with self._lock:
            self._in_flight[key] = _InFlight(game, list(agents), rounds,
                                             scores=dict.fromkeys(agents, 0.0))

    def round_played(self, *, key: str, round: int, moves: dict[str, str],
                     scores: dict[str, float]) -> None:
        # Called every round: keep the engine's dicts as they are and format at refresh.
        match = self._in_flight.get(key)
        if match is not None:
            with self._lock:
                match.round = round
                match.scores = scores
                match.moves.append(moves)

    def match_finished(self, result: MatchResult) -> None:
        with self._lock:
            self._in_flight.pop(result.key, None)
            # A shallow mapping: to_dict() would deep-copy the whole round log.
            self._ratings.add(dict(vars(result)))
            self._boards.pop(result.game, None)
            self._latest_game = result.game
            self._forfeits += result.status == FORFEIT
        self._progress.advance(self._task)

    def notice(self, message: str) -> None:
        self.console.print(literal(f"note: {message}", style="yellow"))

    def estimate(self, seconds_left: float | None) -> None:
        self._progress.update(self._task, eta=seconds_left)

    def run_finished(self, *, interrupted: bool) -> None:
        if self._live is None or self._logs is None:
            return
        with self._logs.stopping:
            self._logs.restore()
            self._progress.stop_task(self._task)
            with self._lock:
                self._in_flight.clear()
                self._finished = interrupted
            self._live.stop()
            self._live = None

    # -- rendering ---------------------------------------------------------------
    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.render(width=options.max_width, height=options.size.height)

    def render(self, *, width: int = 80, height: int | None = None) -> Group:
        """The whole view for a terminal ``width`` columns wide and ``height`` lines tall."""
        with self._lock:
            in_flight = [(m.game, m.agents, m.round, m.rounds, m.scores, list(m.moves))
                         for m in self._in_flight.values()]
            game = self._latest_game
            board = None
            if game is not None:
                board = self._boards.get(game)
                if board is None:
                    board = self._boards[game] = self._ratings.leaderboard(game=game)
            finished = self._finished
        if finished is False:
            # The last frame stays on screen above the CLI's own final (schedule-order)
            # leaderboard, so it shrinks to the progress line. An interrupted run keeps
            # its live leaderboard: nothing else will show one.
            return Group(self._progress)
        parts: list[Any] = []
        if finished is None:
            parts.append(self._in_flight_table(in_flight, width=width))
        hidden = 0
        if board is not None and height is not None:
            # Live crops what overflows the screen from the bottom, progress bar first:
            # keep the top of the leaderboard instead.
            used = 6 + (min(len(in_flight), self._max_rows) + 3 if finished is None else 0)
            keep = max(3, height - used - bool(self._forfeits))
            if len(board.rows) > keep:
                hidden = len(board.rows) - keep + 1
                board = Leaderboard(board.rows[:keep - 1], columns=board.columns)
        if board is None:
            parts.append(Text("leaderboard: waiting for the first match to finish", style="dim"))
        else:
            other = [visible(g) for g in self._ratings.games() if g != game]
            title = f"leaderboard · {visible(game)} · live, finish order"
            parts.append(Text(title + (f" (also: {', '.join(other)})" if other else ""),
                              style="bold", overflow="ellipsis", no_wrap=True))
            parts.append(board)
            if hidden:
                parts.append(Text(f"… and {hidden} more agents", style="dim"))
        if self._forfeits:
            parts.append(Text(f"forfeits so far: {self._forfeits}", style="red"))
        parts.append(self._progress)
        return Group(*parts)

    def _in_flight_table(self, matches: list[tuple], *, width: int) -> Table:
        table = Table(title="matches in flight", title_justify="left", expand=True,
                      pad_edge=False, box=None, header_style="bold")
        table.add_column("game", no_wrap=True, overflow="ellipsis", max_width=14)
        table.add_column("agents", no_wrap=True, overflow="ellipsis", ratio=2)
        table.add_column("round", justify="right", no_wrap=True)
        table.add_column("score", justify="right", no_wrap=True)
        table.add_column("last moves", no_wrap=True, overflow="ellipsis", ratio=3)
        shown = matches[: self._max_rows]
        # names, moves and written answers as they are (visible() also makes their length
        # the width they take, which fitting the moves relies on)
        rows = [(visible(game), visible(" vs ".join(agents)), f"{done}/{rounds}",
                 ":".join(_fmt(s) for s in _ordered(scores, agents)),
                 [visible("/".join(map(str, _ordered(m, agents)))) for m in moves])
                for game, agents, done, rounds, scores, moves in shown]
        # The moves column gets 3/5 of what the fixed columns and gaps leave (its ratio), so
        # the newest moves that fit are chosen here: wider terminals show more history.
        fixed = sum(max((len(r[i]) for r in rows), default=5) for i in (2, 3))
        fixed += min(14, max((len(r[0]) for r in rows), default=4)) + 8
        room = max(10, (width - fixed) * 3 // 5)
        for game, agents, round_, score, moves in rows:
            table.add_row(Text(game), Text(agents), round_, score,
                          Text(_fit_newest(moves, room)))
        if len(matches) > len(shown):
            table.add_row("", Text(f"… and {len(matches) - len(shown)} more", style="dim"),
                          "", "", "")
        if not matches:
            table.add_row("", Text("none", style="dim"), "", "", "")
        return table


def quiet_progress_bars() -> None:
    """No tqdm bars from transformers and the hub ("Loading weights") inside the live view:
    they would print a line per update above it. The variable reaches models loaded later,
    in this process or a worker started after it; a transformers already imported is told
    directly."""
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    if "transformers" in sys.modules:
        with contextlib.suppress(Exception):  # an old or odd transformers: bars stay
            sys.modules["transformers"].utils.logging.disable_progress_bar()
    if "huggingface_hub" in sys.modules:
        with contextlib.suppress(Exception):
            sys.modules["huggingface_hub"].utils.disable_progress_bars()


class _EtaColumn(bar.ProgressColumn):
    """The runner's estimate of the time left, or "estimating…" while it has none."""

    def render(self, task: bar.Task) -> Text:
        if task.finished:
            return Text("0:00:00", style="progress.remaining")
        seconds = task.fields.get("eta")
        if seconds is None:
            return Text("estimating…", style="progress.remaining")
        whole = int(round(seconds))
        return Text(f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}",
                    style="progress.remaining")


def _fit_newest(moves: list[str], room: int) -> str:
    """The newest moves that fit in ``room`` columns (at least one), oldest first."""
    kept, used = 1, len(moves[-1]) if moves else 0
    while kept < len(moves) and used + 1 + len(moves[-kept - 1]) <= room:
        used += 1 + len(moves[-kept - 1])
        kept += 1
    return " ".join(moves[-kept:]) if moves else ""


class PlainObserver:
    """Plain lines for pipes, files and ``--no-live``: one per finished match, plus notices."""

    def __init__(self, *, file: TextIO | None = None) -> None:
        self._file = file
        self._logs: PlainLogs | None = None
        self._total = self._done = self._played = self._forfeits = 0
        self._started = time.monotonic()

    def _print(self, line: str) -> None:
        """Print one line; every part from the config or an agent is already visible()."""
        out = self._file or sys.stdout  # looked up late so redirection (and pytest capsys) work
        print(line, file=out, flush=True)

    def run_started(self, *, name: str, total: int, done: int) -> None:
        self._total, self._done, self._started = total, done, time.monotonic()
        self._logs = PlainLogs()
        resumed = f", {done} already done" if done else ""
        self._print(f"run {visible(name)}: {total} matches scheduled{resumed}")

    def match_started(self, **event: Any) -> None:
        """Nothing to print until the match ends (also serves ``round_played``)."""

    round_played = match_started
    shows_rounds = False  # so workers need not report rounds to it

    def match_finished(self, result: MatchResult) -> None:
        self._done += 1
        self._played += 1
        width = len(str(self._total))
        ordered = _ordered(result.scores, result.agents)
        scores = "  ".join(f"{visible(a)} {_fmt(s)}"
                           for a, s in zip(result.agents, ordered, strict=False))
        if result.status == FORFEIT:
            self._forfeits += 1
            status = f"forfeit by {result.forfeited_by or '?'}: {_short_error(result.error)}"
        else:
            status = result.status
        self._print(f"[{self._done:>{width}}/{self._total}] {visible(result.key)}  "
                    f"{visible(' vs '.join(result.agents))}  {scores}  {visible(status)}")

    def notice(self, message: str) -> None:
        self._print(f"note: {visible(message)}")

    def run_finished(self, *, interrupted: bool) -> None:
        seconds = time.monotonic() - self._started
        what = "interrupted" if interrupted else "finished"
        forfeits = f", {self._forfeits} forfeits" if self._forfeits else ""
        self._print(f"run {what}: {self._done}/{self._total} matches done "
                    f"({self._played} played in {seconds:.1f} s{forfeits})")
        if self._logs is not None:
            self._logs.restore()
            self._logs = None
