"""The analysis of one or more runs: every number as JSON, and the self-contained HTML report.

:func:`analyze` returns one JSON-ready mapping (``arena analyze --format json`` prints it,
``arena report`` writes it beside the HTML, at full precision). The statistics are
computed by :mod:`leaderboards.analysis_numbers`, :mod:`leaderboards.analysis_games` and
:mod:`leaderboards.analysis_writing`, whose docstrings define them. Its keys:

``format``, ``version``   ``"arena-analysis"``, 1
``runs``                  per run: ``directory``, ``label``, ``name``, ``created``, ``matches``
``notes``                 lines for the reader (runs whose matches were counted once)
``agents``                name -> ``type``, ``options``, ``family``, ``aligned``, ``stage``,
                          ``benchmarks`` (tags, or null; ``benchmarks`` with the scores of
                          ``--benchmarks``), ``runs`` (labels of the runs it played in)
``games``                 section key (the game id; ``<id> (<run>)`` when runs played one
                          game with different arguments) -> ``game``, ``kind``, ``args``,
                          ``runs``, ``leaderboard`` (the rows of ``arena leaderboard``),
                          ``agents`` (name -> figures, below) and per kind:

  * ``numbers``: ``agents.<name>``: ``low``, ``high``, ``k``, ``length``, ``values``,
    ``counts`` (per value), ``n``, ``chi2``, ``dof``, ``p_value``, ``chi2_per_n``,
    ``kl_bits``, ``entropy_bits``, ``max_entropy_bits``, ``repeats`` (``mean``, ``sd``,
    ``sequences``, ``histogram``, ``z``, ``p_value``, ``uniform_mean``, ``uniform_sd``,
    ``uniform_distribution``; null when L = 1), ``runs`` (``runs``, ``expected``,
    ``variance``, ``z``, ``p_value``, ``marks``), ``lag1`` (``r``, ``p_value``,
    ``pairs``), ``exact`` (from stored policies, or null: ``n``, ``expected_counts``,
    ``chi2_per_n``, ``kl_bits``, ``entropy_bits``, ``mean_policy_entropy_bits``,
    ``repeats_mean``). So the sampled χ² of agent A in game G is
    ``games.G.agents.A.chi2``, from ``counts`` over every decision stored for A in G.
  * ``matrix``: ``action_names``; ``roles`` (role -> ``payoff``, ``value``: the role's own
    equilibrium value, ``class``); ``agents.<name>.roles.<class>`` (``all seats``, or
    ``hider``/``seeker``): ``source`` (``policies`` or ``sampled``), ``states`` (per
    state: ``state``, ``rounds``, ``distribution``, ``entropy_bits``,
    ``max_probability``, ``most_likely``), ``sampled_states`` (with policies),
    ``mean_max_probability``, ``mean_entropy_bits``, ``most_predictable_state``,
    ``its_max_probability``, ``its_move``, ``its_rounds``, ``rounds``, ``marginal``,
    ``br_marginal``, ``br_conditioned``, ``br_per_decision``, ``equilibrium_value``,
    ``exploitability_marginal``, ``exploitability_conditioned``,
    ``exploitability_per_decision``, ``mean_reward``. Hide-and-seek adds
    ``equilibrium`` (``hider``, ``seeker``, ``seeker_value``, ``find_rate``) and
    ``agents.<name>.find_rate`` (``as_seeker`` / ``as_hider``: ``finds``, ``rounds``,
    ``rate``, ``ci_low``, ``ci_high``).
  * ``text``: ``agents.<name>``: ``answers``, ``originality``, ``ci_low``, ``ci_high``,
    ``quality``, ``penalty``, ``components`` (name -> mean), ``mean_words``,
    ``duplicate_share``, ``pooled_distinct_1``, ``pooled_distinct_2``, ``examples``
    (``rank``, ``prompt``, ``text``, ``originality``, ``components``); and
    ``replay_mismatches`` (answers whose re-scored originality differs from the stored
    reward: 0 unless the scorer changed, e.g. the embedding model was installed since).

``families``              family tag -> ``agents`` (``name``, ``aligned``; base models
                          first) and ``rows`` (``game``, ``metric``, ``values``: agent ->
                          value), the table of base against aligned
``human``                 people's judgements of the texts (``arena rate``; defined in
                          :mod:`leaderboards.human_judgements`), null when no run holds one:
                          ``judgements``, ``pairs``, ``raters`` (name -> judgements),
                          ``bradley_terry.<criterion>.<agent>`` (strength: higher is chosen
                          more often; criteria ``original``, ``pleasant``, ``preferred``),
                          ``bradley_terry_ci.<criterion>.<agent>`` (``low``, ``high``: 95%),
                          ``win_rates.<criterion>.<agent>.<opponent>`` (``wins``, ``ties``,
                          ``losses``, ``n``, ``rate``), ``alpha.<criterion>`` (Krippendorff's
                          α, nominal, over the pairs two or more raters judged),
                          ``alpha_pairs.<criterion>`` (how many), ``consistency.<rater>``
                          (``compared``, ``same``, ``rate``: on the repeated pairs),
                          ``spearman["<criterion>~<criterion>"]`` (ρ across pairs, e.g.
                          ``spearman["pleasant~preferred"]``), ``spearman_detail`` (the same
                          keys: ``rho``, ``p_value``, ``pairs``), ``automatic`` (people
                          against the automatic originality reward: ``agree``, ``verdict``,
                          ``pairs`` (``rho``, ``share``, ``rows``...), ``writers`` (``rho``,
                          ``top_human``, ``top_reward``, ``rows``)), ``comments``
``tradeoff``              ``<benchmark>.<measure>``: ``rho`` (Spearman, across the models
                          that have both; null with fewer than 4), ``low``, ``high`` (95%
                          bootstrap), ``models``, ``points`` (``model``, ``benchmark``,
                          ``value``), ``note``; defined in :mod:`leaderboards.tradeoff`,
                          measures named in :mod:`arena.report_human`
``stages``                ``<family>.<measure>``: ``points`` (``model``, ``stage``,
                          ``value``, in stage order), ``rho`` (stage against value),
                          ``monotone`` (``rising``, ``falling`` or null)
``measures``              measure -> what a higher value means
``unpredictability``      section key -> which agent is more random, with intervals
                          (:mod:`arena.unpredictability`)
``definitions``           ``numbers``, ``matrix``, ``text``: the definitions, as texts

Numbers that cannot be computed (a p-value of a constant source) are null, never NaN.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from arena.errors import ArenaError

FORMAT = "arena-analysis"
VERSION = 1


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: numpy scalars and arrays unwrapped, NaN/inf -> None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value + 0.0 if math.isfinite(value) else None  # + 0.0: no "-0.0"
    return value


def _players(records: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(a for r in records for a in r["agents"]))


def _numbers(section: Any) -> dict[str, Any]:
    from arena.game_facts import facts_of
    from leaderboards.analysis_numbers import numbers_summary

    facts = facts_of(section.game, section.args)
    return {"agents": {a: numbers_summary(section.records, a, low=facts.low, high=facts.high,
                                          length=facts.length)
                       for a in _players(section.records)}}


def _matrix(section: Any) -> dict[str, Any]:
    from arena.report_data import matrix_info
    from leaderboards.analysis_games import find_rates, matrix_summary, role_classes

    info = matrix_info(section.game, section.args)
    classes = role_classes(info["payoffs"])
    out: dict[str, Any] = {
        "action_names": info["action_names"],
        "roles": {r: {"payoff": info["payoffs"][r], "value": info["values"][r],
                      "class": classes[r]} for r in info["roles"]},
        "agents": {a: {"roles": matrix_summary(section.records, a, payoffs=info["payoffs"],
                                               values=info["values"],
                                               action_names=info["action_names"])}
                   for a in _players(section.records)}}
    if "nash" in info:
        out["equilibrium"] = info["nash"]
        rates = find_rates(section.records, seeker_role=info["seeker_role"],
                           hider_role=info["hider_role"])
        for name, figures in out["agents"].items():
            figures["find_rate"] = rates.get(name)
    return out


def _text(section: Any) -> dict[str, Any]:
    from arena.report_data import replay_writing
    from leaderboards.analysis_writing import writing_summary

    answers, mismatches = replay_writing(section)
    return {"agents": writing_summary(answers), "replay_mismatches": mismatches}


def _section(section: Any) -> dict[str, Any]:
    from arena.cli_views import game_board
    from envs import get_game

    kind = get_game(section.game).kind
    board = game_board(section.records, section.game, draw_probability=section.draw_probability,
                       args=section.args)
    figures = {"numbers": _numbers, "matrix": _matrix, "text": _text}[kind](section)
    return {"game": section.game, "kind": kind, "args": section.args, "runs": section.runs,
            "leaderboard": board.to_json_obj(), **figures}


# metric label, path inside agents.<name> (a "{role}" part is each role class)
FAMILY_METRICS: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "numbers": [("χ²/N", ("chi2_per_n",)), ("entropy (bits)", ("entropy_bits",)),
                ("KL from uniform (bits)", ("kl_bits",)),
                ("repeats per sequence", ("repeats", "mean")),
                ("χ²/N from policies", ("exact", "chi2_per_n"))],
    "matrix": [("exploitability, marginal", ("roles", "{role}", "exploitability_marginal")),
               ("exploitability, given the previous round",
                ("roles", "{role}", "exploitability_conditioned")),
               ("mean largest probability", ("roles", "{role}", "mean_max_probability")),
               ("find rate as seeker", ("find_rate", "as_seeker", "rate")),
               ("found rate as hider", ("find_rate", "as_hider", "rate"))],
    "text": [("originality", ("originality",)), ("quality", ("quality",)),
             ("penalty", ("penalty",))],
}


def _dig(value: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def families(agents: dict[str, dict[str, Any]], games: dict[str, Any]) -> dict[str, Any]:
    """Per family tag: its agents (base first) and one row per game and metric."""
    out: dict[str, Any] = {}
    tagged = [n for n, a in agents.items() if a.get("family")]
    for family in dict.fromkeys(agents[n]["family"] for n in tagged):
        members = sorted((n for n in tagged if agents[n]["family"] == family),
                         key=lambda n: {False: 0, True: 1}.get(agents[n].get("aligned"), 2))
        rows = []
        for key, game in games.items():
            playing = [n for n in members if n in game["agents"]]
            if not playing:
                continue
            board = {row["agent"]: row for row in game["leaderboard"]}
            score = "reward_mean" if game["kind"] != "matrix" else "net_per_round"
            rows.append({"game": key, "metric": "mean reward" if score == "reward_mean"
                         else "net per round",
                         "values": {n: board.get(n, {}).get(score) for n in playing}})
            roles = sorted({label for n in playing
                            for label in (game["agents"][n].get("roles") or {})}) or [""]
            for label, path in FAMILY_METRICS[game["kind"]]:
                for role in roles if "{role}" in path else [""]:
                    where = tuple(role if p == "{role}" else p for p in path)
                    values = {n: _dig(game["agents"][n], where) for n in playing}
                    if any(v is not None for v in values.values()):
                        shown = f"{label} ({role})" if role and role != "all seats" else label
                        rows.append({"game": key, "metric": shown, "values": values})
        out[family] = {"agents": [{"name": n, "aligned": agents[n].get("aligned")}
                                  for n in members], "rows": rows}
    return out


def analyze(directories: list[str | Path], *, benchmarks: str | Path | None = None
            ) -> dict[str, Any]:
    """Every figure of the runs in ``directories`` (merged), JSON-ready; ``benchmarks``:
    a ``model, benchmark, score`` CSV (see :mod:`arena.report_human`)."""
    from arena.report_data import load_runs
    from arena.report_human import human_section, tradeoff_section
    from arena.unpredictability import unpredictability
    from leaderboards import analysis_games, analysis_numbers, analysis_writing

    loaded = load_runs(directories)
    if not loaded.sections:
        raise ArenaError("no finished matches to analyse yet")
    games = {key: _section(section) for key, section in loaded.sections.items()}
    data = {
        "format": FORMAT, "version": VERSION,
        "runs": [vars(r) for r in loaded.runs],
        "notes": loaded.notes,
        "agents": loaded.agents,
        "games": games,
        "families": families(loaded.agents, games),
        "human": (human := human_section(directories)),
        **tradeoff_section(loaded.agents, games, human, benchmarks),
        "unpredictability": unpredictability(loaded.sections),
        "definitions": {"numbers": analysis_numbers.DEFINITIONS,
                        "matrix": analysis_games.DEFINITIONS,
                        "text": analysis_writing.DEFINITIONS},
    }
    return plain(data)


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def default_out(directories: list[str | Path]) -> Path:
    """``RUN_DIR/report.html`` for one run, ``./report.html`` for several."""
    return Path(directories[0]) / "report.html" if len(directories) == 1 else Path("report.html")


def write_report(directories: list[str | Path], out: str | Path | None = None, *,
                 benchmarks: str | Path | None = None) -> tuple[Path, Path, float]:
    """Write the HTML report and its JSON beside it; returns both paths and the seconds.

    Both are written to temporary files and put in place only once both are whole, so a
    full disk leaves the previous report as it was. ``--out`` names the HTML, which is
    replaced as asked; the JSON beside it is a name the user did not type, so it replaces
    only a report JSON (``"format": "arena-analysis"``) and refuses any other file.
    """
    from arena.report_html import render_html
    from arena.store_files import output_file, refuse_run_file

    start = time.perf_counter()
    html_path = Path(out) if out is not None else default_out(directories)
    json_path = html_path.with_suffix(".json")
    if json_path == html_path:
        raise ArenaError(f"{html_path}: the report needs a name that does not end in .json")
    for path in (html_path, json_path):  # never over a run's own files
        refuse_run_file(path, *directories)
    _refuse_foreign_json(json_path, html_path)
    data = analyze(directories, benchmarks=benchmarks)
    page = render_html(data)
    try:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        with output_file(html_path) as html, output_file(json_path) as sidecar:
            html.write(page)
            sidecar.write(to_json(data))
    except OSError as exc:
        raise ArenaError(f"cannot write {html_path}: {exc.strerror or exc}; the previous "
                         "report, if any, is as it was") from None
    return html_path, json_path, time.perf_counter() - start


# how every JSON written by write_report begins (to_json: the "format" key first, indent 1)
_REPORT_JSON_START = '{\n "format": ' + json.dumps(FORMAT)


def _refuse_foreign_json(json_path: Path, html_path: Path) -> None:
    """Refuse to replace a file at ``json_path`` that is not a report's JSON."""
    if not os.path.lexists(json_path):
        return
    try:
        with open(json_path, encoding="utf-8", errors="replace") as handle:
            start = handle.read(len(_REPORT_JSON_START))
    except OSError:
        start = ""
    if start != _REPORT_JSON_START:
        raise ArenaError(f"{json_path} already exists and is not an arena report's JSON; the "
                         f"report {html_path.name} writes its numbers there: nothing was "
                         "written, choose another --out")
