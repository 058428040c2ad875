"""``arena rate export`` / ``arena rate import`` and the ``human`` section of the analysis.

Ratings that follow a known rule are imported; the Bradley–Terry strengths, Krippendorff's
α and Spearman's ρ of ``arena analyze --format json`` are checked against values this
file computes on its own from the CSV and the pairs' writers. A bad file, or the same
file twice, leaves the database as it was. A run from before the ratings tables reads.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, stats

from tests.arena.test_rating_page import arena, writers_run

RATERS = ("ann", "bob", "cyd")
# the rule: on originality the template wins, then the fixed text, then the markup;
# on pleasantness the other way round; overall preference follows pleasantness
ORIGINAL = {"writer_template": 2, "writer_fixed": 1, "writer_markup": 0}
PLEASANT = {"writer_template": 0, "writer_fixed": 1, "writer_markup": 2}


def pairs_of(run: Path) -> dict[str, tuple[str, str, str | None, int]]:
    conn = sqlite3.connect(run / "arena.db")
    try:
        return {p: (left, right, rep, pos) for p, left, right, rep, pos in conn.execute(
            "SELECT pair_id, left_agent, right_agent, repeat_of, position FROM rating_pairs")}
    finally:
        conn.close()


def dump(run: Path) -> list[str]:
    conn = sqlite3.connect(run / "arena.db")
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def rule_rows(pairs: dict[str, tuple[str, str, str | None, int]]) -> list[tuple[str, ...]]:
    """Each rater's answers by the rule, with known slips: cyd turns every third
    originality answer around; bob calls every fourth preference a tie."""
    rows = []
    for pid, (left, right, _, pos) in sorted(pairs.items()):
        for rater in RATERS:
            for criterion, rank in (("original", ORIGINAL), ("pleasant", PLEASANT),
                                    ("preferred", PLEASANT)):
                choice = "left" if rank[left] > rank[right] else "right"
                if rater == "cyd" and criterion == "original" and pos % 3 == 0:
                    choice = {"left": "right", "right": "left"}[choice]
                if rater == "bob" and criterion == "preferred" and pos % 4 == 0:
                    choice = "tie"
                rows.append((rater, pid, criterion, choice))
    return rows


def write_csv(path: Path, rows: list[tuple[str, ...]],
              header: tuple[str, ...] = ("rater", "pair_id", "criterion", "choice")) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def my_bt(rows: list[tuple[str, ...]], pairs: dict, criterion: str) -> dict[str, float]:
    """Maximum likelihood strengths with 0.25 virtual wins each way per pair of writers."""
    names = sorted({w for p in pairs.values() for w in p[:2]})
    wins = np.zeros((len(names), len(names)))
    for _, pid, crit, choice in rows:
        if crit != criterion:
            continue
        a, b = (names.index(w) for w in pairs[pid][:2])
        score = {"left": 1.0, "tie": 0.5, "right": 0.0}[choice]
        wins[a, b] += score
        wins[b, a] += 1 - score
    wins += 0.25 * (1 - np.eye(len(names)))

    def nll(theta: np.ndarray) -> float:
        diff = theta[:, None] - theta[None, :]
        return float(-(wins * -np.logaddexp(0, -diff)).sum())

    theta = optimize.minimize(nll, np.zeros(len(names)), method="BFGS",
                              options={"gtol": 1e-10}).x
    theta -= theta.mean()
    return dict(zip(names, theta, strict=True))


def my_alpha(rows: list[tuple[str, ...]], criterion: str) -> float:
    """Krippendorff's nominal α from the coincidence matrix of the pairs 2+ raters judged."""
    units: dict[str, list[str]] = defaultdict(list)
    for _, pid, crit, choice in rows:
        if crit == criterion:
            units[pid].append(choice)
    values = sorted({v for u in units.values() for v in u})
    o = np.zeros((len(values), len(values)))
    for u in units.values():
        m = len(u)
        if m < 2:
            continue
        for i, a in enumerate(u):
            for j, b in enumerate(u):
                if i != j:
                    o[values.index(a), values.index(b)] += 1 / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    observed = o.sum() - np.trace(o)
    expected = (n * n - (n_c ** 2).sum()) / (n - 1)
    return float(1 - observed / expected)


