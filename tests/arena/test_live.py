"""The live view and the plain output of `arena run`, driven by a fake event stream.

The real CLI, plain and in a pseudo-terminal, is tested in ``test_live_cli.py``.
"""

from __future__ import annotations

import io
import logging
import os
import re
import sys

from rich.console import Console

from arena.live import LiveObserver, PlainObserver
from arena.records import FORFEIT, MatchResult

MOVES = ["rock", "paper", "scissors"]


def result(i: int, a: str, b: str, sa: float, sb: float, **extra: object) -> MatchResult:
    return MatchResult(key=f"rps:{a}-{b}:{i}", game="rps", index=i, seed=i, agents=[a, b],
                       roles=["player_0", "player_1"], scores={a: sa, b: sb}, rounds=20,
                       **extra)


def play_rounds(observer: object, key: str, a: str, b: str, n: int) -> None:
    for r in range(1, n + 1):
        observer.round_played(key=key, round=r, moves={a: MOVES[r % 3], b: MOVES[(r + 1) % 3]},
                              scores={a: -r, b: r})


# -- plain output ------------------------------------------------------------------

def test_plain_prints_one_line_per_finished_match_and_notices() -> None:
    out = io.StringIO()
    plain = PlainObserver(file=out)
    plain.run_started(name="demo", total=4, done=1)
    plain.match_started(key="rps:a-b:1", game="rps", agents=["a", "b"], rounds=20)
    play_rounds(plain, "rps:a-b:1", "a", "b", 20)
    plain.notice("agent c skipped for hide_and_seek")
    plain.match_finished(result(1, "a", "b", -20, 20))
    error = "Traceback (most recent call last):\n  File x\nValueError: bad action 7\n"
    plain.match_finished(result(2, "b", "c", 0, 0, status=FORFEIT, error=error,
                                forfeited_by="c"))
    plain.run_finished(interrupted=True)
    lines = out.getvalue().splitlines()
    assert lines[0] == "run demo: 4 matches scheduled, 1 already done"
    assert lines[1] == "note: agent c skipped for hide_and_seek"
    assert lines[2] == "[2/4] rps:a-b:1  a vs b  a -20  b 20  finished"
    assert lines[3] == "[3/4] rps:b-c:2  b vs c  b 0  c 0  forfeit by c: ValueError: bad action 7"
    assert re.fullmatch(r"run interrupted: 3/4 matches done \(2 played in [\d.]+ s, 1 forfeits\)",
                        lines[4])
    assert len(lines) == 5  # rounds print nothing


def test_plain_writes_to_the_current_stdout(capsys) -> None:
    plain = PlainObserver()
    plain.run_started(name="solo", total=1, done=0)
    plain.match_finished(MatchResult(key="random_number:x:0", game="random_number", index=0,
                                     seed=0, agents=["x"], roles=["solo"], scores={"x": 0.25},
                                     rounds=50, episodes=5))
    plain.run_finished(interrupted=False)
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "[1/1] random_number:x:0  x  x 0.250  finished"
    assert out[2].startswith("run finished: 1/1 matches done")


# -- live view, fake events ----------------------------------------------------------

def terminal(width: int = 80) -> Console:
    return Console(file=io.StringIO(), width=width, height=40, force_terminal=True,
                   color_system=None, legacy_windows=False)


def screen(observer: LiveObserver, width: int) -> list[str]:
    console = Console(file=io.StringIO(), width=width, color_system=None, record=True)
    console.print(observer.render(width=width))
    return console.export_text().splitlines()


def busy_observer() -> LiveObserver:
    live = LiveObserver(console=terminal(), refresh_per_second=20)
    live.run_started(name="demo", total=10, done=3)
    live.match_started(key="rps:random-cycle:0", game="rps", agents=["random", "cycle"],
                       rounds=100)
    live.match_started(key="rps:frequency_window_20-markov_order_2:0", game="rps",
                       agents=["frequency_window_20", "markov_order_2"], rounds=100)
    play_rounds(live, "rps:random-cycle:0", "random", "cycle", 37)
    play_rounds(live, "rps:frequency_window_20-markov_order_2:0", "frequency_window_20",
                "markov_order_2", 12)
    live.match_finished(result(0, "mirror", "beat_last", 9, -9))
    live.match_finished(result(1, "beat_last", "random", -4, 4))
    return live


def test_live_view_shows_matches_leaderboard_and_progress_within_80_columns() -> None:
    live = busy_observer()
    try:
        lines = screen(live, 80)
    finally:
        live.run_finished(interrupted=False)
    text = "\n".join(lines)
    assert max(len(line) for line in lines) <= 80
    assert "matches in flight" in text
    row = next(line for line in lines if "random vs cycle" in line)
    assert "37/100" in row and "-37:37" in row
    # newest moves last: round 37 was (paper, scissors)
    assert row.rstrip().endswith("paper/scissors")
    assert "12/100" in text
    for name in ("mirror", "beat_last", "random"):
        assert any(name in line and "rps" not in line for line in lines)
    assert "5/10" in text  # resumed at 3 done, two more finished


