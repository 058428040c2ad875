"""The pictures of the ``human`` and ``tradeoff`` sections (see :mod:`arena.report_plots`
for how pictures are made: Agg, PNG ``data:`` URIs, mathtext off)."""

from __future__ import annotations

from typing import Any

from arena.report_plots import BLUE, GREY, ORANGE, RED, _draw, _legend_below

COLOURS = (BLUE, ORANGE, RED, "#2e8b57", "#7b4fa0", GREY)


def strengths_plot(human: dict[str, Any]) -> str:
    """Per criterion, each writer's Bradley–Terry strength with its 95% interval."""
    criteria = list(human["bradley_terry"])
    agents = sorted({a for c in criteria for a in human["bradley_terry"][c]})

    def draw(fig: Any, *axes: Any) -> None:
        for ax, criterion in zip(axes, criteria, strict=True):
            bt = human["bradley_terry"][criterion]
            ci = human["bradley_terry_ci"][criterion]
            names = [a for a in agents if a in bt]
            ys = range(len(names))
            values = [bt[a] for a in names]
            low = [bt[a] - (ci[a]["low"] if ci[a]["low"] is not None else bt[a]) for a in names]
            high = [(ci[a]["high"] if ci[a]["high"] is not None else bt[a]) - bt[a]
                    for a in names]
            ax.errorbar(values, list(ys), xerr=[low, high], fmt="o", color=BLUE, capsize=3)
            ax.axvline(0, color=GREY, lw=0.8)
            ax.set_yticks(list(ys), names)
            ax.set_title(criterion)
            ax.set_xlabel("Bradley–Terry strength")

    return _draw(3.2 * len(criteria), 0.9 + 0.35 * len(agents), len(criteria), draw)


def scatter_plot(benchmark: str, measure: str, entry: dict[str, Any]) -> str:
    """One benchmark against one measure, each model a named point."""
    def draw(fig: Any, ax: Any) -> None:
        for p in entry["points"]:
            ax.scatter(p["benchmark"], p["value"], color=BLUE, s=22)
            ax.annotate(p["model"], (p["benchmark"], p["value"]), fontsize=7,
                        xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel(benchmark)
        ax.set_ylabel(measure)
        rho = entry.get("rho")
        ax.set_title(f"ρ = {rho:+.2f}" if rho is not None else "no ρ (too few models)",
                     fontsize=9)

    return _draw(3.4, 2.7, 1, draw)


def stages_plot(measure: str, families: dict[str, dict[str, Any]]) -> str:
    """One measure over the stages of alignment: a line per family, points named."""
    def draw(fig: Any, ax: Any) -> None:
        for i, (family, entry) in enumerate(families.items()):
            points = entry["points"]
            colour = COLOURS[i % len(COLOURS)]
            ax.plot([p["stage"] for p in points], [p["value"] for p in points], "o-",
                    color=colour, label=family)
            for p in points:
                ax.annotate(p["model"], (p["stage"], p["value"]), fontsize=7,
                            xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel("stage (0 base, then each stage of alignment)")
        ax.set_ylabel(measure)
        stages = sorted({p["stage"] for e in families.values() for p in e["points"]})
        ax.set_xticks(stages)
        _legend_below(ax, cols=min(3, max(1, len(families))))

    return _draw(4.4, 3.3, 1, draw)
