"""``arena analyze`` and ``arena report``: the JSON of every number, the offline HTML, tags.

Runs are made with ``arena run`` in a subprocess, as a user would. The quickstart run and
its report are built once per session (shared by xdist workers through a file lock).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from filelock import FileLock
from scipy import stats

from arena.agent import BaseAgent
from tests.browser import chromium
from tests.helpers import quickstart_bots

REPO = Path(__file__).resolve().parents[2]
ARENA = shutil.which("arena", path=str(Path(sys.executable).parent)) or "arena"
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
SKEWED = "tests.arena.test_report:Skewed"


class Skewed(BaseAgent):
    """A source the analysis has never seen: P(v) proportional to v + 1, independently."""

    kinds = frozenset({"numbers"})

    def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
        weights = np.arange(1, self.n_actions(action_space) + 1, dtype=float)
        return weights / weights.sum()


def arena(*args: object, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([ARENA, *map(str, args)], cwd=REPO, env=ENV, capture_output=True,
                          text=True, timeout=timeout)


def run(directory: Path, name: str, config: dict, *sets: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "seed": 5, **config}, sort_keys=False))
    out = directory / name
    done = arena("run", path, "--no-live", "--out", out, *[a for s in sets for a in ("--set", s)])
    assert done.returncode == 0, done.stderr
    return out


def report(*directories: Path, out: Path | None = None) -> tuple[str, dict]:
    done = arena("report", *directories, *(["--out", out] if out else []))
    assert done.returncode == 0, done.stderr
    html_path = out or directories[0] / "report.html"
    return (html_path.read_text(encoding="utf-8"),
            json.loads(html_path.with_suffix(".json").read_text(encoding="utf-8")))


def numbers_config(agents: list[dict], episodes: int = 8, **game) -> dict:
    return {"game": {"id": "random_number", "low": 0, "high": 10, "length": 10, **game},
            "format": {"type": "solo", "episodes": episodes}, "agents": agents}


@pytest.fixture(scope="session")
def quickstart(tmp_path_factory) -> Path:
    """The quickstart's bots at 60 rounds a game, with its report; built once per session."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # this session's folder, shared by its workers
    root = base / "quickstart-report"
    with FileLock(str(root) + ".lock"):
        if not (root / "done").exists():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
            # its bots in its two games: the language models have tests of their own
            config = root / "quickstart.yaml"
            config.write_text(yaml.safe_dump(quickstart_bots(games=("rps", "hide_and_seek"))))
            done = arena("run", config, "--no-live", "--out", root / "run", "--set",
                         "games[0].rounds=60", "--set", "games[1].rounds=60")
            assert done.returncode == 0, done.stderr
            start = time.monotonic()
            done = arena("report", root / "run")
            assert done.returncode == 0, done.stderr
            (root / "done").write_text(f"{time.monotonic() - start:.1f}")
    return root / "run"


def png_size(src: str) -> tuple[int, int]:
    data = base64.b64decode(src.removeprefix("data:image/png;base64,"), validate=True)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# -- the quickstart's report -----------------------------------------------------------
def test_quickstart_json_holds_the_games_figures(quickstart: Path) -> None:
    data = json.loads((quickstart / "report.json").read_text(encoding="utf-8"))
    assert data["format"] == "arena-analysis" and data["version"] == 1
    assert list(data["games"]) == ["rps", "hide_and_seek"]
    rps = data["games"]["rps"]
    assert rps["kind"] == "matrix" and rps["action_names"] == ["rock", "paper", "scissors"]
    assert {row["agent"] for row in rps["leaderboard"]} == set(data["agents"])
    rock = rps["agents"]["rock"]["roles"]["all seats"]
    assert rock["br_marginal"] == 1.0 and rock["exploitability_conditioned"] == 1.0
    assert rock["mean_max_probability"] == 1.0
    uniform = rps["agents"]["random"]["roles"]["all seats"]
    assert uniform["source"] == "policies"
    assert uniform["br_per_decision"] == pytest.approx(0.0, abs=1e-12)
    cycle = rps["agents"]["cycle"]["roles"]["all seats"]
    assert cycle["exploitability_conditioned"] == pytest.approx(1.0)
    has = data["games"]["hide_and_seek"]
    assert set(has["agents"]["random"]["roles"]) == {"hider", "seeker"}
    assert has["equilibrium"]["find_rate"] == pytest.approx(0.5)  # house, radius 1
    rate = has["agents"]["random"]["find_rate"]["as_seeker"]
    assert rate["rounds"] == 18 * 60 and rate["ci_low"] < rate["rate"] < rate["ci_high"]
    assert data["families"] == {}
    assert {"numbers", "matrix", "text"} == set(data["definitions"])


