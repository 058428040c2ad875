"""Which agent is more random: one ranking per game, with 95% bootstrap intervals.

``arena analyze`` and ``arena report`` add it as ``unpredictability`` (section key ->
``measure``, ``better`` (``lower`` or ``higher``), ``rows``: ``agent``, ``role``,
``value``, ``ci_low``, ``ci_high``, most unpredictable first). The measure per kind of
game (each the analysis' own figure, its interval from resampling episodes or matches
with a seeded generator, :mod:`leaderboards.compare`):

* random numbers: χ²/N against uniform (0: as flat as a uniform sampler; lower is better);
* matrix games: exploitability given the previous round, what a best response earns per
  round above equilibrium (0: unexploitable; lower is better), per role where the roles
  differ (hider, seeker);
* creative writing: originality (higher is better).
"""

from __future__ import annotations

from typing import Any

import numpy as np

SEED = 0
KINDS = {"numbers": ("chi2_per_n", "χ²/N", "lower"),
         "matrix": ("br_per_round", "exploitability given the previous round", "lower"),
         "text": ("originality", "originality", "higher")}


def unpredictability(sections: dict[str, Any]) -> dict[str, Any]:
    """Section key -> the ranking of its agents (see the module docstring)."""
    from arena.compare import measures
    from envs import get_game
    from leaderboards.compare import interval

    out: dict[str, Any] = {}
    for key, section in sections.items():
        kind = get_game(section.game).kind
        prefix, label, better = KINDS[kind]
        offsets = _equilibrium_values(section) if kind == "matrix" else {}
        rng = np.random.default_rng(SEED)
        rows = []
        for agent, figures in measures(section).items():
            for name, units in figures.items():
                if not name.startswith(prefix) or units.value() is None:
                    continue
                role = name[len(prefix):].strip(" ()") or None
                shift = offsets.get(role or "all seats", 0.0)
                low, high = interval(units, rng)
                rows.append({"agent": agent, "role": role, "value": units.value() + shift,
                             "ci_low": None if low is None else low + shift,
                             "ci_high": None if high is None else high + shift})
        rows.sort(key=lambda r: (r["value"] if better == "lower" else -r["value"], r["agent"]))
        out[key] = {"measure": label, "better": better, "rows": rows}
    return out


def _equilibrium_values(section: Any) -> dict[str, float]:
    """Role class -> its own equilibrium value: best response + it = exploitability."""
    from arena.report_data import matrix_info
    from leaderboards.analysis_games import role_classes

    info = matrix_info(section.game, section.args)
    classes = role_classes(info["payoffs"])
    return {label: float(info["values"][role]) for role, label in classes.items()}


def tables(data: dict[str, Any]) -> list[Any]:
    """One table per game: the ranking with intervals."""
    from leaderboards.fit import Col, FitTable

    def f(v: Any) -> str:
        return "–" if v is None else f"{v:.3f}"

    out = []
    for key, summary in (data.get("unpredictability") or {}).items():
        roles = any(r["role"] for r in summary["rows"])
        t = FitTable([Col("#"), Col("agent", number=False, min_width=10),
                      *([Col("role", number=False, min_width=6)] if roles else []),
                      Col(summary["measure"] if len(summary["measure"]) < 12 else "value"),
                      Col("95% CI")],
                     title=f"{key}: unpredictability, most unpredictable first",
                     caption=f"{summary['measure']} ({summary['better']} is more "
                             "unpredictable); 95% bootstrap interval over episodes or matches")
        for rank, r in enumerate(summary["rows"], 1):
            t.add_row(str(rank), r["agent"], *([r["role"] or "all"] if roles else []),
                      f(r["value"]), f"{f(r['ci_low'])} to {f(r['ci_high'])}")
        out.append(t)
    return out
