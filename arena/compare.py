"""``arena compare A B``: two runs side by side, with a bootstrap interval per difference.

For every agent in both runs and every game both played, each measure of
:mod:`leaderboards.compare` (χ²/N and entropy of the numbers said, what a best response
earns per round, the find rate as seeker, originality, and the TrueSkill μ of match games):
its value in run A (``a``) and in run B (``b``), ``diff = b − a`` and the 95% interval of
the difference from resampling matches or episodes (``lo``, ``hi``); a difference is
significant when its interval excludes 0.

JSON (``--format json``): ``format`` (``"arena-compare"``), ``version``, ``a``/``b`` (each
run's ``directory``, ``label``, ``config_sha256``), ``same_matches``, ``notes``,
``resamples``, ``seed``, ``games.<game>.agents.<name>.<measure>`` and
``agents.<name>.<measure>`` = ``{a, b, diff, lo, hi, significant}``; under ``agents`` a
measure an agent has in several games is named ``<measure> (<game>)``.

Runs with the same config and seed (the same config hash) hold the same matches: they
are compared match by match (a paired bootstrap), so a run given twice differs by
exactly 0, and a note says so.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import typer

from arena.errors import ArenaError

FORMAT = "arena-compare"
VERSION = 1
FORMATS = ("table", "json")
MEASURES = {"chi2_per_n": "χ²/N", "entropy_bits": "entropy (bits)",
            "br_per_round": "best response earns/round", "find_rate": "find rate (seeker)",
            "originality": "originality", "rating": "rating (TrueSkill μ)"}


def run_units(directory: Path) -> dict[str, Any]:
    """One run's measures as :class:`leaderboards.compare.Units`, by game and agent, with
    what its ratings need."""
    from arena.cli_views import rating_settings
    from arena.export import config_sha256
    from arena.report_data import load_runs
    from arena.store import Store

    with Store.open(directory) as store:
        config = store.run_info().get("config") or {}
    loaded = load_runs([directory])
    margin_sd, _ = rating_settings(config)
    games = {}
    for section in loaded.sections.values():
        games[section.game] = {"section": section, "agents": measures(section),
                               "margin_sd": margin_sd}
    return {"directory": str(directory), "label": loaded.runs[0].label,
            "config_sha256": config_sha256(config), "games": games}


def measures(section: Any) -> dict[str, dict[str, Any]]:
    """Agent -> measure -> Units for one game section."""
    from envs import get_game
    from leaderboards import compare as lc

    kind = get_game(section.game).kind
    records = section.records
    players = list(dict.fromkeys(a for r in records for a in r["agents"]))
    out: dict[str, dict[str, Any]] = {a: {} for a in players}
    if kind == "numbers":
        from envs import make_game
        from leaderboards.analysis_numbers import number_sequences

        env = make_game(section.game, **section.args)
        low, high = env.unwrapped.low, env.unwrapped.high
        env.close()
        for agent in players:
            sequences = [(f"{r['key']}/{j}", s) for r in records
                         for j, s in enumerate(number_sequences([r], agent)[0])]
            out[agent]["chi2_per_n"], out[agent]["entropy_bits"] = lc.numbers_units(
                sequences, low=low, high=high)
    elif kind == "matrix":
        from arena.report_data import matrix_info
        from leaderboards.analysis_games import role_classes

        info = matrix_info(section.game, section.args)
        classes = role_classes(info["payoffs"])
        for agent in players:
            for label, units in lc.matrix_units(
                    records, agent, classes=classes, payoffs=info["payoffs"],
                    n_actions=len(info["action_names"])).items():
                key = "br_per_round" if label == "all seats" else f"br_per_round ({label})"
                out[agent][key] = units
            if "seeker_role" in info:
                found = lc.find_units(records, agent, seeker_role=info["seeker_role"])
                if found.keys:
                    out[agent]["find_rate"] = found
    else:
        from arena.report_data import replay_writing

        answers, _ = replay_writing(section)
        for agent in players:
            out[agent]["originality"] = lc.mean_units(
                [(f"{a['episode']}:{i}", a["originality"])
                 for i, a in enumerate(x for x in answers if x["agent"] == agent)])
    return out


def _rate(game: str, section: Any, margin_sd: float) -> Any:
    """TrueSkill μ by agent from a list of the game's records, by the run's rating rule."""
    from arena.cli_views import rating_options
    from leaderboards import build_leaderboard

    rule = rating_options(game, margin_sd=margin_sd, args=section.args)

    def rate(records: list[Any]) -> dict[str, float]:
        board = build_leaderboard(records, draw_probability=section.draw_probability, **rule)
        return {row["agent"]: float(row["mu"]) for row in board.rows}

    return rate


def compare(a_dir: Path, b_dir: Path, *, seed: int = 0, game: str | None = None,
            resamples: int | None = None) -> dict[str, Any]:
    """Every difference between the runs in ``a_dir`` and ``b_dir`` (see the module docstring)."""
    from envs import get_game
    from leaderboards import compare as lc

    a, b = run_units(a_dir), run_units(b_dir)
    rng = np.random.default_rng(seed)
    paired = a["config_sha256"] == b["config_sha256"]
    notes = []
    if paired:
        notes.append(f"{a['label']} and {b['label']} have the same config and seed, so they "
                     "hold the same matches: compared match by match, counted once")
    games = [g for g in a["games"] if g in b["games"] and (game is None or g == game)]
    if game is not None and not games:
        raise ArenaError(f"no game {game!r} in both runs (A: {', '.join(a['games'])}; "
                         f"B: {', '.join(b['games'])})")
    if not games:
        raise ArenaError("the runs share no game to compare")
    resamples = resamples or lc.RESAMPLES
    out_games: dict[str, Any] = {}
    for g in games:
        ga, gb = a["games"][g], b["games"][g]
        if ga["section"].args != gb["section"].args:
            notes.append(f"{g}: the runs played it with different arguments "
                         f"({ga['section'].args} against {gb['section'].args})")
        agents = [x for x in ga["agents"] if x in gb["agents"]]
        rows: dict[str, dict[str, Any]] = {x: {} for x in agents}
        for agent in agents:
            ma, mb = ga["agents"][agent], gb["agents"][agent]
            for measure in [m for m in ma if m in mb]:
                rows[agent][measure] = lc.difference(ma[measure], mb[measure], rng,
                                                     paired=paired, resamples=resamples)
        if not get_game(g).solo and agents:
            ratings = lc.rating_differences(
                ga["section"].records, gb["section"].records,
                _rate(g, ga["section"], ga["margin_sd"]), _rate(g, gb["section"], gb["margin_sd"]),
                agents, rng, paired=paired,
                resamples=min(resamples, lc.RATING_RESAMPLES))
            for agent in agents:
                rows[agent]["rating"] = ratings[agent]
        out_games[g] = {"args_a": ga["section"].args, "args_b": gb["section"].args,
                        "agents": rows}
    from arena.report import plain

    return plain({"format": FORMAT, "version": VERSION,
                  "a": {k: a[k] for k in ("directory", "label", "config_sha256")},
                  "b": {k: b[k] for k in ("directory", "label", "config_sha256")},
                  "same_matches": paired, "notes": notes, "resamples": resamples,
                  "seed": seed, "games": out_games, "agents": _flat(out_games)})


def _flat(games: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Agent -> measure -> row across games; a measure in several games names its game."""
    seen: dict[str, dict[str, int]] = {}
    for game in games.values():
        for agent, rows in game["agents"].items():
            for measure in rows:
                seen.setdefault(agent, {}).setdefault(measure, 0)
                seen[agent][measure] += 1
    out: dict[str, dict[str, Any]] = {}
    for g, game in games.items():
        for agent, rows in game["agents"].items():
            for measure, row in rows.items():
                key = measure if seen[agent][measure] == 1 else f"{measure} ({g})"
                out.setdefault(agent, {})[key] = row
    return out


