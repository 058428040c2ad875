"""The ``human`` and ``tradeoff`` sections as terminal tables (``arena analyze``) and as
HTML (``arena report``). Every text from a run (names, comments, rater names) is escaped:
Rich ``Text`` cells in the terminal, :func:`arena.report_html.esc` in the page."""

from __future__ import annotations

from typing import Any

CRITERIA = ("original", "pleasant", "preferred")
NO_HUMAN = ("no human judgements yet: `arena rate serve RUN_DIR` (a page in the browser) or "
            "`arena rate export` / `arena rate import` (CSV)")
NO_BENCHMARKS = ("no benchmark scores: add `benchmarks: {mmlu: 66.7}` and `stage:` to agents "
                 "in the config, or pass --benchmarks scores.csv (model, benchmark, score)")


def _n(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) >= 0.005 or value == 0 else f"{value:.0e}"
    return str(value)


def _interval(low: Any, high: Any) -> str:
    return "–" if low is None or high is None else f"{_n(low)}…{_n(high)}"


def strength_rows(human: dict[str, Any]) -> list[list[Any]]:
    """agent, then per criterion strength, low, high; ordered by overall preference."""
    bt, ci = human["bradley_terry"], human["bradley_terry_ci"]
    order = list(bt.get("preferred") or {}) or sorted({a for c in bt.values() for a in c})
    order += sorted({a for c in bt.values() for a in c} - set(order))
    return [[a, *[v for c in CRITERIA for v in (bt[c].get(a), (ci[c].get(a) or {}).get("low"),
                                                (ci[c].get(a) or {}).get("high"))]]
            for a in order]


