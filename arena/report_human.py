"""The analysis's ``human`` and ``tradeoff`` sections: people's judgements of the texts,
and benchmark scores against the unpredictability measures.

* :func:`human_section` reads the judgements stored in each run (``arena rate``) and
  hands them to :func:`leaderboards.human_judgements.human_summary`, with each judged
  pair's two automatic originality rewards (the stored rewards of its texts). Null when
  no run holds a judgement. With several runs, pair ids get the run's position as a
  prefix (``0:P001``).
* :func:`tradeoff_section` gathers per agent the unpredictability measures of the
  analysis (:data:`MEASURES`), its ``benchmarks`` tag (or ``--benchmarks scores.csv``:
  ``model, benchmark, score`` rows, matched by agent name, which win over the tag) and
  its ``family`` and ``stage`` tags, and hands them to :mod:`leaderboards.tradeoff`.

Measure names: ``chi2_per_n`` (random numbers), ``best_response:<game>`` (what a best
response to the agent's play given the previous round earns per round above the
equilibrium value, averaged over its roles), ``find_rate`` and ``found_rate``
(hide-and-seek: finds as seeker, found as hider), ``originality`` (the automatic reward)
and ``human_originality`` (the people's Bradley–Terry strength). When runs hold several
sections of one kind, each measure is suffixed ``:<section>``.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from arena.errors import ArenaError

#: measure -> what a higher value means, for the report
MEASURES = {
    "chi2_per_n": "χ²/N of the random numbers: higher is further from uniform (more "
                  "predictable)",
    "best_response": "what a best response earns per round above equilibrium: higher is "
                     "more exploitable",
    "find_rate": "share of rounds the agent finds the hider as seeker",
    "found_rate": "share of rounds the agent is found as hider: higher is more predictable",
    "originality": "the environment's automatic originality reward: higher is more original",
    "human_originality": "people's Bradley–Terry strength on originality: higher is more "
                         "original",
}
BENCHMARK_COLUMNS = ("model", "benchmark", "score")


def human_section(directories: list[str | Path]) -> dict[str, Any] | None:
    """People's judgements in these runs, summarised; None when there are none."""
    from arena.ratings_store import comments, judgements, pairs
    from arena.store import Store
    from leaderboards.human_judgements import human_summary

    rows: list[dict[str, Any]] = []
    rewards: dict[str, tuple[Any, Any]] = {}
    notes: list[dict[str, str]] = []
    several = len(directories) > 1
    for position, path in enumerate(directories):
        prefix = f"{position}:" if several else ""
        with Store.open(path) as store:
            found = judgements(store.conn)
            if not found:
                continue
            for j in found:
                j["pair_id"] = prefix + j["pair_id"]
                if j["repeat_of"] is not None:
                    j["repeat_of"] = prefix + j["repeat_of"]
            rows.extend(found)
            rewards.update({prefix + p.pair_id: (p.left_reward, p.right_reward)
                            for p in pairs(store.conn)})
            notes.extend({**c, "pair_id": prefix + c["pair_id"]} for c in comments(store.conn))
    if not rows:
        return None
    return {**human_summary(rows, rewards=rewards), "comments": notes}


