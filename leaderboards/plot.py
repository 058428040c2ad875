"""Pictures of the dominance graph, with matplotlib.

matplotlib is imported only when a picture is asked for; without it
:func:`draw_graph` raises ``ImportError`` and callers suggest ``pip install matplotlib``.
Names are drawn literally, as the report draws them: never read as mathtext (``$x$``,
which also crashes matplotlib on a lone ``$`` or ``\\``), hidden characters made visible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx

from leaderboards.table import visible


def draw_graph(graph: nx.DiGraph, out: str | Path, *, title: str,
               cycles: list[list[str]] | None = None) -> None:
    """Save ``graph`` to ``out`` (format from the suffix).

    Edge width follows the margin; edges on any of ``cycles`` are drawn red.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only: never open a window
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"text.parse_math": False}):
        _draw(plt, graph, out, title=title, cycles=cycles)


def _draw(plt: Any, graph: nx.DiGraph, out: str | Path, *, title: str,
          cycles: list[list[str]] | None) -> None:
    fig, ax = plt.subplots(figsize=(8, 8))
    try:
        pos = nx.circular_layout(graph)
        on_cycle = {(c[i], c[(i + 1) % len(c)]) for c in cycles or [] for i in range(len(c))}
        weights = [graph[a][b]["weight"] for a, b in graph.edges]
        colours = ["#c0392b" if edge in on_cycle else "#333333" for edge in graph.edges]
        top = max(weights, default=1.0) or 1.0
        nx.draw_networkx_nodes(graph, pos, ax=ax, node_color="#dde6f5", node_size=1600)
        nx.draw_networkx_labels(graph, pos, ax=ax, font_size=9,
                                labels={node: visible(node) for node in graph.nodes})
        nx.draw_networkx_edges(graph, pos, ax=ax, width=[0.5 + 4 * w / top for w in weights],
                               edge_color=colours, arrowsize=18, node_size=1600,
                               connectionstyle="arc3,rad=0.08")
        ax.set_title(visible(title))
        ax.set_axis_off()
        fig.savefig(out, dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)
