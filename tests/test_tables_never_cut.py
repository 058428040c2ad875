"""At 60 and 80 columns and piped, every number a table of ``analyze``, ``leaderboard`` and
``matrix`` shows is the JSON's number (to the digits shown); a column left out is named.

The tables are parsed as a reader would: a number column is right-aligned under its
header, so the number of a row is the word that ends where the header ends.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import quickstart_bots

REPO = Path(__file__).resolve().parents[1]
ARENA = shutil.which("arena", path=str(Path(sys.executable).parent)) or "arena"
WIDTHS = [60, 80, None]  # None: piped, no COLUMNS


def arena(*args: object, width: int | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["PYTHONPATH"] = str(REPO)
    if width is not None:
        env["COLUMNS"] = str(width)
    done = subprocess.run([ARENA, *map(str, args)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("tables")
    config = quickstart_bots()
    config["games"][0]["rounds"] = 30
    config["games"][1]["rounds"] = 40
    path = base / "q.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    arena("run", path, "--no-live", "--out", base / "run")
    return base / "run"


def tolerance(token: str) -> float:
    """Half a unit of the last digit shown."""
    token = token.rstrip("%")
    mantissa, _, exponent = token.partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 0.5 * 10.0 ** (int(exponent or 0) - decimals) + 1e-12


def number(token: str) -> float | None:
    if token in ("–", "-", "·"):
        return None
    if token.endswith("%"):
        return float(token[:-1]) / 100
    return float(token)


def same(token: str, value: Any) -> bool:
    shown = number(token)
    if shown is None or value is None:
        return shown is None and value is None
    scale = 100 if token.endswith("%") else 1
    return abs(shown - value) <= tolerance(token) / scale


def tables(text: str) -> list[dict[str, Any]]:
    """Every table: its title line, header line, rows (lines under the rule until a line
    that is not part of it) and the lines after it up to the next table."""
    lines = text.splitlines()
    found = []
    for i, line in enumerate(lines):
        if line.strip() and set(line.strip()) == {"─"}:
            rows = []  # up to the next table's rule: rows, caption and notes
            for row in lines[i + 1:]:
                if set(row.strip()) == {"─"}:
                    break
                rows.append(row)
            title = next(x for x in reversed(lines[:i - 1]) if x.strip())
            found.append({"title": title.strip(), "header": lines[i - 1], "rows": rows,
                          "after": "\n".join(rows)})
    return found


def cell(line: str, end: int) -> str | None:
    """The word of ``line`` that ends at column ``end`` (right-aligned under its header)."""
    if len(line) < end or (len(line) > end and line[end] != " "):
        return None
    start = line.rfind(" ", 0, end) + 1
    word = line[start:end]
    return word or None


def header_ends(header: str, names: list[str]) -> dict[str, int]:
    """Where each header in ``names`` (in order) ends; absent ones are left out."""
    out, at = {}, 0
    for name in names:
        match = re.compile(r"(?:^|(?<= ))" + re.escape(name) + r"(?= |$)").search(header, at)
        if match:
            out[name] = match.end()
            at = match.end()
    return out


def check(table: dict[str, Any], width: int | None, columns: dict[str, Any],
          key_of: Any, rows_of: Any) -> int:
    """Compare every number column of ``table`` with the JSON: ``columns`` maps a header
    to a function of the JSON row; ``key_of(line)`` names a row, ``rows_of(key)`` finds
    its JSON. Returns how many cells were compared."""
    ends = header_ends(table["header"], list(columns))
    missing = [h for h in columns if h not in ends]
    if missing:  # left out: named in the line under the table
        note = table["after"].replace("\n", " ")
        assert "not shown at" in note, (table["title"], missing, width)
        for h in missing:
            assert h in note, (h, note)
    compared = 0
    for line in table["rows"]:
        if line.startswith(" ") and not line.strip()[:1].isdigit():
            continue  # a wrapped text cell's second line
        try:
            expected = rows_of(key_of(line))
        except (KeyError, IndexError, ValueError):
            continue  # not a row: a caption, a note, the next table's title
        key = key_of(line)
        for header, end in ends.items():
            token = cell(line, end)
            assert token is not None, (table["title"], header, line, width)
            value = columns[header](expected)
            assert same(token, value), (table["title"], key, header, token, value, width)
            compared += 1
    return compared


def dig(*path: str) -> Any:
    def get(row: dict[str, Any]) -> Any:
        for part in path:
            row = (row or {}).get(part)
        return row
    return get


NUMBERS = {"N": dig("n"), "χ²": dig("chi2"), "p": dig("p_value"), "χ²/N": dig("chi2_per_n"),
           "H": dig("entropy_bits"), "rep.": dig("repeats", "mean"), "runs z": dig("runs", "z"),
           "lag1": dig("lag1", "r"), "pol. χ²/N": dig("exact", "chi2_per_n")}
MATRIX = {"its p": dig("its_max_probability"), "max p": dig("mean_max_probability"),
          "marg.": dig("exploitability_marginal"), "prev.": dig("exploitability_conditioned"),
          "pol.": dig("exploitability_per_decision")}


@pytest.mark.parametrize("width", WIDTHS)
def test_analyze_tables_show_the_json_numbers(run_dir: Path, width: int | None) -> None:
    data = json.loads(arena("analyze", run_dir, "--format", "json"))
    text = arena("analyze", run_dir, width=width)
    assert all(len(line) <= (width or 80) for line in text.splitlines())
    found = {t["title"]: t for t in tables(text)}
    agents = data["games"]["random_number"]["agents"]
    compared = check(found["random_number: random numbers"], width, NUMBERS,
                     lambda line: line.split()[0], lambda k: agents[k])
    counts = next(t for title, t in found.items() if "counts per number" in title)
    values = [str(v) for v in next(iter(agents.values()))["values"]]
    compared += check(counts, width,
                      {v: (lambda row, i=i: row["counts"][i]) for i, v in enumerate(values)},
                      lambda line: line.split()[0], lambda k: agents[k])
    for game in ("rps", "hide_and_seek"):
        figures = data["games"][game]["agents"]

        def role_row(key: tuple[str, str], figures: dict = figures) -> dict:
            agent, role = key
            return figures[agent]["roles"]["all seats" if role == "all" else role]

        compared += check(found[f"{game}: predictability and exploitability"], width, MATRIX,
                          lambda line: tuple(line.split()[:2]), role_row)
    assert compared > 100


@pytest.mark.parametrize("width", WIDTHS)
def test_leaderboard_and_matrix_show_the_json_numbers(run_dir: Path, width: int | None) -> None:
    from leaderboards.table import COLUMNS

    boards = json.loads(arena("leaderboard", run_dir, "--format", "json"))
    text = arena("leaderboard", run_dir, width=width)
    compared = 0
    for t in tables(text):
        rows = {r["agent"]: r for r in boards[t["title"]]}
        keys = [k for k in next(iter(rows.values())) if k != "agent"]
        compared += check(t, width, {COLUMNS[k].short: dig(k) for k in keys},
                          lambda line: line.split()[1], lambda k, rows=rows: rows[k])
    matrices = json.loads(arena("matrix", run_dir, "--format", "json"))
    text = arena("matrix", run_dir, width=width)
    assert all(len(line) <= (width or 80) for line in text.splitlines())
    legend = dict(re.findall(r"(\S+) = (\S+?)(?:,|$)", " ".join(
        line for line in text.splitlines() if line.startswith("columns:") or " = " in line)))
    game = None
    for t in tables(text):  # a block without a title continues the game above it
        game = next((g for g in matrices if t["title"] == g), game)
        m = matrices[game]
        names = m["agents"]
        columns = {}
        for j, name in enumerate(names):
            alias = next((a for a, n in legend.items() if n == name), name)
            columns[alias] = (lambda row, j=j: row[j])
        ends = header_ends(t["header"], [*columns, "mean"])
        assert ends, t["header"]
        for line in t["rows"]:
            if line.startswith(" ") or not line.strip() or line.split()[0] not in names:
                continue
            i = names.index(line.split()[0])
            for alias, end in ends.items():
                if alias == "mean":
                    continue
                token = cell(line, end)
                value = columns[alias](m["values"][i])
                assert same(token, value), (alias, line, token, value, width)
                compared += 1
    assert compared > 50


def test_matrix_names_its_columns_and_fits_one_block_at_80(run_dir: Path) -> None:
    text = arena("matrix", run_dir, "--game", "rps", width=80)
    headers = [line.split() for line in text.splitlines() if line.startswith("agent ")]
    assert len(headers) == 1 and "1" not in headers[0] and headers[0][-1] == "mean"
    assert "columns: ioca = iocaine" in text


def test_family_columns_are_headed_by_kind_so_long_model_names_fit_60_columns() -> None:
    import io

    from rich.console import Console

    from arena.cli_analysis import _tables

    members = [{"name": "a-very-long-base-model-name-of-a-family", "aligned": False},
               {"name": "a-very-long-aligned-model-name-of-a-family", "aligned": True}]
    data = {"games": {}, "families": {"f": {"agents": members, "rows": [
        {"game": "rps", "metric": "net per round",
         "values": {members[0]["name"]: 0.123456, members[1]["name"]: -0.0012}}]}}}
    console = Console(width=60, file=io.StringIO(), record=True)
    for table in _tables(data, width=60):
        console.print(table)
    text = console.export_text()
    row = next(line for line in text.splitlines() if line.startswith("rps: net per round"))
    assert row.split()[-2:] == ["0.12", "-1e-03"] and "not shown" not in text
    assert "base: a-very-long-base-model-name-of-a-family" in text.replace("\n", " ")
