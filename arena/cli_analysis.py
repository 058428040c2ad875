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


def _tables(data: dict[str, Any]) -> list[Any]:
    """Compact Rich tables for every section of the analysis (the JSON has every digit)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    def new(title: str, headers: list[str], caption: str | None = None, text: int = 1,
            wrap: int | None = None) -> Table:
        """The first ``text`` columns are left-aligned text, the others numbers; only
        column ``wrap`` may wrap."""
        t = Table(title=title, caption=caption, title_justify="left", caption_justify="left",
                  header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1))
        for i, h in enumerate(headers):
            t.add_column(h, justify="left" if i < text else "right", no_wrap=i != wrap,
                         overflow="fold")
        return t

    def row(t: Table, *cells: Any) -> None:
        t.add_row(*(Text(c) if isinstance(c, str) else Text(_f(c)) for c in cells))

    out: list[Any] = []
    for key, game in data["games"].items():
        if game["kind"] == "numbers":
            first = next(iter(game["agents"].values()), {})
            uniform = (first.get("repeats") or {}).get("uniform_mean")
            t = new(f"{key}: random numbers", ["agent", "N", "χ²", "p", "χ²/N", "H", "rep.",
                                               "runs z", "lag1", "pol. χ²/N"],
                    caption="H: entropy in bits; rep.: repeats per sequence"
                    + ("" if uniform is None else f" (a uniform sampler: {uniform:.2f})")
                    + "; lag1: serial correlation; pol.: from stored policies")
            for name, f in game["agents"].items():
                row(t, name, f["n"], f["chi2"], f["p_value"], f["chi2_per_n"], f["entropy_bits"],
                    (f.get("repeats") or {}).get("mean"), f["runs"]["z"], f["lag1"]["r"],
                    (f.get("exact") or {}).get("chi2_per_n"))
            out.append(t)
        elif game["kind"] == "matrix":
            t = new(f"{key}: predictability and exploitability",
                    ["agent", "role", "most predictable state", "max p", "marg.", "prev.",
                     "pol."], text=3, wrap=2,
                    caption="max p: mean largest probability over states; marg., prev., pol.: "
                            "exploitability (what a best response earns per round above "
                            "equilibrium) of the marginal strategy, of the strategy given the "
                            "previous round, of each stored policy")
            for name, f in game["agents"].items():
                for role, r in (f.get("roles") or {}).items():
                    row(t, name, "all" if role == "all seats" else role,
                        f"{r['most_predictable_state']} → {r['its_move']} "
                        f"{r['its_max_probability']:.2f}", r["mean_max_probability"],
                        r["exploitability_marginal"], r["exploitability_conditioned"],
                        r["exploitability_per_decision"])
            out.append(t)
            if "equilibrium" in game:
                eq = game["equilibrium"]["find_rate"]
                t = new(f"{key}: find rates (equilibrium {eq:.3f})",
                        ["agent", "as seeker", "95% CI", "found as hider", "95% CI"])
                for name, f in game["agents"].items():
                    if r := f.get("find_rate"):
                        s, h = r["as_seeker"], r["as_hider"]
                        row(t, name, s["rate"], f"{_f(s['ci_low'])}–{_f(s['ci_high'])}",
                            h["rate"], f"{_f(h['ci_low'])}–{_f(h['ci_high'])}")
                out.append(t)
        else:
            comps = list(dict.fromkeys(c for f in game["agents"].values()
                                       for c in f["components"]))
            t = new(f"{key}: originality and its components (means)",
                    ["agent", "n", "orig.", *[SHORT.get(c, c[:8]) for c in comps]])
            for name, f in game["agents"].items():
                row(t, name, f["answers"], f["originality"],
                    *[f["components"].get(c) for c in comps])
            out.append(t)
    for family, f in data["families"].items():
        kinds = {True: "aligned", False: "base", None: "?"}
        t = new(f"family {family}: base against aligned",
                ["game: metric", *[f"{a['name']} ({kinds[a['aligned']]})" for a in f["agents"]]],
                wrap=0)
        for r in f["rows"]:
            row(t, f"{r['game']}: {r['metric']}", *[r["values"].get(a["name"])
                                                    for a in f["agents"]])
        out.append(t)
    return out


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
        if game not in data["games"]:
            raise ArenaError(f"no game {game!r} in these runs (games: "
                             f"{', '.join(data['games'])})")
        data["games"] = {game: data["games"][game]}
        for family in data["families"].values():
            family["rows"] = [r for r in family["rows"] if r["game"] == game]
        data["families"] = {k: f for k, f in data["families"].items() if f["rows"]}
    if fmt == "json":
        sys.stdout.write(to_json(data))
        return
    from rich.console import Console

    console = Console()
    for t in _tables(data):
        console.print(t)
    from arena.report_human_views import tables as human_tables

    for t in human_tables(data):
        console.print(t)
    if not any(a.get("family") for a in data["agents"].values()):
        console.print("no family tags: add `family:` and `aligned:` to agents in the config "
                      "to compare base and aligned models", style="dim")


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
    size = html_path.stat().st_size
    sys.stdout.write(f"wrote {html_path} ({size / 1024:.0f} KiB) and {json_path} "
                     f"in {seconds:.1f} s\n")


def register(app: typer.Typer) -> None:
    """Add ``analyze`` and ``report`` to ``app``."""
    app.command("analyze")(analyze_command)
    app.command("report")(report_command)