def my_rho(rows: list[tuple[str, ...]], a: str, b: str) -> float:
    sign = {"left": 1, "tie": 0, "right": -1}
    means: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for _, pid, crit, choice in rows:
        means[crit][pid].append(sign[choice])
    common = sorted(set(means[a]) & set(means[b]))
    return float(stats.spearmanr([np.mean(means[a][p]) for p in common],
                                 [np.mean(means[b][p]) for p in common]).statistic)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return writers_run(tmp_path_factory.mktemp("ratings"), episodes=6)


@pytest.fixture(scope="module")
def exported(run: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "pairs.csv"
    done = arena("rate", "export", run, "--out", out)
    assert done.returncode == 0, done.stderr
    return out


def test_export_is_blind(run: Path, exported: Path) -> None:
    text = exported.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["pair_id", "prompt", "left_text", "right_text"]
    pairs = pairs_of(run)
    assert sorted(r[0] for r in rows[1:]) == sorted(pairs)
    assert all(r[2] != r[3] and r[1] for r in rows[1:])
    for name in ORIGINAL:  # no writer can be read from the file
        assert name not in text and name.split("_")[1] not in text.replace("<b>bold</b>", "")
    # some pairs come back with the sides swapped, later, under ids of their own
    repeats = {p: v for p, v in pairs.items() if v[2] is not None}
    assert repeats
    for left, right, original, pos in repeats.values():
        assert pairs[original][:2] == (right, left) and pairs[original][3] < pos
    # a second export draws nothing new
    again = arena("rate", "export", run)
    assert again.returncode == 0 and again.stdout == text


def test_ratings_by_a_rule_give_the_known_statistics(run: Path, exported: Path,
                                                     tmp_path: Path) -> None:
    pairs = pairs_of(run)
    rows = rule_rows(pairs)
    path = write_csv(tmp_path / "ratings.csv", rows)
    done = arena("rate", "import", run, path)
    assert done.returncode == 0, done.stderr
    assert f"{len(rows)} ratings stored" in done.stdout
    done = arena("analyze", run, "--format", "json")
    assert done.returncode == 0, done.stderr
    human = json.loads(done.stdout)["human"]

    assert human["judgements"] == len(rows)
    for criterion, rank in (("original", ORIGINAL), ("pleasant", PLEASANT),
                            ("preferred", PLEASANT)):
        bt = human["bradley_terry"][criterion]
        assert sorted(bt, key=bt.get) == sorted(rank, key=rank.get)
        mine = my_bt(rows, pairs, criterion)
        for writer, value in mine.items():
            assert bt[writer] == pytest.approx(value, abs=1e-4)
            ci = human["bradley_terry_ci"][criterion][writer]
            assert ci["low"] <= bt[writer] + 1e-6 and bt[writer] - 1e-6 <= ci["high"]
        assert human["alpha"][criterion] == pytest.approx(my_alpha(rows, criterion), abs=1e-9)
    assert human["alpha"]["pleasant"] == pytest.approx(1.0)
    assert 0 < human["alpha"]["original"] < 1 and 0 < human["alpha"]["preferred"] < 1
    for a, b in (("original", "pleasant"), ("original", "preferred"), ("pleasant", "preferred")):
        assert human["spearman"][f"{a}~{b}"] == pytest.approx(my_rho(rows, a, b), abs=1e-9)
    assert human["spearman"]["pleasant~preferred"] > 0.9
    assert human["spearman"]["original~pleasant"] < -0.5
    # consistency on the repeats: ann and bob answer by the rule, cyd slips
    assert human["consistency"]["ann"]["rate"] == 1.0
    assert human["consistency"]["ann"]["compared"] == 3 * sum(
        v[2] is not None for v in pairs.values())
    assert human["win_rates"]["original"]["writer_template"]["writer_markup"]["rate"] > 0.5
    assert human["automatic"]["verdict"]


def test_a_bad_file_or_a_second_import_leaves_the_database_as_it_was(
        run: Path, exported: Path, tmp_path: Path) -> None:
    pairs = pairs_of(run)
    good = rule_rows(pairs)[:30]
    first = write_csv(tmp_path / "first.csv", good)
    done = arena("rate", "import", run, first)
    assert done.returncode == 0, done.stderr
    before = dump(run)

    bad = {
        "choice": (write_csv(tmp_path / "choice.csv", [*good[:3], ("ann", "P001", "original",
                                                                    "maybe")]),
                   "row 5: choice 'maybe'"),
        "pair": (write_csv(tmp_path / "pair.csv", [*good[:2], ("ann", "P999", "pleasant",
                                                               "left")]),
                 "row 4: no pair 'P999'"),
        "header": (write_csv(tmp_path / "header.csv", good, header=("rater", "pair_id",
                                                                    "criterion", "pick")),
                   "row 1: the header lacks choice"),
        "criterion": (write_csv(tmp_path / "crit.csv", [("ann", "P002", "funny", "left")]),
                      "row 2: criterion 'funny'"),
        "contradiction": (write_csv(tmp_path / "contra.csv", [
            (good[0][0], good[0][1], good[0][2],
             "tie" if good[0][3] != "tie" else "left")]), "row 2:"),
    }
    for name, (path, message) in bad.items():
        done = arena("rate", "import", run, path)
        assert done.returncode == 2, name
        assert done.stderr.count("\n") == 1 and message in done.stderr, (name, done.stderr)
        assert "Traceback" not in done.stderr
        assert dump(run) == before, name
    # the same file again, and again under another name: nothing counted twice
    again = write_csv(tmp_path / "again.csv", list(reversed(good)))
    for path in (first, again):
        done = arena("rate", "import", run, path)
        assert done.returncode == 0, done.stderr
        assert "0 ratings stored" in done.stdout and "30 already" in done.stdout
        assert dump(run) == before


def test_a_run_from_before_the_ratings_tables_still_reads(tmp_path: Path) -> None:
    run = writers_run(tmp_path, episodes=3)
    conn = sqlite3.connect(run / "arena.db")
    for table in ("judgements", "rating_pairs", "rating_comments", "rating_imports"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    done = arena("analyze", run, "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["human"] is None
    done = arena("rate", "export", run)
    assert done.returncode == 0, done.stderr
    conn = sqlite3.connect(run / "arena.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] >= 5
    assert conn.execute("SELECT COUNT(*) FROM rating_pairs").fetchone()[0] > 0
    conn.close()


def test_old_read_only_stores_have_no_ratings(tmp_path: Path) -> None:
    """The reading functions cope with a database that has no ratings tables at all."""
    from arena.ratings_store import comments, judgements, pairs

    conn = sqlite3.connect(tmp_path / "old.db")
    assert judgements(conn) == [] and pairs(conn) == [] and comments(conn) == []
    conn.close()


def test_a_comment_and_a_rater_name_are_shown_as_text_in_the_report(tmp_path: Path) -> None:
    from arena.ratings_store import ensure_pairs, save_answer
    from arena.store import Store

    run = writers_run(tmp_path, episodes=2)
    with Store.open(run, write=True) as store:
        config = store.run_info()["config"]
        ensure_pairs(store.conn, seed=config["seed"], config=config)
        pid = store.conn.execute("SELECT pair_id FROM rating_pairs").fetchone()[0]
        assert save_answer(store.conn, rater="<b>eve</b>", pair_id=pid,
                           comment="<script>x()</script>",
                           choices={"original": "left", "pleasant": "tie", "preferred": "right"})
        # the same rater again on the same pair: the first answers stand
        assert not save_answer(store.conn, rater="<b>eve</b>", pair_id=pid,
                               choices=dict.fromkeys(("original", "pleasant", "preferred"), "tie"))
    done = arena("report", run)
    assert done.returncode == 0, done.stderr
    page = (run / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;x()&lt;/script&gt;" in page and "&lt;b&gt;eve&lt;/b&gt;" in page
    assert "<script" not in page and "<b>eve" not in page
    assert sorted(r[3] for r in stored_rows(run)) == ["left", "right", "tie"]


def stored_rows(run: Path) -> list[tuple]:
    conn = sqlite3.connect(run / "arena.db")
    try:
        return list(conn.execute("SELECT rater, pair_id, criterion, choice FROM judgements"))
    finally:
        conn.close()
