"""``arena analyze RUN_DIR...`` and ``arena report RUN_DIR... [--out FILE]``.

* ``analyze`` prints the tables of the analysis (random numbers, predictability and
  exploitability, find rates, writing, families, human judgements, the trade-off against
  ``--benchmarks``); ``--format json`` prints every number
  instead (the same JSON that ``report`` writes; keys in :mod:`arena.report`).
* ``report`` writes one self-contained HTML file (default ``RUN_DIR/report.html``, or
  ``./report.html`` for several runs) and ``<same name>.json`` beside it.

Several run directories are merged (:mod:`arena.report_data`). Everything heavy
(scipy, matplotlib, the envs) is imported inside the commands.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from arena.errors import ArenaError

ANALYZE_FORMATS = ("table", "json")
DirsArg = typer.Argument(..., help="Run directories (each holds arena.db); several are merged.",
                         show_default=False, metavar="RUN_DIR...")


SHORT = {"lexical_novelty": "novel", "distinct_n": "distinct", "semantic_distance": "semantic",
         "too_short": "short", "repetition": "repeat", "prompt_echo": "echo",
         "gibberish": "gibber"}


def _f(value: Any) -> str:
    """A number for a narrow terminal column: two decimals, tiny ones as ``4e-03``."""
    if value is None:
        return "–"
    if isinstance(value, bool) or isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if abs(value) < 1e-12:
            return "0.00"
        return f"{value:.2f}" if abs(value) >= 0.005 else f"{value:.0e}"
    return str(value)


def _tables(data: dict[str, Any], *, width: int = 80) -> list[Any]:
    """Tables for every section of the analysis, fitted to ``width`` columns without ever
    cutting a number (:mod:`leaderboards.fit`); the JSON has every digit."""
    from leaderboards.fit import Col, FitTable

    def row(t: FitTable, *cells: Any) -> None:
        t.add_row(*(c if isinstance(c, str) else _f(c) for c in cells))

    # names of up to 16 characters (smollm2-instruct) stay whole while columns can go
    name = Col("agent", number=False, min_width=16)
    out: list[Any] = []
    for key, game in data["games"].items():
        if game["kind"] == "numbers":
            first = next(iter(game["agents"].values()), {})
            uniform = (first.get("repeats") or {}).get("uniform_mean")
            t = FitTable([name, Col("N"), Col("χ²", drop=5), Col("p", drop=7), Col("χ²/N"),
                          Col("H", drop=6), Col("rep.", drop=4), Col("runs z", drop=2),
                          Col("lag1", drop=3), Col("pol. χ²/N", drop=1)],
                         title=f"{key}: random numbers",
                         caption="N: numbers drawn; H: entropy in bits; rep.: repeats per "
                         "sequence" + ("" if uniform is None else
                                       f" (a uniform sampler: {uniform:.2f})")
                         + "; lag1: serial correlation; pol.: from stored policies")
            for agent, f in game["agents"].items():
                row(t, agent, f["n"], f["chi2"], f["p_value"], f["chi2_per_n"],
                    f["entropy_bits"], (f.get("repeats") or {}).get("mean"), f["runs"]["z"],
                    f["lag1"]["r"], (f.get("exact") or {}).get("chi2_per_n"))
            out.append(t)
            out.extend(_counts(key, game, width))
        elif game["kind"] == "matrix":
            t = FitTable([name, Col("role", number=False, min_width=6),
                          Col("state → move", number=False, min_width=12, wrap=True),
                          Col("its p", drop=1), Col("max p"), Col("marg.", drop=3),
                          Col("prev.", drop=2), Col("pol.")],
                         title=f"{key}: predictability and exploitability",
                         caption="state → move: the most predictable state (the previous "
                                 "round's moves) and its likeliest move; its p: the move's "
                                 "probability in that state; max p: mean "
                                 "largest probability over states; marg., prev., pol.: "
                                 "exploitability (what a best response earns per round above "
                                 "equilibrium) of the marginal strategy, of the strategy "
                                 "given the previous round, of each stored policy")
            for agent, f in game["agents"].items():
                for role, r in (f.get("roles") or {}).items():
                    row(t, agent, "all" if role == "all seats" else role,
                        f"{r['most_predictable_state']} → {r['its_move']}",
                        r["its_max_probability"], r["mean_max_probability"],
                        r["exploitability_marginal"], r["exploitability_conditioned"],
                        r["exploitability_per_decision"])
            out.append(t)
            if "equilibrium" in game:
                eq = game["equilibrium"]["find_rate"]
                t = FitTable([name, Col("as seeker"), Col("seeker 95% CI", drop=2),
                              Col("found as hider"), Col("hider 95% CI", drop=1)],
                             title=f"{key}: find rates (equilibrium {eq:.3f})")
                for agent, f in game["agents"].items():
                    if r := f.get("find_rate"):
                        s, h = r["as_seeker"], r["as_hider"]
                        row(t, agent, s["rate"], f"{_f(s['ci_low'])}–{_f(s['ci_high'])}",
                            h["rate"], f"{_f(h['ci_low'])}–{_f(h['ci_high'])}")
                out.append(t)
        else:
            comps = list(dict.fromkeys(c for f in game["agents"].values()
                                       for c in f["components"]))
            t = FitTable([name, Col("n"), Col("orig."),
                          *[Col(SHORT.get(c, c[:8]), drop=len(comps) - i)
                            for i, c in enumerate(comps)]],
                         title=f"{key}: originality and its components (means)")
            for agent, f in game["agents"].items():
                row(t, agent, f["answers"], f["originality"],
                    *[f["components"].get(c) for c in comps])
            out.append(t)
    for family, f in data["families"].items():
        kinds = {True: "aligned", False: "base", None: "untagged"}
        members = f["agents"]
        # columns headed by what each model is, so long model names cost no width
        labels = [kinds[a["aligned"]] for a in members]
        heads = [label if labels.count(label) == 1 else f"{label} {labels[:i + 1].count(label)}"
                 for i, label in enumerate(labels)]
        t = FitTable([Col("game: metric", number=False, min_width=14, wrap=True),
                      *[Col(h, drop=len(members) - i) for i, h in enumerate(heads)]],
                     title=f"family {family}: base against aligned",
                     notes=["; ".join(f"{h}: {a['name']}" for h, a in zip(heads, members,
                                                                          strict=True))])
        for r in f["rows"]:
            row(t, f"{r['game']}: {r['metric']}", *[r["values"].get(a["name"])
                                                    for a in members])
        out.append(t)
    return out


def _counts(key: str, game: dict[str, Any], width: int) -> list[Any]:
    """How often each agent drew each number, in as few blocks of numbers as fit."""
    from leaderboards.fit import Col, FitTable, split

    agents = game["agents"]
    values = next(iter(agents.values()), {}).get("values") or []

    def make(columns: range) -> FitTable:
        shown = list(columns)
        span = "" if len(shown) == len(values) else \
            f" ({values[shown[0]]}–{values[shown[-1]]})"
        t = FitTable([Col("agent", number=False, min_width=10),
                      *[Col(str(values[j])) for j in shown]],
                     title=f"{key}: counts per number{span}")
        for agent, f in agents.items():
            counts = f.get("counts") or []
            t.add_row(agent, *[str(counts[j]) if j < len(counts) else "–" for j in shown])
        return t

    return split(make, len(values), width) if values else []


def analyze_command(
    directories: list[Path] = DirsArg,
    fmt: str = typer.Option("table", "--format", "-f", help="table or json (every number)."),
    game: str | None = typer.Option(None, "--game", help="Only this game section."),
    benchmarks: Path | None = typer.Option(
        None, "--benchmarks", help="CSV of model, benchmark, score rows (matched by agent "
        "name) for the trade-off against the unpredictability measures."),
) -> None:
    """Print the analysis of one or more runs: random numbers, predictability, writing,
    human judgements, the trade-off against benchmark scores."""
    from arena.report import analyze, to_json

    if fmt not in ANALYZE_FORMATS:
        raise ArenaError(f"unknown --format {fmt!r}; choose one of {', '.join(ANALYZE_FORMATS)}")
    data = analyze(list(directories), benchmarks=benchmarks)
    if game is not None:
        _only(data, game)
    if fmt == "json":
        sys.stdout.write(to_json(data))
        return
    from rich.console import Console

    from arena.unpredictability import tables as unpredictability_tables

    console = Console()
    for note in data.get("notes") or ():
        console.print(note, style="bold", markup=False, highlight=False)
    for t in [*_tables(data, width=console.width), *unpredictability_tables(data)]:
        console.print(t)
    from arena.report_human_views import tables as human_tables

    for t in human_tables(data):
        console.print(t)
    if not any(a.get("family") for a in data["agents"].values()):
        console.print("no family tags: add `family:` and `aligned:` to agents in the config "
                      "to compare base and aligned models", style="dim")


def _only(data: dict[str, Any], game: str) -> None:
    """Keep the sections of ``game``: a section key, or a game id with every variant of
    it (runs that played it with different arguments), each under its own heading."""
    keys = [game] if game in data["games"] else \
        [k for k, g in data["games"].items() if g["game"] == game]
    if not keys:
        raise ArenaError(f"no game {game!r} in these runs (games: "
                         f"{', '.join(data['games'])})")
    data["games"] = {k: data["games"][k] for k in keys}
    if "unpredictability" in data:
        data["unpredictability"] = {k: v for k, v in data["unpredictability"].items()
                                    if k in keys}
    for family in data["families"].values():
        family["rows"] = [r for r in family["rows"] if r["game"] in keys]
    data["families"] = {k: f for k, f in data["families"].items() if f["rows"]}


def report_command(
    directories: list[Path] = DirsArg,
    out: Path | None = typer.Option(
        None, "--out", help="HTML file (default RUN_DIR/report.html; ./report.html for "
        "several runs). The JSON goes beside it."),
    benchmarks: Path | None = typer.Option(
        None, "--benchmarks", help="CSV of model, benchmark, score rows (as for analyze)."),
) -> None:
    """Write a self-contained HTML report (plots embedded) and a JSON of every number."""
    from arena.report import write_report

    html_path, json_path, seconds = write_report(list(directories), out, benchmarks=benchmarks)
    _print_notes(json_path)
    size = html_path.stat().st_size
    sys.stdout.write(f"wrote {html_path} ({size / 1024:.0f} KiB) and {json_path} "
                     f"in {seconds:.1f} s\n")


def _print_notes(json_path: Path) -> None:
    """The analysis' notes (runs counted once), one line each."""
    import json

    try:
        notes = json.loads(json_path.read_text(encoding="utf-8")).get("notes") or []
    except (OSError, ValueError):
        return
    for note in notes:
        sys.stdout.write(f"note: {note}\n")


def register(app: typer.Typer) -> None:
    """Add ``analyze`` and ``report`` to ``app``."""
    app.command("analyze")(analyze_command)
    app.command("report")(report_command)