def test_the_eta_is_the_runners_estimate_and_estimating_until_it_has_one() -> None:
    live = busy_observer()
    try:
        before = screen(live, 80)[-1]
        live.estimate(3725.4)
        after = screen(live, 80)[-1]
        live.estimate(None)
        again = screen(live, 80)[-1]
    finally:
        live.run_finished(interrupted=False)
    assert before.endswith("eta estimating…") and again.endswith("eta estimating…")
    assert after.endswith("eta 1:02:05")


def test_a_long_run_name_never_hides_the_progress_counts() -> None:
    live = LiveObserver(console=terminal())
    live.run_started(name="a-rather-long-tournament-name-that-goes-on-and-on", total=1234,
                     done=17)
    try:
        last = screen(live, 80)[-1]
    finally:
        live.run_finished(interrupted=False)
    assert last.startswith("a-rather-long") and "…" in last
    assert "17/1234" in last and "elapsed 0:00:0" in last and "eta " in last


def test_live_view_grows_on_a_wider_terminal() -> None:
    live = busy_observer()
    try:
        narrow, wide = screen(live, 80), screen(live, 160)
    finally:
        live.run_finished(interrupted=False)
    assert max(len(line) for line in wide) > 100
    assert not any("frequency_window_20 vs markov_order_2" in line for line in narrow)
    assert any("frequency_window_20 vs markov_order_2" in line for line in wide)
    moves = [line.count("/") for line in narrow + wide if "random vs cycle" in line]
    assert moves[1] > moves[0]  # more history shown


def test_finished_matches_leave_the_in_flight_table() -> None:
    live = LiveObserver(console=terminal())
    live.run_started(name="demo", total=1, done=0)
    live.match_started(key="rps:a-b:0", game="rps", agents=["a", "b"], rounds=20)
    play_rounds(live, "rps:a-b:0", "a", "b", 20)
    assert any("a vs b" in line for line in screen(live, 80))
    live.match_finished(result(0, "a", "b", -20, 20))
    lines = screen(live, 80)
    live.run_finished(interrupted=False)
    live.run_finished(interrupted=False)  # idempotent
    assert not any("a vs b" in line for line in lines)
    assert "1/1" in "\n".join(lines)


def test_a_long_leaderboard_is_cut_to_keep_the_progress_bar_on_a_40_line_screen() -> None:
    live = busy_observer()
    for i in range(40):
        live.match_finished(result(10 + i, f"bot{i:02d}", "mirror", 1, -1))
    try:
        tall = Console(file=io.StringIO(), width=80, height=40, color_system=None, record=True)
        tall.print(live)  # rendered as Live does, with the console's height
        lines = tall.export_text().splitlines()
    finally:
        live.run_finished(interrupted=False)
    assert len(lines) <= 40
    assert "more agents" in "\n".join(lines) and "45/10" in lines[-1]
    assert "random vs cycle" in "\n".join(lines)


def test_last_frame_leaves_the_leaderboard_to_the_cli_unless_interrupted() -> None:
    finished, interrupted = busy_observer(), busy_observer()
    finished.run_finished(interrupted=False)
    interrupted.run_finished(interrupted=True)
    done = "\n".join(screen(finished, 80))
    assert "5/10" in done and "mirror" not in done and "in flight" not in done
    kept = "\n".join(screen(interrupted, 80))
    assert "mirror" in kept and "in flight" not in kept


def test_library_log_handlers_print_above_the_live_area() -> None:
    # Like transformers: a library logger with its own handler bound to the real stderr.
    handler = logging.StreamHandler(sys.stderr)
    library = logging.getLogger("arena_test_library")
    library.addHandler(handler)
    library.propagate = False
    console = terminal()
    live = LiveObserver(console=console)
    try:
        live.run_started(name="demo", total=1, done=0)
        library.warning("weights downloaded")
        print("a stray print")
        live.run_finished(interrupted=False)
    finally:
        library.removeHandler(handler)
    assert handler.stream is sys.stderr  # put back after the run
    written = console.file.getvalue()
    assert "weights downloaded" in written and "a stray print" in written


def test_the_live_view_silences_the_hub_and_transformers_progress_bars(monkeypatch) -> None:
    import huggingface_hub.utils as hub_utils

    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    hub_utils.enable_progress_bars()
    live = LiveObserver(console=terminal(), refresh_per_second=20)
    try:
        live.run_started(name="demo", total=1, done=0)
        # a model loaded from now on, here or in a worker started later, draws no bars
        assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1"
        assert hub_utils.are_progress_bars_disabled()
    finally:
        live.run_finished(interrupted=False)
        hub_utils.enable_progress_bars()
