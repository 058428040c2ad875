"""Oversized configs are refused in one line, fast and small (issue 16, item 12).

Each case runs ``arena run`` as a subprocess with its address space capped at 1 GB of
virtual memory (so it can never use more) and must exit 2 with one line on stderr
within 3 seconds of CPU (wall time is checked loosely: the test machine is shared).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from arena.config import (
    MAX_CONFIG_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
    apply_override,
    load_yaml_text,
    parse_config,
)
from arena.config_checks import MAX_ACTIONS, MAX_ROUNDS, MAX_SCHEDULED, board_nodes
from arena.config_model import MAX_AGENTS, MAX_EPISODES, MAX_MATCHES
from arena.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
AGENTS = "agents:\n  - {name: a, type: uniform_random}\n  - {name: b, type: cycle}\n"


def laughs(levels: int = 9) -> str:
    """A "billion laughs": nine anchors, each a list of nine aliases of the one before
    (9**9 = 387 million strings once expanded), as options of an agent."""
    defs = 'l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'
    for i in range(1, levels):
        defs += f", l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]"
    return ("name: lol\ngame: {id: rps, rounds: 10}\nagents:\n"
            "  - {name: a, type: uniform_random}\n"
            f"  - {{name: b, type: cycle, {defs}}}\n")


CASES = {
    "billion_laughs": laughs(),
    "matches": f"name: m\ngame: rps\nformat: {{type: round_robin, matches: {10**12}}}\n{AGENTS}",
    "rounds": f"name: r\ngame: {{id: rps, rounds: {10**12}}}\n{AGENTS}",
    "grid": f"name: g\ngame: {{id: hide_and_seek, graph: grid-3000x3000}}\n{AGENTS}",
    "complete": f"name: c\ngame: {{id: hide_and_seek, graph: complete-20000}}\n{AGENTS}",
    "huge_board_digits": f"name: d\ngame: {{id: hide_and_seek, graph: line-{'9' * 6000}}}\n"
                         f"{AGENTS}",
    "episodes": ("name: e\ngame: {id: random_number}\n"
                 f"format: {{type: solo, episodes: {10**12}}}\n{AGENTS}"),
    "numbers": f"name: n\ngame: {{id: random_number, low: 0, high: {10**9}}}\n{AGENTS}",
    "length": f"name: n\ngame: {{id: random_number, length: {10**9}}}\n{AGENTS}",
    "n_actions": f"name: n\ngame: {{id: rps, n_actions: {10**9}}}\n{AGENTS}",
    "max_chars": f"name: w\ngame: {{id: creative_writing, max_chars: {10**12}}}\n{AGENTS}",
    "schedule": ("name: s\ngame: rps\nformat: {type: round_robin, matches: 10000}\nagents:\n"
                 + "".join(f"  - {{name: a{i}, type: cycle}}\n" for i in range(20))),
    "agents": "name: s\ngame: rps\nagents:\n" + "".join(
        f"  - {{name: a{i}, type: cycle}}\n" for i in range(3000)),
    "nested": "name: x\nagents: " + "[" * 20000 + "]" * 20000 + "\n",
    "self_alias": "name: x\ngame: rps\nagents: &a\n  - {name: a, type: cycle, x: *a}\n",
    "nodes": "name: x\nx: [" + ",".join(["1"] * (MAX_YAML_NODES + 10)) + "]\n",
    "wide_mapping": "name: x\nx: {" + ",".join(f"k{i}: 1" for i in range(60_000)) + "}\n",
    "long_text_aliases": ("name: x\ngame: rps\nagents:\n  - {name: a, type: cycle}\n"
                          f"  - {{name: b, type: fixed_text, t: &t '{'x' * 200_000}', "
                          "u: [" + ",".join(["*t"] * 60) + "]}\n"),
    "bytes": "name: x\n" + "# padding\n" * (MAX_CONFIG_BYTES // 10 + 10),
    "digits": f"name: x\nseed: {'9' * 5000}\ngame: rps\n{AGENTS}",
}


def _limit_memory() -> None:
    one_gb = 1 << 30
    resource.setrlimit(resource.RLIMIT_AS, (one_gb, one_gb))


@pytest.mark.parametrize("case", list(CASES))
def test_an_oversized_config_is_one_line_exit_2_fast_and_small(tmp_path: Path,
                                                               case: str) -> None:
    path = tmp_path / f"{case}.yaml"
    path.write_text(CASES[case], encoding="utf-8")
    exe = shutil.which("arena", path=str(Path(sys.executable).parent)) or "arena"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run([exe, "run", str(path), "--out", str(tmp_path / "run"), "--no-live"],
                          capture_output=True, text=True, env=env, timeout=60,
                          preexec_fn=_limit_memory)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    assert done.returncode == 2, (done.stdout[-500:], done.stderr[-2000:])
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("arena: error: ")
    assert len(done.stderr) < 500
    assert "Traceback" not in done.stderr and done.stdout == ""
    # the costliest case (composing 50,000 YAML nodes before refusing) takes about 2.7 s
    # of CPU on a quiet 2-core machine and 3.2 s on a loaded one; a parser that went on
    # reading would take many times that
    assert cpu < 6.0, f"{cpu:.2f} s of CPU"
    assert wall < 15.0
    assert not (tmp_path / "run").exists()


# -- in-process: the limits themselves ---------------------------------------------
def base(**changes: object) -> dict:
    data: dict = {"name": "t", "game": {"id": "rps", "rounds": 10},
                  "agents": [{"name": "a", "type": "cycle"}, {"name": "b", "type": "cycle"}]}
    data.update(changes)
    return data


def test_values_at_the_limits_are_accepted() -> None:
    parse_config(base(game={"id": "rps", "rounds": MAX_ROUNDS},
                      format={"type": "round_robin", "matches": MAX_MATCHES}))
    parse_config(base(game={"id": "hide_and_seek", "graph": "grid-25x40", "rounds": 5}))
    parse_config(base(game={"id": "random_number", "low": 1, "high": MAX_ACTIONS},
                      format={"type": "solo", "episodes": MAX_EPISODES},
                      agents=[{"name": "a", "type": "uniform_random"}]))
    assert board_nodes(f"complete-{MAX_ACTIONS}") == MAX_ACTIONS


@pytest.mark.parametrize(("changes", "path"), [
    ({"game": {"id": "rps", "rounds": MAX_ROUNDS + 1}}, "game.rounds"),
    ({"game": {"id": "hide_and_seek", "graph": "grid-32x32"}}, "game.graph"),
    ({"game": {"id": "random_number", "low": 0, "high": MAX_ACTIONS}}, "game.high"),
    ({"format": {"type": "round_robin", "matches": MAX_MATCHES + 1}}, "format.matches"),
    ({"agents": [{"name": f"a{i}", "type": "cycle"} for i in range(MAX_AGENTS + 1)]},
     "agents"),
])
def test_one_past_a_limit_is_refused_at_its_key(changes: dict, path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(base(**changes))
    assert caught.value.path == path


def test_the_whole_schedule_is_counted_before_it_is_built() -> None:
    agents = [{"name": f"a{i}", "type": "cycle"} for i in range(101)]
    # 101 agents: 5050 pairings x 2 seat orders x 10 matches = 101,000 matches
    with pytest.raises(ConfigError, match=f"101,000 matches.*{MAX_SCHEDULED:,}"):
        parse_config(base(agents=agents, format={"type": "round_robin", "matches": 10}))
    parse_config(base(agents=agents, format={"type": "round_robin", "matches": 9}))


def test_yaml_limits_apply_to_set_values_and_python_data_too() -> None:
    with pytest.raises(ValueError, match="nested more than"):
        load_yaml_text("[" * (MAX_YAML_DEPTH + 5) + "]" * (MAX_YAML_DEPTH + 5))
    with pytest.raises(ConfigError, match="too large"):
        apply_override(base(), "agents[1].x=" + laughs().split("b, type: cycle, ")[1][:-2]
                       .join("{}"))
    shared = ["x"] * 1000
    with pytest.raises(ConfigError, match="once aliases are expanded"):
        parse_config(base(agents=[{"name": "a", "type": "cycle", "o": [shared] * 100},
                                   {"name": "b", "type": "cycle"}]))
    looped: list = []
    looped.append(looped)
    with pytest.raises(ConfigError, match="contains it"):
        parse_config(base(agents=[{"name": "a", "type": "cycle", "o": looped},
                                   {"name": "b", "type": "cycle"}]))