def tables(data: dict[str, Any]) -> list[Any]:
    """Rich tables (and notes) for ``arena analyze``."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    def new(title: str, headers: list[str], caption: str | None = None, text: int = 1) -> Table:
        t = Table(title=title, caption=caption, title_justify="left", caption_justify="left",
                  header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1))
        for i, h in enumerate(headers):
            t.add_column(h, justify="left" if i < text else "right", overflow="fold")
        return t

    def row(t: Table, *cells: Any) -> None:
        t.add_row(*(Text(c) if isinstance(c, str) else Text(_n(c)) for c in cells))

    out: list[Any] = []
    human = data.get("human")
    if human is None:
        out.append(Text(NO_HUMAN, style="dim"))
    else:
        t = new(f"human judgements: Bradley–Terry strength (95% interval); "
                f"{human['judgements']} judgements of {human['pairs']} pairs by "
                f"{len(human['raters'])} raters", ["writer", *CRITERIA],
                caption="higher: chosen more often")
        for r in strength_rows(human):
            row(t, r[0], *[f"{_n(r[1 + 3 * i])} ({_interval(r[2 + 3 * i], r[3 + 3 * i])})"
                           for i in range(3)])
        out.append(t)
        for criterion in CRITERIA:
            rates = human["win_rates"][criterion]
            names = list(rates)
            t = new(f"human judgements: win rate, {criterion} (row against column)",
                    ["writer", *names])
            for a in names:
                row(t, a, *[(rates[a].get(b) or {}).get("rate") for b in names])
            out.append(t)
        t = new("human judgements: agreement", ["criterion", "Krippendorff's α",
                                                "pairs with 2+ raters"])
        for c in CRITERIA:
            row(t, c, human["alpha"][c], human["alpha_pairs"][c])
        out.append(t)
        t = new("human judgements: Spearman's ρ between criteria, across pairs",
                ["criteria", "ρ", "p", "pairs"])
        for key, s in human["spearman_detail"].items():
            row(t, key, s["rho"], s["p_value"], s["pairs"])
        out.append(t)
        if human["consistency"]:
            t = new("human judgements: each rater's consistency on repeated pairs",
                    ["rater", "answers compared", "same", "rate"])
            for rater, c in human["consistency"].items():
                row(t, rater, c["compared"], c["same"], c["rate"])
            out.append(t)
        auto = human["automatic"]
        out.append(Text(auto["verdict"], style="bold red" if auto["agree"] is False else ""))
    if not data.get("tradeoff"):
        out.append(Text(NO_BENCHMARKS, style="dim"))
    for bench, by_measure in (data.get("tradeoff") or {}).items():
        t = new(f"trade-off: {bench} against the unpredictability measures",
                ["measure", "models", "Spearman ρ", "95% interval", "note"], text=1)
        for measure, e in by_measure.items():
            row(t, measure, e["models"], e["rho"], _interval(e["low"], e["high"]),
                e["note"] or "")
        out.append(t)
    for family, by_measure in (data.get("stages") or {}).items():
        stages = sorted({p["stage"] for e in by_measure.values() for p in e["points"]})
        t = new(f"family {family}: each measure over the stages of alignment",
                ["measure", *[f"stage {s}" for s in stages], "ρ", "trend"])
        for measure, e in by_measure.items():
            at = {p["stage"]: p["value"] for p in e["points"]}
            row(t, measure, *[at.get(s) for s in stages], e["rho"], e["monotone"] or "")
        out.append(t)
    return out


def html(data: dict[str, Any]) -> list[str]:
    """The report's "Human judgements" and "Trade-off" sections."""
    from arena import report_human_plots as plots
    from arena.report_html import Html, esc, img, table

    parts: list[str] = [Html('<h2 id="human">Human judgements</h2>')]
    human = data.get("human")
    if human is None:
        parts.append(Html(f'<p class="note">{esc(NO_HUMAN)}</p>'))
    else:
        parts.append(Html(f'<p class="note">{human["judgements"]} judgements of '
                          f'{human["pairs"]} blind pairs by {len(human["raters"])} raters '
                          f'({esc(", ".join(human["raters"]))}).</p>'))
        headers = ["writer", *[f"{c} {k}" for c in CRITERIA for k in ("", "95% low",
                                                                     "95% high")]]
        parts.append(table([h.strip() for h in headers], strength_rows(human),
                           caption="Bradley–Terry strength per criterion: higher is chosen "
                           "more often (bootstrap 95% intervals)"))
        parts.append(img(plots.strengths_plot(human), "Bradley–Terry strengths"))
        for criterion in CRITERIA:
            rates = human["win_rates"][criterion]
            names = list(rates)
            parts.append(table(["writer", *names],
                               [[a, *[(rates[a].get(b) or {}).get("rate") for b in names]]
                                for a in names],
                               caption=f"win rate on {criterion}, row against column "
                               "(a tie counts half)"))
        parts.append(table(["criterion", "Krippendorff's α", "pairs with 2+ raters"],
                           [[c, human["alpha"][c], human["alpha_pairs"][c]] for c in CRITERIA],
                           caption="agreement between raters (nominal α)"))
        parts.append(table(["criteria", "Spearman ρ", "p", "pairs"],
                           [[k, s["rho"], s["p_value"], s["pairs"]]
                            for k, s in human["spearman_detail"].items()],
                           caption="criteria against each other across pairs"))
        if human["consistency"]:
            parts.append(table(["rater", "answers compared", "same", "rate"],
                               [[r, c["compared"], c["same"], c["rate"]]
                                for r, c in human["consistency"].items()],
                               caption="each rater's consistency on the pairs shown again "
                               "with the sides swapped"))
        auto = human["automatic"]
        style = ' style="color:#c0392b;font-weight:600"' if auto["agree"] is False else ""
        parts.append(Html(f"<p{style}>{esc(auto['verdict'])}.</p>"))
        writers = auto["writers"]["rows"]
        if writers:
            parts.append(table(["writer", "people: originality strength",
                                "automatic reward (mean over judged texts)"],
                               [[w, v["human_bt"], v["reward_mean"]]
                                for w, v in writers.items()]))
        if human.get("comments"):
            parts.append(Html("<h3>Comments</h3><ul>" + "".join(
                f"<li>{esc(c['pair_id'])}, {esc(c['rater'])}: {esc(c['comment'])}</li>"
                for c in human["comments"]) + "</ul>"))
    parts.append(Html('<h2 id="tradeoff">Trade-off: benchmark scores against '
                      "unpredictability</h2>"))
    if not data.get("tradeoff"):
        parts.append(Html(f'<p class="note">{esc(NO_BENCHMARKS)}</p>'))
    meanings = data.get("measures") or {}
    if meanings:
        parts.append(Html("<ul>" + "".join(f"<li><code>{esc(m)}</code>: {esc(t)}</li>"
                                          for m, t in meanings.items()) + "</ul>"))
    for bench, by_measure in (data.get("tradeoff") or {}).items():
        parts.append(Html(f"<h3>{esc(bench)}</h3>"))
        parts.append(table(["measure", "models", "Spearman ρ", "95% low", "95% high", "note"],
                           [[m, e["models"], e["rho"], e["low"], e["high"], e["note"] or ""]
                            for m, e in by_measure.items()], left=1))
        figures = [img(plots.scatter_plot(bench, m, e), f"{bench} against {m}")
                   for m, e in by_measure.items() if e["points"]]
        parts.append(Html('<div class="figs">' + "".join(figures) + "</div>"))
    stages = data.get("stages") or {}
    if stages:
        parts.append(Html("<h3>Over the stages of alignment</h3>"))
        measures = list(dict.fromkeys(m for f in stages.values() for m in f))
        figures = [img(plots.stages_plot(m, {f: e[m] for f, e in stages.items() if m in e}),
                       f"{m} over stages") for m in measures]
        parts.append(Html('<div class="figs">' + "".join(figures) + "</div>"))
        for family, by_measure in stages.items():
            parts.append(table(["family", "measure", "ρ (stage)", "trend", "values by stage"],
                               [[family, m, e["rho"], e["monotone"] or "",
                                 ", ".join(f"{p['model']} ({p['stage']}): {p['value']:.3g}"
                                           for p in e["points"])]
                                for m, e in by_measure.items()], left=2))
    return parts