def test_quickstart_report_has_plots_and_fetches_nothing(quickstart: Path) -> None:
    page = (quickstart / "report.html").read_text(encoding="utf-8")
    sources = re.findall(r'<img[^>]*\ssrc="([^"]*)"', page)
    assert len(sources) >= 7  # exploitability x2, find rates, 6 state heat maps
    assert all(min(png_size(src)) > 50 for src in sources)
    # every reference stays inside the file: data: pictures and #anchors, nothing else
    references = re.findall(r'\s(?:src|href|srcset|action|data|poster)\s*=\s*"([^"]*)"', page)
    assert references and all(r.startswith(("data:image/png;base64,", "#")) for r in references)
    lowered = page.lower()
    for banned in ("<script", "<link", "<iframe", "<object", "<embed", "@import", "url(",
                   "http://", "https://", "//fonts"):
        assert banned not in lowered
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "Definitions" in page and "Pearson" in page


@pytest.mark.slow
def test_quickstart_report_renders_in_headless_chromium(quickstart: Path, tmp_path: Path) -> None:
    """Chromium opens the report offline: every plot decodes, nothing goes to a network."""
    with chromium(tmp_path / "profile", network_log=True) as browser:
        browser.get((quickstart / "report.html").resolve().as_uri())
        images = browser.execute_script(
            "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, "
            "i.naturalHeight, i.getBoundingClientRect().width])")
        title = browser.title
        requests = [json.loads(e["message"])["message"] for e in browser.get_log("performance")]
        assert browser.get_screenshot_as_png()[:4] == b"\x89PNG"
    assert title.startswith("arena report")
    assert len(images) >= 7
    assert all(done and width > 0 and height > 0 and shown > 0
               for done, width, height, shown in images), images
    urls = [m["params"]["request"]["url"] for m in requests
            if m["method"] == "Network.requestWillBeSent"]
    assert urls, "the performance log saw no request at all"
    outside = [u for u in urls if u.split(":", 1)[0] in ("http", "https", "ws", "wss", "ftp")]
    assert outside == []


# -- random numbers ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def numbers_run(tmp_path_factory) -> Path:
    return run(tmp_path_factory.mktemp("numbers"), "numbers", numbers_config([
        {"name": "rnd", "type": "uniform_random"}, {"name": "seven", "type": "constant",
                                                    "action": 7},
        {"name": "human", "type": "humanlike"}, {"name": "skew", "type": SKEWED}]))


@pytest.fixture(scope="module")
def numbers_report(numbers_run: Path) -> tuple[str, dict]:
    return report(numbers_run)


def test_chi_square_recomputed_from_the_tidy_export_matches_the_json(
        numbers_run: Path, numbers_report: tuple[str, dict]) -> None:
    _, data = numbers_report
    done = arena("export", numbers_run, "--format", "csv", "--tidy")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    figures = data["games"]["random_number"]["agents"]
    assert set(figures) == {"rnd", "seven", "human", "skew"}
    for agent, f in figures.items():
        values = [int(r["action"]) for r in rows if r["agent"] == agent]
        counts = np.bincount(values, minlength=11)
        ref = stats.chisquare(counts)
        assert f["counts"] == counts.tolist() and f["n"] == len(values) == 80
        assert f["chi2"] == pytest.approx(ref.statistic, rel=1e-12)
        assert f["p_value"] == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
        assert f["chi2_per_n"] == pytest.approx(ref.statistic / 80, rel=1e-12)
        share = counts / counts.sum()
        assert f["entropy_bits"] == pytest.approx(stats.entropy(share, base=2))
        by_episode: dict[str, set] = {}
        for r in rows:
            if r["agent"] == agent:
                by_episode.setdefault(r["episode"], set()).add(r["action"])
        assert f["repeats"]["mean"] == pytest.approx(np.mean([10 - len(s) for s in
                                                             by_episode.values()]))
        assert f["repeats"]["uniform_mean"] == pytest.approx(3.2409761837, rel=1e-9)
    assert figures["seven"]["repeats"]["mean"] == 9 and figures["human"]["repeats"]["mean"] == 0
    skew = figures["skew"]["exact"]
    assert skew["expected_counts"] == pytest.approx([80 * (v + 1) / 66 for v in range(11)])
    assert figures["rnd"]["exact"]["chi2_per_n"] == pytest.approx(0.0, abs=1e-12)


