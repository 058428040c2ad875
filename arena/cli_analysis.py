"""``arena analyze RUN_DIR...`` and ``arena report RUN_DIR... [--out FILE]``.

* ``analyze`` prints the tables of the analysis (random numbers, predictability and
  exploitability, find rates, writing, families); ``--format json`` prints every number
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


def _f(value: Any, digits: int = 3) -> str:
    from arena.report_html import fmt

    return fmt(value, digits)


def _tables(data: dict[str, Any]) -> list[Any]:
    """Rich tables for every section of the analysis."""
    from rich.table import Table
    from rich.text import Text

    def new(title: str, *headers: str) -> Table:
        t = Table(title=title, title_justify="left", header_style="bold")
        for i, h in enumerate(headers):
            t.add_column(h, justify="left" if i == 0 else "right", overflow="fold")
        return t

    def row(t: Table, *cells: Any) -> None:
        t.add_row(*(Text(str(c)) if isinstance(c, str) else Text(_f(c)) for c in cells))

    out: list[Any] = []
    for key, game in data["games"].items():
        if game["kind"] == "numbers":
            t = new(f"{key}: random numbers", "agent", "N", "χ²", "p", "χ²/N", "KL", "H",
                    "repeats", "unif.", "runs z", "lag-1 r", "policy χ²/N")
            for name, f in game["agents"].items():
                rep = f.get("repeats") or {}
                row(t, name, f["n"], f["chi2"], f["p_value"], f["chi2_per_n"], f["kl_bits"],
                    f["entropy_bits"], rep.get("mean"), rep.get("uniform_mean"), f["runs"]["z"],
                    f["lag1"]["r"], (f.get("exact") or {}).get("chi2_per_n"))
            out.append(t)
        elif game["kind"] == "matrix":
            t = new(f"{key}: predictability and exploitability (opponent's best response "
                    "per round)", "agent", "role", "from", "max p", "most predictable",
                    "BR marg.", "BR cond.", "BR/decision", "expl. cond.")
            for name, f in game["agents"].items():
                for role, r in (f.get("roles") or {}).items():
                    row(t, name, role, r["source"], r["mean_max_probability"],
                        f"{r['most_predictable_state']}→{r['its_move']} "
                        f"{r['its_max_probability']:.2f}", r["br_marginal"],
                        r["br_conditioned"], r["br_per_decision"],
                        r["exploitability_conditioned"])
            out.append(t)
            if "equilibrium" in game:
                eq = game["equilibrium"]["find_rate"]
                t = new(f"{key}: find rates (equilibrium {eq:.3f})", "agent", "as seeker",
                        "95% CI", "found as hider", "95% CI")
                for name, f in game["agents"].items():
                    if r := f.get("find_rate"):
                        s, h = r["as_seeker"], r["as_hider"]
                        row(t, name, s["rate"], f"{_f(s['ci_low'])}–{_f(s['ci_high'])}",
                            h["rate"], f"{_f(h['ci_low'])}–{_f(h['ci_high'])}")
                out.append(t)
        else:
            comps = list(dict.fromkeys(c for f in game["agents"].values()
                                       for c in f["components"]))
            t = new(f"{key}: originality", "agent", "n", "originality", "95% CI", *comps)
            for name, f in game["agents"].items():
                row(t, name, f["answers"], f["originality"],
                    f"{_f(f['ci_low'])}–{_f(f['ci_high'])}",
                    *[f["components"].get(c) for c in comps])
            out.append(t)
    for family, f in data["families"].items():
        kinds = {True: "aligned", False: "base", None: "?"}
        t = new(f"family {family}: base against aligned", "game / metric",
                *[f"{a['name']} ({kinds[a['aligned']]})" for a in f["agents"]])
        for r in f["rows"]:
            row(t, f"{r['game']}: {r['metric']}", *[r["values"].get(a["name"])
                                                    for a in f["agents"]])
        out.append(t)
    return out


def analyze_command(
    directories: list[Path] = DirsArg,
    fmt: str = typer.Option("table", "--format", "-f", help="table or json (every number)."),
    game: str | None = typer.Option(None, "--game", help="Only this game section."),
) -> None:
    """Print the analysis of one or more runs: random numbers, predictability, writing."""
    from arena.report import analyze, to_json

    if fmt not in ANALYZE_FORMATS:
        raise ArenaError(f"unknown --format {fmt!r}; choose one of {', '.join(ANALYZE_FORMATS)}")
    data = analyze(list(directories))
    if game is not None:
        if game not in data["games"]:
            raise ArenaError(f"no game {game!r} in these runs (games: "
                             f"{', '.join(data['games'])})")
        data["games"] = {game: data["games"][game]}
    if fmt == "json":
        sys.stdout.write(to_json(data))
        return
    from rich.console import Console

    console = Console()
    for t in _tables(data):
        console.print(t)
    if not data["families"]:
        console.print("no family tags: add `family:` and `aligned:` to agents in the config "
                      "to compare base and aligned models", style="dim")


def report_command(
    directories: list[Path] = DirsArg,
    out: Path | None = typer.Option(
        None, "--out", help="HTML file (default RUN_DIR/report.html; ./report.html for "
        "several runs). The JSON goes beside it."),
) -> None:
    """Write a self-contained HTML report (plots embedded) and a JSON of every number."""
    from arena.report import write_report

    html_path, json_path, seconds = write_report(list(directories), out)
    size = html_path.stat().st_size
    sys.stdout.write(f"wrote {html_path} ({size / 1024:.0f} KiB) and {json_path} "
                     f"in {seconds:.1f} s\n")


def register(app: typer.Typer) -> None:
    """Add ``analyze`` and ``report`` to ``app``."""
    app.command("analyze")(analyze_command)
    app.command("report")(report_command)
