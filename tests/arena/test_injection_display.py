"""Names and texts cannot take over the terminal (issue 16, item 7).

Every string from a config or an agent is shown as literal text: Rich markup is printed
as written (``[bold red]x`` stays ``[bold red]x``, no OSC-8 hyperlink), and terminal
escapes, new lines and direction overrides are made visible (``\\x1b``, ``\\n``,
``\\u202e``) -- in the leaderboard, matrix and graph (``arena leaderboard/matrix/graph``),
the final table of ``arena run``, the live view and the plain lines.

Hostile *agent names* are refused by the config (``test_validation_names.py``), so the
CLI views are fed a run written straight through the store; hostile *texts* come from a
writer agent in a real run.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest
from rich.console import Console

from arena.agent import BaseAgent
from arena.live import LiveObserver, PlainObserver
from arena.records import FINISHED, FORFEIT, MatchResult
from arena.store import Store
from leaderboards import Leaderboard, pairwise_matrix
from leaderboards.graph import cycles, dominance_graph, graph_text
from leaderboards.table import literal, visible

ROOT = Path(__file__).resolve().parents[2]
HERE = "tests.arena.test_injection_display:"

CLEAR = "\x1b[2J"
TITLE = "\x1b]0;pwned\x07"
LINK = "[link=https://evil.example]y[/link]"
HOSTILE_NAMES = ["[bold red]x", LINK, f"e{CLEAR}z", f"t{TITLE}", "two\nlines", "rtl\u202eabc",
                 "[/]", "zw\u200bsp"]
#: what a hostile name or text is allowed to leave in a terminal: Rich's own styling (SGR)
#: and the live display's cursor moves, never a clear screen, a title or a hyperlink
SAFE_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[mAKlhGJ]")
ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07]*\x07|[@-Z\\-_])")


def hostile_escapes(output: str) -> list[str]:
    """Every escape sequence or control character in ``output`` that Rich did not put
    there for styling or cursor movement."""
    rest = SAFE_ESCAPE.sub("", output)
    found = re.findall(r"\x1b[\[\]][^\x1b]{0,12}|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]",
                       rest.replace("\r\n", "\n").replace("\r", ""))
    return found + [CLEAR] * output.count(CLEAR)  # a clear screen is never ours


def terminal(width: int = 120) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=width, height=60, force_terminal=True,
                   color_system="truecolor", legacy_windows=False), out


def records(names: list[str]) -> list[dict[str, Any]]:
    return [{"agents": [a, b], "status": "finished", "rounds": 4, "scores": {a: 4.0, b: -4.0},
             "game": "rps", "key": f"k{i}-{j}", "index": i * 100 + j}
            for i, a in enumerate(names) for j, b in enumerate(names) if i < j]


# -- the helpers -------------------------------------------------------------------
def test_visible_writes_hidden_characters_as_escapes_and_leaves_the_rest() -> None:
    assert visible("plain [bold]é 東京") == "plain [bold]é 東京"
    assert visible(f"a{CLEAR}") == "a\\x1b[2J"
    assert visible("a\nb\tc\u202ed\u200be\ud800") == "a\\nb\\tc\\u202ed\\u200be\\ud800"
    assert visible("a\nb\tc\x1b", newlines=True) == "a\nb\tc\\x1b"
    assert literal("[bold]x").plain == "[bold]x" and not literal("[bold]x").spans


# -- leaderboards, matrix, graph, markdown -----------------------------------------
def test_the_leaderboard_shows_names_literally() -> None:
    console, out = terminal()
    console.print(Leaderboard([{"agent": n, "mu": 1.0, "net_per_round": 0.5}
                               for n in HOSTILE_NAMES], title=f"[blink]g{CLEAR}"))
    shown = out.getvalue()
    assert hostile_escapes(shown) == []
    for name in ("[bold red]x", LINK, "e\\x1b[2Jz", "two\\nlines", "rtl\\u202eabc", "[/]",
                 "zw\\u200bsp", "[blink]g\\x1b[2J"):
        assert name in shown
    assert "\x1b]8;" not in shown  # no hyperlink


def test_the_matrix_and_the_graph_show_names_literally() -> None:
    console, out = terminal(200)
    console.print(pairwise_matrix(records(HOSTILE_NAMES), title=f"m{TITLE}"))
    graph = dominance_graph(records(HOSTILE_NAMES))
    text = graph_text(graph, cycles(graph), title=f"g{CLEAR}")
    for shown in (out.getvalue(), text):
        assert hostile_escapes(shown) == [], shown
        assert "[bold red]x" in shown and "two\\nlines" in shown
    assert len(text.splitlines()) == 2 + len(HOSTILE_NAMES) * (len(HOSTILE_NAMES) - 1) // 2


def test_markdown_has_no_hidden_characters_and_no_forged_rows() -> None:
    md = Leaderboard([{"agent": n} for n in HOSTILE_NAMES]).to_markdown()
    assert hostile_escapes(md) == []
    assert len(md.splitlines()) == 2 + len(HOSTILE_NAMES)


# -- the live view and plain lines -------------------------------------------------
def test_the_live_view_shows_names_moves_and_the_run_name_literally() -> None:
    console, out = terminal()
    live = LiveObserver(console=console)
    live.run_started(name="[bold red]run", total=4, done=0)
    try:
        a, b = "[bold red]x", f"e{CLEAR}z"
        live.match_started(key="m0", game="rps", agents=[a, b], rounds=10)
        live.round_played(key="m0", round=1, moves={a: "[/]", b: f"{TITLE}two\nlines"},
                          scores={a: 0.0, b: 0.0})
        live.match_started(key="w0", game="creative_writing", agents=["w"], rounds=3)
        live.round_played(key="w0", round=1, moves={"w": f"[/] [{LINK} {CLEAR}"},
                          scores={"w": 0.5})
        live.match_finished(MatchResult(key="m1", game="rps", index=1, seed=1, agents=[a, b],
                                        roles=["p0", "p1"], scores={a: 1.0, b: -1.0},
                                        rounds=10))
        live.notice(f"agent {b} printed [bold]5 lines")
        console.print(live.render(width=120, height=60))
    finally:
        live.run_finished(interrupted=True)
    shown = out.getvalue()
    assert hostile_escapes(shown) == []
    assert "\x1b]8;" not in shown
    for literal_text in ("[bold red]run", "[bold red]x vs e\\x1b[2Jz", "[/]", "two\\nlines",
                         "[bold]5 lines"):
        assert literal_text in shown, literal_text


def test_plain_lines_are_one_line_each_and_show_everything_literally() -> None:
    out = io.StringIO()
    plain = PlainObserver(file=out)
    a, b = "x\nforged line", f"e{CLEAR}z"
    plain.run_started(name=f"r{TITLE}", total=2, done=0)
    plain.match_finished(MatchResult(key=f"k{CLEAR}", game="rps", index=0, seed=0,
                                     agents=[a, b], roles=["p0", "p1"],
                                     scores={a: 1.0, b: -1.0}, rounds=3))
    plain.match_finished(MatchResult(key="k2", game="rps", index=1, seed=0, agents=[a, b],
                                     roles=["p0", "p1"], scores={}, rounds=1, status=FORFEIT,
                                     forfeited_by=b, error=f"Traceback\nValueError: {TITLE}"))
    plain.notice(f"{a} said {CLEAR}")
    plain.run_finished(interrupted=False)
    lines = out.getvalue().splitlines()
    assert len(lines) == 5
    assert hostile_escapes(out.getvalue()) == []
    assert "x\\nforged line" in lines[1] and "e\\x1b[2Jz" in lines[2]


# -- through the CLI ----------------------------------------------------------------
def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["TERM"] = "xterm-256color"
    return {**env, **extra}


def arena_command() -> str:
    return shutil.which("arena", path=str(Path(sys.executable).parent)) or "arena"


def hostile_run(directory: Path) -> None:
    """A finished run whose agents carry hostile names (written through the store: a config
    refuses them)."""
    config = {"name": "[bold]run", "seed": 0, "agents": [
        {"name": n, "type": "uniform_random", "options": {}} for n in HOSTILE_NAMES]}
    with Store.create(directory, config=config) as store:
        for i, rec in enumerate(records(HOSTILE_NAMES)):
            store.save(MatchResult(key=f"rps/{i}", game="rps", index=i, seed=i,
                                   agents=rec["agents"], roles=["player_0", "player_1"],
                                   status=FINISHED, scores=rec["scores"], rounds=4))


@pytest.mark.parametrize("view", [["leaderboard"], ["leaderboard", "--format", "md"],
                                  ["leaderboard", "--bt"], ["matrix"], ["graph"]])
def test_the_views_of_a_run_print_names_literally(tmp_path: Path, view: list[str]) -> None:
    hostile_run(tmp_path / "run")
    for env in (cli_env(), cli_env(FORCE_COLOR="1")):  # piped, and as if on a terminal
        done = subprocess.run([arena_command(), view[0], str(tmp_path / "run"), *view[1:]],
                              capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        assert hostile_escapes(done.stdout) == [], done.stdout
        assert "[bold red]x" in done.stdout and "e\\x1b[2Jz" in done.stdout
        assert "\x1b]8;" not in done.stdout


class Hostile(BaseAgent):
    """Writes text full of markup and terminal escapes."""

    kinds = frozenset({"text"})

    def act(self, observation: Any, action_space: Any) -> str:
        return f"[/] {LINK} {CLEAR}{TITLE} [bold red]loud\nsecond line \u202eevil"


def writer_config(path: Path, *, episodes: int) -> Path:
    path.write_text(
        'name: "[bold red]writing"\nseed: 1\ngame: {id: creative_writing, semantic: false}\n'
        f"format: {{type: solo, episodes: {episodes}}}\nagents:\n"
        f"  - {{name: hostile, type: '{HERE}Hostile'}}\n"
        '  - {name: "[bold red]fixed", type: fixed_text}\n')
    return path


def test_a_live_run_shows_hostile_text_literally_and_keeps_refreshing(tmp_path: Path) -> None:
    config = writer_config(tmp_path / "w.yaml", episodes=40)
    child = pexpect.spawn(arena_command(), ["run", str(config), "--out", str(tmp_path / "run")],
                          cwd=str(tmp_path), env=cli_env(), dimensions=(40, 100),
                          encoding="utf-8", codec_errors="replace", timeout=120)
    raw = ""
    try:
        child.expect(pexpect.EOF)
        raw = child.before or ""
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, raw[-3000:]
    assert hostile_escapes(raw) == []
    assert "\x1b]8;" not in raw and "\x1b]0;" not in raw
    assert "[bold red]writing" in raw  # the run name, literally, in the progress bar
    assert "[bold red]fixed" in raw  # an agent name, in the live view and the final table
    # "[/]" in a text no longer breaks the live view (Rich read it as a closing tag)
    assert not re.search(r"display failed[^\n]*(MarkupError|closing tag)", ANSI.sub("", raw))


def test_plain_output_of_a_run_is_literal(tmp_path: Path) -> None:
    config = writer_config(tmp_path / "w.yaml", episodes=2)
    started = time.monotonic()
    done = subprocess.run([arena_command(), "run", str(config), "--out", str(tmp_path / "run"),
                           "--no-live"], capture_output=True, text=True, env=cli_env(),
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 120
    assert hostile_escapes(done.stdout + done.stderr) == []
    assert "run [bold red]writing:" in done.stdout and "[bold red]fixed" in done.stdout
