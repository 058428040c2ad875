"""The report's pictures: matplotlib (Agg, no pyplot) to PNG, embedded as ``data:`` URIs.

matplotlib is imported here only, and only when a report is built, so ``arena --help``
stays quick. Mathtext is off: an agent named ``$x$`` is drawn as written.
Each function takes the figures of :func:`arena.report.analyze` and returns the
``src`` of an ``<img>``.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

DPI = 90
BLUE, ORANGE, GREY, RED = "#3b6ea8", "#e08a2c", "#9a9a9a", "#c0392b"


@contextmanager
def _figure(width: float, height: float, panels: int = 1, layout: str | None = "constrained"
            ) -> Iterator[tuple[Any, list[Any]]]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"text.parse_math": False, "font.size": 9,
                                "axes.spines.top": False, "axes.spines.right": False}):
        fig = Figure(figsize=(width, height), dpi=DPI, layout=layout)
        axes = [fig.add_subplot(1, panels, i + 1) for i in range(panels)]  # 0: add your own
        yield fig, axes


def _png(fig: Any) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _draw(width: float, height: float, panels: int, draw: Callable[..., None]) -> str:
    with _figure(width, height, panels) as (fig, axes):
        draw(fig, *axes)
        return _png(fig)


def _legend_below(ax: Any, cols: int = 3) -> None:
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2),
              ncols=cols)


def numbers_plot(name: str, f: dict[str, Any]) -> str:
    """Counts per value against uniform (and the policies' expected counts); repeats per
    sequence against a uniform sampler's distribution."""
    repeats = f.get("repeats")

    def draw(fig: Any, ax: Any, ax2: Any = None) -> None:
        values = np.array(f["values"])
        ax.bar(values, f["counts"], color=BLUE, label="said")
        ax.axhline(f["n"] / f["k"], color=RED, ls="--", lw=1, label="uniform")
        if f.get("exact"):
            ax.plot(values, f["exact"]["expected_counts"], "o", color=ORANGE, ms=4,
                    label="policies (expected)")
        ax.set_xticks(values if len(values) <= 21 else values[:: max(1, len(values) // 10)])
        ax.set_xlabel("value")
        ax.set_ylabel("count")
        ax.set_title(f"{name}: counts (N = {f['n']})")
        _legend_below(ax)
        if ax2 is not None:
            hist = np.array(repeats["histogram"], dtype=float)
            r = np.arange(len(hist))
            share = hist / hist.sum() if hist.sum() else hist
            ax2.bar(r, share, color=BLUE, label="observed")
            ax2.plot(r, repeats["uniform_distribution"], "o-", color=RED, ms=3, lw=1,
                     label=f"uniform (mean {repeats['uniform_mean']:.2f})")
            ax2.set_xlabel("repeats per sequence (L − distinct)")
            ax2.set_ylabel("share of sequences")
            ax2.set_title(f"repeats ({repeats['sequences']} sequences)")
            _legend_below(ax2)

    panels = 2 if repeats else 1
    return _draw(4.2 * panels, 3.1, panels, draw)


def _grid(states: list[dict[str, Any]], names: list[str], key: str) -> np.ndarray:
    n = len(names)
    grid = np.full((n, n), np.nan)
    index = {name: i for i, name in enumerate(names)}
    for row in states:
        if row["state"] == "start":
            continue
        own, _, other = row["state"].partition("/")
        grid[index[own], index[other]] = row[key]
    return grid


def state_heatmaps(game: dict[str, Any], role: str, key: str) -> str:
    """One small heat map per agent of ``key`` (``max_probability`` or ``entropy_bits``)
    per state: own previous move (rows) × the opponent's previous move (columns)."""
    import matplotlib

    names = game["action_names"]
    n = len(names)
    panels = [(a, f["roles"][role]) for a, f in game["agents"].items()
              if role in (f.get("roles") or {})]
    top = 1.0 if key == "max_probability" else float(np.log2(n))
    cmap = matplotlib.colormaps["Reds" if key == "max_probability" else "Blues"].copy()
    cmap.set_bad("#eeeeee")
    cols = min(5, len(panels))
    rows = -(-len(panels) // cols)
    label = "largest probability" if key == "max_probability" else "entropy (bits)"
    with _figure(1.9 * cols + 0.9, 2.05 * rows + 0.5, 0, layout=None) as (fig, _):
        image = None
        for i, (agent, figures) in enumerate(panels):
            ax = fig.add_subplot(rows, cols, i + 1)
            grid = _grid(figures["states"], names, key)
            image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=top)
            ticks = [t[:3] for t in names] if n <= 8 else [""] * n
            ax.set_xticks(range(n), ticks, fontsize=6)
            ax.set_yticks(range(n), ticks, fontsize=6)
            ax.tick_params(length=0)
            start = next((r for r in figures["states"] if r["state"] == "start"), None)
            first = "" if start is None else f" · round 1: {start[key]:.2f}"
            ax.set_title(f"{agent}{first}", fontsize=7)
            if n <= 5:
                for (r, c), v in np.ndenumerate(grid):
                    if not np.isnan(v):
                        ax.text(c, r, f"{v:.1f}", ha="center", va="center", fontsize=5.5,
                                color="white" if v > 0.6 * top else "black")
        fig.subplots_adjust(left=0.04, right=0.9, top=1 - 0.45 / (2.05 * rows + 0.5),
                            bottom=0.03, wspace=0.35, hspace=0.45)
        if image is not None:
            fig.colorbar(image, cax=fig.add_axes((0.92, 0.1, 0.015, 0.75)))
        role_text = "" if role == "all seats" else f" as {role}"
        fig.suptitle(f"{label} per state{role_text}: rows own previous move, columns the "
                     "opponent's", fontsize=8)
        return _png(fig)


def exploitability_plot(game: dict[str, Any]) -> str:
    """Per agent and role: exploitability against the marginal and the conditioned strategy."""
    bars = [(f"{a} ({label})" if label != "all seats" else a, f)
            for a, figs in game["agents"].items() for label, f in (figs.get("roles") or {}).items()]

    def draw(fig: Any, ax: Any) -> None:
        y = np.arange(len(bars))
        ax.barh(y - 0.2, [f["exploitability_marginal"] for _, f in bars], 0.4, color=BLUE,
                label="vs marginal strategy")
        ax.barh(y + 0.2, [f["exploitability_conditioned"] for _, f in bars], 0.4,
                color=ORANGE, label="vs strategy given previous round")
        ax.set_yticks(y, [label for label, _ in bars], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("best-response value per round above equilibrium")
        ax.legend(fontsize=7, frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0),
                  ncols=2)

    return _draw(7.0, 1.2 + 0.32 * len(bars), 1, draw)


def find_rate_plot(game: dict[str, Any]) -> str:
    """Find rates as seeker and found rates as hider, with 95% intervals, against the
    equilibrium find rate."""
    rows = [(a, f["find_rate"]) for a, f in game["agents"].items() if f.get("find_rate")]
    eq = game["equilibrium"]["find_rate"]

    def draw(fig: Any, ax: Any) -> None:
        y = np.arange(len(rows))
        for offset, key, colour, label in ((-0.2, "as_seeker", BLUE, "finds as seeker"),
                                           (0.2, "as_hider", ORANGE, "found as hider")):
            rates = [r[key]["rate"] or 0.0 for _, r in rows]
            low = [max(0.0, (r[key]["rate"] or 0) - (r[key]["ci_low"] or 0)) for _, r in rows]
            high = [max(0.0, (r[key]["ci_high"] or 0) - (r[key]["rate"] or 0)) for _, r in rows]
            ax.barh(y + offset, rates, 0.4, xerr=[low, high], color=colour, label=label,
                    error_kw={"lw": 0.8})
        ax.axvline(eq, color=RED, ls="--", lw=1, label=f"equilibrium {eq:.3f}")
        ax.set_yticks(y, [a for a, _ in rows], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of rounds with a find")
        ax.legend(fontsize=7, frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0),
                  ncols=3)

    return _draw(7.0, 1.2 + 0.36 * len(rows), 1, draw)


def writing_plot(game: dict[str, Any]) -> str:
    """Mean originality and each component's mean, per agent."""
    agents = list(game["agents"])
    names = ["originality"] + list(dict.fromkeys(
        c for f in game["agents"].values() for c in f["components"]))

    def draw(fig: Any, ax: Any) -> None:
        width = 0.8 / max(1, len(agents))
        x = np.arange(len(names))
        for i, agent in enumerate(agents):
            f = game["agents"][agent]
            values = [f["originality"]] + [f["components"].get(c) for c in names[1:]]
            ax.bar(x + (i - (len(agents) - 1) / 2) * width,
                   [np.nan if v is None else v for v in values], width, label=agent)
        ax.set_xticks(x, names, rotation=30, ha="right", fontsize=7)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("mean over answers")
        ax.legend(fontsize=7, frameon=False, ncols=min(4, len(agents)))

    return _draw(7.0, 3.0, 1, draw)