def _label(measure: str) -> str:
    base, _, role = measure.partition(" (")
    return MEASURES.get(base, base) + (f" ({role}" if role else "")


def tables(data: dict[str, Any]) -> list[Any]:
    """One table per game: agent, measure, A, B, B − A, its 95% interval, significance."""
    from leaderboards.fit import Col, FitTable

    def f(value: Any) -> str:
        return "–" if value is None else f"{value:.3g}" if abs(value) < 0.001 and value \
            else f"{value:.3f}"

    out = []
    for g, game in data["games"].items():
        t = FitTable([Col("agent", number=False, min_width=10),
                      Col("measure", number=False, min_width=10, wrap=True),
                      Col("A", drop=2), Col("B", drop=1), Col("B − A"),
                      Col("95% CI of B − A"), Col("")],
                     title=f"{g}: A = {data['a']['label']}, B = {data['b']['label']}",
                     caption="*: the interval excludes 0 (bootstrap over matches or "
                             f"episodes, {data['resamples']} resamples; ratings fewer)")
        for agent, rows in game["agents"].items():
            for measure, r in rows.items():
                ci = "–" if r["lo"] is None else f"{f(r['lo'])} to {f(r['hi'])}"
                t.add_row(agent, _label(measure), f(r["a"]), f(r["b"]),
                          "–" if r["diff"] is None else f"{r['diff']:+.3f}", ci,
                          "*" if r["significant"] else "")
        out.append(t)
    return out


def compare_command(
    a: Path = typer.Argument(..., help="Run A (the reference).", show_default=False),
    b: Path = typer.Argument(..., help="Run B (differences are B − A).", show_default=False),
    fmt: str = typer.Option("table", "--format", "-f", help="table or json."),
    game: str | None = typer.Option(None, "--game", help="Only this game."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
) -> None:
    """Compare two runs: each agent's measures in both, their differences and 95% intervals."""
    if fmt not in FORMATS:
        raise ArenaError(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")
    data = compare(a, b, seed=seed, game=game)
    if fmt == "json":
        sys.stdout.write(json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n")
        return
    from rich.console import Console

    console = Console()
    for note in data["notes"]:
        console.print(note, style="bold", markup=False, highlight=False)
    for t in tables(data):
        console.print(t)


def register(app: typer.Typer) -> None:
    """Add ``compare`` to ``app``."""
    app.command("compare")(compare_command)