def read_benchmarks(path: str | Path, agents: dict[str, Any]) -> dict[str, dict[str, float]]:
    """``model, benchmark, score`` rows: model -> benchmark -> score; one clear line on a
    fault (naming the row)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArenaError(f"cannot read --benchmarks {path}: "
                         f"{getattr(exc, 'strerror', None) or exc}") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in reader.fieldnames or ()]
    missing = [c for c in BENCHMARK_COLUMNS if c not in header]
    if missing:
        raise ArenaError(f"--benchmarks {path}: row 1: the header lacks {', '.join(missing)} "
                         f"(expected {', '.join(BENCHMARK_COLUMNS)})")
    reader.fieldnames = header
    out: dict[str, dict[str, float]] = {}
    try:
        for row in reader:
            line = reader.line_num
            model, bench = (row.get("model") or "").strip(), (row.get("benchmark") or "").strip()
            if not model and not bench:
                continue
            if model not in agents:
                raise ArenaError(f"--benchmarks {path}: row {line}: no agent named {model!r} "
                                 f"in these runs")
            if not bench:
                raise ArenaError(f"--benchmarks {path}: row {line}: benchmark is empty")
            try:
                score = float((row.get("score") or "").strip())
            except ValueError:
                raise ArenaError(f"--benchmarks {path}: row {line}: score "
                                 f"{row.get('score')!r} is not a number") from None
            if not math.isfinite(score):
                raise ArenaError(f"--benchmarks {path}: row {line}: score must be finite")
            if out.get(model, {}).get(bench, score) != score:
                raise ArenaError(f"--benchmarks {path}: row {line}: a second, different "
                                 f"score of {model} on {bench}")
            out.setdefault(model, {})[bench] = score
    except csv.Error as exc:
        raise ArenaError(f"--benchmarks {path}: row {reader.line_num}: {exc}") from None
    return out


def measures(games: dict[str, Any], human: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """measure name -> agent -> value, from the analysis's game sections."""
    found: dict[tuple[str, str], dict[str, Any]] = {}

    def add(metric: str, section: str, values: dict[str, Any]) -> None:
        values = {a: v for a, v in values.items() if v is not None}
        if values:
            found[(metric, section)] = values

    for key, game in games.items():
        agents = game["agents"]
        if game["kind"] == "numbers":
            add("chi2_per_n", key, {a: f.get("chi2_per_n") for a, f in agents.items()})
        elif game["kind"] == "text":
            add("originality", key, {a: f.get("originality") for a, f in agents.items()})
        else:
            gains = {}
            for a, f in agents.items():
                values = [r.get("exploitability_conditioned")
                          for r in (f.get("roles") or {}).values()]
                values = [v for v in values if v is not None]
                gains[a] = sum(values) / len(values) if values else None
            add("best_response", key, gains)
            if "equilibrium" in game:
                rates = {a: f.get("find_rate") or {} for a, f in agents.items()}
                add("find_rate", key, {a: (r.get("as_seeker") or {}).get("rate")
                                       for a, r in rates.items()})
                add("found_rate", key, {a: (r.get("as_hider") or {}).get("rate")
                                        for a, r in rates.items()})
    out: dict[str, dict[str, Any]] = {}
    for (metric, section), values in found.items():
        alone = metric != "best_response" and sum(m == metric for m, _ in found) == 1
        out[metric if alone else f"{metric}:{section}"] = values
    if human is not None and human["bradley_terry"].get("original"):
        out["human_originality"] = dict(human["bradley_terry"]["original"])
    return out


def describe(measure: str) -> str:
    return MEASURES.get(measure.split(":")[0], measure)


def tradeoff_section(agents: dict[str, dict[str, Any]], games: dict[str, Any],
                     human: dict[str, Any] | None, benchmarks_file: str | Path | None = None
                     ) -> dict[str, Any]:
    """``tradeoff`` (benchmark -> measure -> ρ...), ``stages`` (family -> measure -> the
    trend over stage) and ``measures`` (measure -> what a higher value means).

    Updates each agent's ``benchmarks`` with the scores of ``benchmarks_file``."""
    from leaderboards.tradeoff import across_models, over_stages

    if benchmarks_file is not None:
        for model, scores in read_benchmarks(benchmarks_file, agents).items():
            agents[model]["benchmarks"] = {**(agents[model].get("benchmarks") or {}), **scores}
    table = measures(games, human)
    scores = {n: a["benchmarks"] for n, a in agents.items() if a.get("benchmarks")}
    return {"tradeoff": across_models(scores, table),
            "stages": over_stages(agents, table),
            "measures": {m: describe(m) for m in table}}