def test_numbers_report_has_a_bar_chart_per_agent(numbers_report: tuple[str, dict]) -> None:
    page, _ = numbers_report
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) == 4
    assert "repeats/seq" in page and "from stored policies" in page


def test_analyze_prints_tables_and_the_same_json(numbers_run: Path,
                                                 numbers_report: tuple[str, dict]) -> None:
    done = arena("analyze", numbers_run)
    assert done.returncode == 0, done.stderr
    assert "random_number: random numbers" in done.stdout and "skew" in done.stdout
    as_json = arena("analyze", numbers_run, "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["games"] == numbers_report[1]["games"]
    bad = arena("analyze", numbers_run, "--format", "xml")
    assert bad.returncode == 2 and bad.stderr.startswith("arena: error: unknown --format")


def test_several_runs_are_combined(numbers_run: Path, numbers_report: tuple[str, dict],
                                   tmp_path: Path) -> None:
    other = run(tmp_path, "other", numbers_config([
        {"name": "rnd", "type": "uniform_random"},
        {"name": "skew", "type": "constant", "action": 3}], episodes=3))
    page, data = report(numbers_run, other, out=tmp_path / "both" / "combined.html")
    assert (tmp_path / "both" / "combined.json").exists()
    alone = numbers_report[1]
    figures = data["games"]["random_number"]["agents"]
    solo = alone["games"]["random_number"]["agents"]
    assert [r["name"] for r in data["runs"]] == ["numbers", "other"]
    assert figures["rnd"]["n"] == 80 + 30 and data["agents"]["rnd"]["runs"] == ["numbers",
                                                                                "other"]
    assert figures["skew"] == solo["skew"]  # the other run's "skew" is another agent
    assert figures["other/skew"]["counts"][3] == 30
    assert "other/skew" in page
    rows = data["games"]["random_number"]["leaderboard"]
    assert {r["agent"] for r in rows} == {"rnd", "seven", "human", "skew", "other/skew"}


def test_a_game_played_with_other_arguments_is_its_own_section(numbers_run: Path,
                                                               tmp_path: Path) -> None:
    other = run(tmp_path, "single", numbers_config([{"name": "rnd", "type": "uniform_random"}],
                                                   episodes=20, length=1))
    done = arena("analyze", numbers_run, other, "--format", "json")
    assert done.returncode == 0, done.stderr
    games = json.loads(done.stdout)["games"]
    assert set(games) == {"random_number (numbers)", "random_number (single)"}
    single = games["random_number (single)"]["agents"]["rnd"]
    assert single["length"] == 1 and single["repeats"] is None and single["n"] == 20


# -- safety: what models wrote is text ---------------------------------------------------
def test_a_script_written_by_a_model_is_shown_as_text(tmp_path: Path) -> None:
    text = ('<script>alert("pwned")</script> <img src=x onerror=alert(1)> '
            'a poem about "quotes" & ampersands, long enough to be scored as a poem')
    directory = run(tmp_path, "writing", {
        "game": {"id": "creative_writing", "semantic": False},
        "format": {"type": "solo", "episodes": 3},
        "agents": [{"name": "fx", "type": "fixed_text", "text": text},
                   {"name": "tmpl", "type": "template_writer"}]})
    page, data = report(directory)
    assert "<script" not in page.lower() and "<img src=x" not in page
    assert '&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;' in page
    assert "&amp; ampersands" in page
    figures = data["games"]["creative_writing"]
    assert figures["replay_mismatches"] == 0
    assert figures["agents"]["fx"]["examples"][0]["text"] == text
    assert figures["agents"]["fx"]["duplicate_share"] == pytest.approx(2 / 3)
    assert set(figures["agents"]["fx"]["components"]) >= {"lexical_novelty", "too_short"}
    board = {r["agent"]: r for r in figures["leaderboard"]}
    assert figures["agents"]["fx"]["originality"] == pytest.approx(board["fx"]["reward_mean"])


# -- tags ----------------------------------------------------------------------------------
def test_family_tags_group_base_and_aligned_side_by_side(tmp_path: Path) -> None:
    directory = run(tmp_path, "tagged", numbers_config([
        {"name": "chat", "type": "humanlike", "family": "toy-1b", "aligned": True},
        {"name": "base", "type": "uniform_random", "family": "toy-1b", "aligned": False},
        {"name": "plain", "type": "constant"}], episodes=4))
    with sqlite3.connect(directory / "arena.db") as conn:
        options = dict(conn.execute("SELECT name, options FROM agents"))
        snapshot = json.loads(conn.execute("SELECT config FROM runs").fetchone()[0])
    assert options == {"chat": "{}", "base": "{}", "plain": "{}"}  # tags are no options
    assert [list(a) for a in snapshot["agents"]][2] == ["name", "type", "games", "options"]
    assert snapshot["agents"][0]["family"] == "toy-1b" and snapshot["agents"][0]["aligned"]
    page, data = report(directory)
    family = data["families"]["toy-1b"]
    assert family["agents"] == [{"name": "base", "aligned": False},
                                {"name": "chat", "aligned": True}]  # base first
    rows = {r["metric"]: r["values"] for r in family["rows"]}
    assert rows["repeats per sequence"]["chat"] == 0.0
    assert rows["χ²/N"]["base"] == data["games"]["random_number"]["agents"]["base"]["chi2_per_n"]
    assert "base<br>(base)" in page and "chat<br>(aligned)" in page
    assert data["agents"]["plain"]["family"] is None


def test_a_config_without_tags_stores_the_same_snapshot(tmp_path: Path) -> None:
    from arena.config import load_config, parse_config

    untagged = tmp_path / "quickstart.yaml"  # its bots: the language models carry tags
    untagged.write_text(yaml.safe_dump(quickstart_bots()))
    config = load_config(untagged)
    snapshot = config.snapshot()
    assert all(list(a) == ["name", "type", "games", "options"] for a in snapshot["agents"])
    text = json.dumps(snapshot)
    assert "family" not in text and "aligned" not in text
    tagged = load_config(untagged,
                         overrides=["agents[0].family=x", "agents[0].aligned=false"])
    again = parse_config(json.loads(json.dumps(tagged.snapshot())))
    assert again.snapshot() == tagged.snapshot()
    assert again.agents[0].family == "x" and again.agents[0].aligned is False
    assert again.agents[0].options == {}


def test_a_bad_tag_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"name": "bad", **numbers_config(
        [{"name": "a", "type": "uniform_random", "aligned": "maybe"}])}))
    done = arena("run", path, "--no-live", "--out", tmp_path / "out")
    assert done.returncode == 2
    assert "agents[0].aligned" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_report_errors_are_one_line(tmp_path: Path) -> None:
    done = arena("report", tmp_path / "missing")
    assert done.returncode == 2 and done.stderr.startswith("arena: error: ")
    assert "not a run directory" in done.stderr


def test_report_never_writes_over_a_runs_own_files(numbers_run: Path) -> None:
    database = (numbers_run / "arena.db").read_bytes()
    for out in (numbers_run / "arena.db", numbers_run / "arena.db-wal"):
        done = arena("report", numbers_run, "--out", out)
        assert done.returncode == 2 and "nothing was written" in done.stderr, done.stderr
    assert (numbers_run / "arena.db").read_bytes() == database
    assert not (numbers_run / "arena.json").exists()
