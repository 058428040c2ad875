"""``arena export DIR --tidy``: one row per decision, flat, ready for ``pandas.read_csv``.

Columns, in this order:

``run``           the run's name (from its config)
``match``         the match key (a solo task: the agent's series)
``game``          the game id
``round``         1-based position of the decision in its match (a solo series counts
                  every step of every episode)
``episode``       solo tasks: the episode (0-based), else empty
``step``          solo tasks: the step within the episode (0-based), else empty
``seat``          0 or 1 (solo: 0)
``role``          the env's id for the seat (``player_0``, ``hider_0``, ``solo``)
``agent``         the agent's name
``opponent``      the other agent's name (solo: empty)
``action``        the move's name (``rock``, ``kitchen``), the number said, or the text written
``action_index``  the move's index (the number's offset from ``low``), empty for texts
``reward``        the reward of that decision
``forfeit``       1 when the agent gave the decision up (the engine played for it), else 0
``p_<action>``    one column per action of every game in the run (``p_rock``, ``p_0`` ...
                  ``p_10``): the probability the agent's stored policy gave it, empty when the
                  agent stored no policy or the game has no such action
``arena_version``, ``config_sha256``  last, as in every export row: the arena's version
                  that made the run and the SHA-256 of its resolved config

Numbers are written as numbers (floats at full precision); every text cell goes through
:func:`leaderboards.csv_safe.safe_cell`, so a spreadsheet never runs one as a formula.
JSON lines (``--format jsonl --tidy``) carry the same keys, with ``null`` for empty.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any, TextIO

from leaderboards.csv_safe import safe_cell

FIXED = ["run", "match", "game", "round", "episode", "step", "seat", "role", "agent",
         "opponent", "action", "action_index", "reward", "forfeit"]


class GameActions:
    """A game's action labels in index order (numbers: the values as text; texts: none)
    and, for numbers, the lowest value (an action's index is its offset from it)."""

    def __init__(self, game: str, args: dict[str, Any]) -> None:
        from arena.game_facts import facts_of

        facts = facts_of(game, args)
        self.kind = facts.kind
        self.labels: list[str] = list(facts.action_names)
        self.low = facts.low or 0

    def name_and_index(self, action: Any) -> tuple[Any, int | None]:
        """The action as the ``action`` column shows it, and its index."""
        if self.kind == "text" or isinstance(action, bool) or not isinstance(action, int):
            return action, None
        if self.kind == "numbers":
            return action, action - self.low
        known = 0 <= action < len(self.labels)
        return (self.labels[action] if known else action), action


def tidy_rows(store: Any) -> tuple[list[str], Iterator[dict[str, Any]]]:
    """The column names and one row per decision of every match, in schedule order."""
    config = store.run_info().get("config") or {}
    args = {g["id"]: g.get("args") or {} for g in config.get("games") or ()}
    games = {game: GameActions(game, args.get(game, {})) for game in store.games()}
    columns = list(FIXED)
    for actions in games.values():
        for label in actions.labels:
            if f"p_{label}" not in columns:
                columns.append(f"p_{label}")
    run = store.run_info().get("name")
    from arena.export import PROVENANCE, provenance_of

    origin = provenance_of(store.run_info())
    columns += [c for c in PROVENANCE if c != "run"]

    def rows() -> Iterator[dict[str, Any]]:
        for record in store.iter_results(rounds=True):
            actions = games[record["game"]]
            agents, roles = record["agents"], record["roles"]
            for number, entry in enumerate(record["round_log"], 1):
                forfeited = entry.get("forfeited") or ()
                for seat, agent in enumerate(agents):
                    name, index = actions.name_and_index(entry["actions"].get(agent))
                    row = {"run": run, "match": record["key"], "game": record["game"],
                           "round": number, "episode": entry.get("episode"),
                           "step": entry.get("step"), "seat": seat,
                           "role": roles[seat] if seat < len(roles) else None,
                           "agent": agent,
                           "opponent": agents[1 - seat] if len(agents) == 2 else None,
                           "action": name, "action_index": index,
                           "reward": entry["rewards"].get(agent),
                           "forfeit": 1 if agent in forfeited else 0}
                    probs = (entry.get("probabilities") or {}).get(agent)
                    for label, p in zip(actions.labels, probs or (), strict=False):
                        row[f"p_{label}"] = p
                    row.update(origin)
                    yield row

    return columns, rows()


def write_tidy_csv(columns: list[str], rows: Iterator[dict[str, Any]], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([safe_cell(c) for c in columns])
    count = 0
    for row in rows:
        writer.writerow(["" if (v := row.get(c)) is None else safe_cell(v) for c in columns])
        count += 1
    return count


def write_tidy_jsonl(columns: list[str], rows: Iterator[dict[str, Any]], out: TextIO) -> int:
    count = 0
    for row in rows:
        out.write(json.dumps({c: row.get(c) for c in columns}, ensure_ascii=False) + "\n")
        count += 1
    return count


def export_tidy(store: Any, out: TextIO, *, fmt: str = "csv") -> int:
    """Write one row per decision of ``store`` to ``out`` as CSV or JSON lines; returns
    the number of rows."""
    columns, rows = tidy_rows(store)
    if fmt == "jsonl":
        return write_tidy_jsonl(columns, rows, out)
    return write_tidy_csv(columns, rows, out)
