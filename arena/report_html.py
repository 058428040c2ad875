"""The HTML of ``arena report``: one self-contained file that opens offline.

Safety: every text that came from a config, an agent or a model (names, prompts,
answers, action names, run names) goes through :func:`html.escape` before it is written;
the page has no scripts, fetches nothing (pictures are ``data:`` PNGs, styles inline,
system fonts) and says so in its Content-Security-Policy, so even a stray tag could load
nothing.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterable, Sequence
from typing import Any

from arena import report_plots as plots

CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
       "base-uri 'none'; form-action 'none'")
STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;
max-width:1180px;padding:0 18px 40px;color:#222}
h1{margin-top:24px}h2{border-bottom:2px solid #3b6ea8;padding-bottom:3px;margin-top:36px}
h3{margin-top:22px}table{border-collapse:collapse;margin:8px 0 14px;font-size:13px}
th,td{border:1px solid #d6d6d6;padding:3px 7px;text-align:right;vertical-align:top}
th{background:#f0f3f8}td.t,th.t{text-align:left}caption{text-align:left;color:#555;
padding:2px 0}.figs{display:flex;flex-wrap:wrap;gap:10px}.figs img{border:1px solid #eee;
max-width:100%}pre.answer{white-space:pre-wrap;background:#f7f7f7;padding:8px;
border-left:3px solid #3b6ea8;max-width:900px;overflow-wrap:anywhere}.note{color:#555}
code{background:#f3f3f3;padding:0 3px}.scroll{overflow-x:auto}details{margin:6px 0}dd{margin-bottom:8px}
"""


class Html(str):
    """Markup that is already safe (built here): not escaped again."""


def esc(value: Any) -> str:
    return value if isinstance(value, Html) else html.escape(str(value), quote=True)


def fmt(value: Any, digits: int = 3) -> str:
    """A number for a table cell (the JSON keeps full precision)."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if abs(value) < 1e-12:  # float noise of an exact zero (the JSON keeps it)
            value = 0.0
        if value != 0 and (abs(value) < 10 ** -digits or abs(value) >= 1e6):
            return f"{value:.{digits}g}" if abs(value) >= 1e6 else f"{value:.2e}"
        return f"{value:.{digits}f}"
    return esc(value)


def rich_text(text: str) -> Html:
    """A definition: escaped, then ``**bold**``, ````code```` and ``*em*`` marked up."""
    out = esc(text)
    out = re.sub(r"``(.+?)``", r"<code>\1</code>", out)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"(?<![\w*])\*(\S.*?)\*(?![\w*])", r"<em>\1</em>", out)
    return Html(out)


def table(headers: Sequence[Any], rows: Iterable[Sequence[Any]], *, caption: str = "",
          left: int = 1) -> Html:
    """A table; the first ``left`` columns are left-aligned text, numbers are formatted."""
    def cell(tag: str, i: int, v: Any) -> str:
        cls = ' class="t"' if i < left else ""
        text = esc(v) if isinstance(v, Html | str) else fmt(v)
        return f"<{tag}{cls}>{text}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>"
                   for row in rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return Html(f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}'
                "</tbody></table></div>")


def img(src: str, alt: str) -> Html:
    assert src.startswith("data:image/png;base64,")
    return Html(f'<img src="{src}" alt="{esc(alt)}">')


def _anchor(text: str) -> str:
    return "g-" + re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _leaderboard(rows: list[dict[str, Any]]) -> Html:
    from leaderboards.table import COLUMNS

    if not rows:
        return Html('<p class="note">no finished matches</p>')
    keys = list(rows[0])
    headers = [COLUMNS[k].long if k in COLUMNS else k for k in keys]
    return table(headers, ([r.get(k) for k in keys] for r in rows),
                 caption="leaderboard (as `arena leaderboard` computes it)")


def _numbers(game: dict[str, Any]) -> list[str]:
    agents = game["agents"]
    rows = []
    for name, f in agents.items():
        rep, runs, lag = f.get("repeats") or {}, f["runs"], f["lag1"]
        rows.append([name, f["n"], f["chi2"], f["p_value"], f["chi2_per_n"], f["kl_bits"],
                     f["entropy_bits"], rep.get("mean"), rep.get("uniform_mean"), rep.get("z"),
                     runs["z"], runs["p_value"], lag["r"], lag["p_value"]])
    parts = [table(["agent", "N", "χ²", "p", "χ²/N", "KL (bits)", "entropy (bits)",
                    "repeats/seq", "uniform", "repeats z", "runs z", "runs p", "lag-1 r",
                    "lag-1 p"], rows, caption="sampled: the numbers the agents said")]
    exact = [[name, f["exact"]["n"], f["exact"]["chi2_per_n"], f["exact"]["kl_bits"],
              f["exact"]["entropy_bits"], f["exact"]["mean_policy_entropy_bits"],
              f["exact"]["repeats_mean"], f["chi2_per_n"], f["entropy_bits"],
              (f.get("repeats") or {}).get("mean")]
             for name, f in agents.items() if f.get("exact")]
    if exact:
        parts.append(table(["agent", "N", "χ²/N", "KL (bits)", "entropy (bits)",
                            "mean policy entropy", "expected repeats/seq", "sampled χ²/N",
                            "sampled entropy", "sampled repeats"], exact,
                           caption="from stored policies (exact), beside the sampled figures"))
    figs = "".join(img(plots.numbers_plot(name, f), f"{name}: counts per value")
                   for name, f in agents.items())
    parts.append(Html(f'<div class="figs">{figs}</div>'))
    return parts


def _matrix(game: dict[str, Any]) -> list[str]:
    names = game["action_names"]
    rows, details, figs = [], [], []
    for name, f in game["agents"].items():
        for role, r in (f.get("roles") or {}).items():
            rows.append([name, role, r["source"], r["rounds"], r["mean_max_probability"],
                         f"{r['most_predictable_state']} → {r['its_move']}",
                         r["its_max_probability"], r["its_rounds"], r["br_marginal"],
                         r["br_conditioned"], r["br_per_decision"], r["equilibrium_value"],
                         r["exploitability_conditioned"], r["mean_reward"]])
            states = table(["state (own/opponent)", "rounds", *names, "entropy (bits)",
                            "largest p", "move"],
                           ([s["state"], s["rounds"], *s["distribution"], s["entropy_bits"],
                             s["max_probability"], s["most_likely"]] for s in r["states"]),
                           caption=f"{r['source']} action distribution per state")
            details.append(Html(f"<details><summary>{esc(name)} ({esc(role)}): every state"
                                f"</summary>{states}</details>"))
    parts = [table(["agent", "role", "from", "rounds", "mean largest p",
                    "most predictable state → move", "its p", "its rounds", "BR marginal",
                    "BR given prev. round", "BR per decision", "equilibrium", "exploitability",
                    "mean reward"], rows, left=3,
                   caption="best-response values are the opponent's reward per round; "
                           "exploitability = BR given the previous round − equilibrium")]
    if rows:
        parts.append(img(plots.exploitability_plot(game), "exploitability per agent"))
    if "equilibrium" in game:
        eq = game["equilibrium"]
        parts.append(Html("<h3>Find rates</h3>"))
        parts.append(table(["", *names], [["hider at equilibrium", *eq["hider"]],
                                          ["seeker at equilibrium", *eq["seeker"]]],
                           caption=f"equilibrium of nash(): find rate {eq['find_rate']:.4f}, "
                                   f"seeker value {eq['seeker_value']:.4f}"))
        rate_rows = [[n, r["as_seeker"]["rate"], r["as_seeker"]["ci_low"],
                      r["as_seeker"]["ci_high"], r["as_seeker"]["rounds"], r["as_hider"]["rate"],
                      r["as_hider"]["ci_low"], r["as_hider"]["ci_high"], r["as_hider"]["rounds"]]
                     for n, f in game["agents"].items() if (r := f.get("find_rate"))]
        parts.append(table(["agent", "finds as seeker", "95% low", "95% high", "rounds",
                            "found as hider", "95% low", "95% high", "rounds"], rate_rows,
                           caption=f"equilibrium find rate: {eq['find_rate']:.4f}"))
        if rate_rows:
            parts.append(img(plots.find_rate_plot(game), "find rates against equilibrium"))
    parts.append(Html("<h3>Predictability per state</h3>"))
    roles = list(dict.fromkeys(r for f in game["agents"].values() for r in (f.get("roles") or {})))
    for role in roles:
        for key in ("max_probability", "entropy_bits"):
            figs.append(img(plots.state_heatmaps(game, role, key), f"{key} per state ({role})"))
    parts.append(Html(f'<div class="figs">{"".join(figs)}</div>'))
    parts.extend(details)
    return parts


def _text(game: dict[str, Any]) -> list[str]:
    agents = game["agents"]
    components = list(dict.fromkeys(c for f in agents.values() for c in f["components"]))
    rows = [[n, f["answers"], f["originality"], f["ci_low"], f["ci_high"], f["quality"],
             f["penalty"], *[f["components"].get(c) for c in components], f["mean_words"],
             f["duplicate_share"], f["pooled_distinct_1"], f["pooled_distinct_2"]]
            for n, f in agents.items()]
    parts = [table(["agent", "answers", "originality", "95% low", "95% high", "quality",
                    "penalty", *components, "words", "duplicates", "pooled distinct-1",
                    "pooled distinct-2"], rows, caption="means over each agent's answers")]
    if game.get("replay_mismatches"):
        parts.append(Html(f'<p class="note">{game["replay_mismatches"]} answers scored '
                          "differently on replay than when played (the scorer changed).</p>"))
    if agents:
        parts.append(img(plots.writing_plot(game), "originality components per agent"))
    for name, f in agents.items():
        parts.append(Html(f"<h3>Examples: {esc(name)}</h3>"))
        for ex in f["examples"]:
            parts.append(Html(f'<p class="note">{esc(ex["rank"])}, originality '
                              f'{ex["originality"]:.3f}; prompt: {esc(ex["prompt"])}</p>'
                              f'<pre class="answer">{esc(ex["text"])}</pre>'))
    return parts


def _families(data: dict[str, Any]) -> list[str]:
    parts = [Html("<h2 id=\"families\">Families: base against aligned</h2>")]
    if not data["families"]:
        parts.append(Html('<p class="note">No agent has a <code>family</code> tag. Tag agents '
                          "in the config (<code>family: llama-3.1-8b</code>, "
                          "<code>aligned: true</code>) to compare base and aligned models "
                          "side by side.</p>"))
    for family, f in data["families"].items():
        kinds = {True: "aligned", False: "base", None: "untagged"}
        headers = ["game", "metric", *[Html(f"{esc(a['name'])}<br>({kinds[a['aligned']]})")
                                       for a in f["agents"]]]
        rows = [[r["game"], r["metric"], *[r["values"].get(a["name"]) for a in f["agents"]]]
                for r in f["rows"]]
        parts.append(Html(f"<h3>{esc(family)}</h3>"))
        parts.append(table(headers, rows, left=2))
    return parts


def _unpredictability(data: dict[str, Any]) -> list[str]:
    """Which agent is more random, per game, with intervals; and the notes (runs whose
    matches were counted once)."""
    parts = [Html(f'<p class="note">{esc(n)}</p>') for n in data.get("notes") or ()]
    summary = data.get("unpredictability") or {}
    if summary:
        parts.append(Html('<h2 id="unpredictability">Unpredictability: which agent is more '
                          "random</h2>"))
    for key, u in summary.items():
        parts.append(Html(f"<h3>{esc(key)}</h3>"))
        parts.append(table(["#", "agent", "role", u["measure"], "95% low", "95% high"],
                           ([str(i), r["agent"], r["role"] or "all", r["value"], r["ci_low"],
                             r["ci_high"]] for i, r in enumerate(u["rows"], 1)), left=3,
                           caption=f"most unpredictable first ({u['better']} is more "
                                   "unpredictable); bootstrap over episodes or matches"))
    return parts


def _definitions(data: dict[str, Any]) -> list[str]:
    titles = {"numbers": "Random numbers", "matrix": "Games", "text": "Creative writing"}
    parts = [Html('<h2 id="definitions">Definitions</h2>')]
    for key, items in data["definitions"].items():
        parts.append(Html(f'<h3 id="def-{key}">{titles.get(key, esc(key))}</h3><ul>'
                          + "".join(f"<li>{rich_text(t)}</li>" for t in items) + "</ul>"))
    return parts


def render_html(data: dict[str, Any]) -> str:
    """The whole report page for the output of :func:`arena.report.analyze`."""
    runs = data["runs"]
    title = "arena report: " + ", ".join(r["name"] for r in runs)
    body: list[str] = [Html(f"<h1>{esc(title)}</h1>")]
    toc = "".join(f'<li><a href="#{_anchor(k)}">{esc(k)}</a></li>' for k in data["games"])
    body.append(Html(f'<ul><li><a href="#families">families</a></li>{toc}'
                     '<li><a href="#human">human judgements</a></li>'
                     '<li><a href="#tradeoff">trade-off</a></li>'
                     '<li><a href="#definitions">definitions</a></li></ul>'))
    body.append(table(["run", "name", "directory", "created", "matches"],
                      ([r["label"], r["name"], r["directory"],
                        time.strftime("%Y-%m-%d %H:%M", time.localtime(r["created"])),
                        r["matches"]] for r in runs), left=4))
    body.append(table(["agent", "type", "family", "aligned", "runs"],
                      ([n, a["type"], a.get("family") or "", a.get("aligned"),
                        ", ".join(a["runs"])] for n, a in data["agents"].items()), left=3))
    body.extend(_unpredictability(data))
    body.extend(_families(data))
    render = {"numbers": _numbers, "matrix": _matrix, "text": _text}
    for key, game in data["games"].items():
        args = ", ".join(f"{k}={v}" for k, v in game["args"].items())
        body.append(Html(f'<h2 id="{_anchor(key)}">{esc(key)}</h2>'
                         f'<p class="note">{esc(game["kind"])} game {esc(game["game"])}'
                         f'{" (" + esc(args) + ")" if args else ""}; runs: '
                         f'{esc(", ".join(game["runs"]))}; definitions: '
                         f'<a href="#def-{game["kind"]}">below</a></p>'))
        body.append(_leaderboard(game["leaderboard"]))
        body.extend(render[game["kind"]](game))
    from arena.report_human_views import html as human_html

    body.extend(human_html(data))
    body.extend(_definitions(data))
    body.append(Html('<p class="note">Every number in this report, at full precision, is in '
                     "the JSON file written beside it.</p>"))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
