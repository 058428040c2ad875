"""Blind pairs of texts and the human judgements of them, in the run's database.

The pairs are drawn once, the first time a run is judged (``arena rate serve`` or
``arena rate export``), from the stored answers of its text games:

* answers are grouped by game and prompt; within a prompt, the k-th answer of one agent
  is paired with the k-th answer of each other agent (two texts that are the same are
  not a question and are skipped);
* a ``numpy.random.Generator`` seeded from the run's seed shuffles the pairs and puts
  each pair's texts left or right at random;
* a few pairs (a tenth, at least 1 and at most 10, when there are 4 or more) come back
  later, at least a third of the list further on, with the sides swapped, so each
  rater's consistency can be measured;
* pair ids are ``P001``, ``P002``... in the order every rater sees them, so the ids say
  nothing about the writers, nor about which pairs are repeats.

A judgement is stored as given, in its own transaction, and is never overwritten: a
rater has one answer per pair and criterion, the first. An import (:func:`import_rows`)
is one transaction: the whole file or nothing; a row that is already in the database
with the same choice is not stored again, one that contradicts it is an error.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from arena.errors import ArenaError
from arena.ratings_schema import CHOICES, CRITERIA
from arena.store_files import rollback

# a constant mixed into the run's seed: the pairs' draw is its own random stream
_PAIR_STREAM = 0x52415445
MAX_RATER_CHARS = 60
MAX_COMMENT_CHARS = 2000


@dataclass(frozen=True)
class Pair:
    pair_id: str
    position: int
    prompt: str
    left_text: str
    right_text: str
    left_agent: str
    right_agent: str
    repeat_of: str | None
    left_reward: float | None = None
    right_reward: float | None = None


def has_tables(conn: sqlite3.Connection) -> bool:
    """Whether the run has the ratings tables (a read-only run from before them has not)."""
    row = conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND "
                       "name IN ('rating_pairs', 'judgements')").fetchone()
    return row[0] == 2


def _answers(conn: sqlite3.Connection, config: dict[str, Any]) -> list[dict[str, Any]]:
    """Every stored answer of the run's text games, with the prompt it answered."""
    from arena.match import start_episode
    from envs import get_game, make_game

    args = {g["id"]: g.get("args") or {} for g in config.get("games") or ()}
    out: list[dict[str, Any]] = []
    games = [g for (g,) in conn.execute("SELECT DISTINCT game FROM matches ORDER BY game")]
    for game in games:
        try:
            if get_game(game).kind != "text":
                continue
        except KeyError:
            continue
        env = make_game(game, **args.get(game, {}))
        try:
            rows = conn.execute(
                "SELECT r.match, r.round, r.agent, r.action, r.reward, r.episode, m.seed "
                "FROM rounds r JOIN matches m ON m.idx = r.match WHERE m.game = ? "
                "AND (r.forfeit IS NULL OR r.forfeit = 0) ORDER BY r.match, r.round, r.seat",
                (game,)).fetchall()
            for match, rnd, agent, action, reward, episode, seed in rows:
                if not isinstance(action, str) or not action.strip():
                    continue
                _, context = start_episode(env, game, "text", int(seed), int(episode or 0))
                out.append({"game": game, "prompt": context["prompt"], "match": match,
                            "round": rnd, "agent": agent, "text": action, "reward": reward})
        finally:
            env.close()
    return out


def _draw(answers: list[dict[str, Any]], seed: int) -> list[tuple[dict, dict, str | None]]:
    """The pairs in the order raters see them: (left answer, right answer, repeat_of index)."""
    groups: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = defaultdict(
        lambda: defaultdict(list))
    for a in answers:
        groups[(a["game"], a["prompt"])][a["agent"]].append(a)
    pairs: list[tuple[dict, dict]] = []
    for key in sorted(groups):
        by_agent = groups[key]
        names = sorted(by_agent)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                for x, y in zip(by_agent[a], by_agent[b], strict=False):
                    if x["text"].strip() != y["text"].strip():
                        pairs.append((x, y))
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFFFFFFFFFF, _PAIR_STREAM])
    order = rng.permutation(len(pairs))
    flips = rng.random(len(pairs)) < 0.5
    shown: list[tuple[dict, dict, Any]] = []
    for k, i in enumerate(order):
        x, y = pairs[int(i)]
        shown.append((y, x, None) if flips[k] else (x, y, None))
    n = len(shown)
    gap = max(3, n // 3)
    # only pairs early enough for their repeat to come `gap` places later
    repeats = min(10, max(1, round(n / 10)), n - gap) if n >= 4 else 0
    chosen = sorted(int(i) for i in rng.choice(n - gap, size=repeats, replace=False)
                    ) if repeats > 0 else []
    # each repeat goes at least `gap` places after its original (or at the end)
    slots: list[list[tuple[dict, dict, Any]]] = [[item] for item in shown]
    for i in chosen:
        at = i + gap + int(rng.integers(0, n - i - gap))
        left, right, _ = shown[i]
        slots[at].append((right, left, i))
    flat = [item for slot in slots for item in slot]
    position_of = {id(item): p for p, item in enumerate(flat)}
    originals = {i: position_of[id(slots[i][0])] for i in range(n)}
    return [(a, b, None if rep is None else originals[rep]) for a, b, rep in flat]


def ensure_pairs(conn: sqlite3.Connection, *, seed: int, config: dict[str, Any]) -> int:
    """Draw the run's pairs unless they exist; how many there are."""
    (count,) = conn.execute("SELECT COUNT(*) FROM rating_pairs").fetchone()
    if count:
        return int(count)
    drawn = _draw(_answers(conn, config), seed)
    width = max(3, len(str(len(drawn))))
    ids = [f"P{p + 1:0{width}d}" for p in range(len(drawn))]
    rows = [(ids[p], p, left["game"], left["prompt"], left["match"], left["round"],
             left["agent"], right["match"], right["round"], right["agent"],
             None if rep is None else ids[rep]) for p, (left, right, rep) in enumerate(drawn)]
    try:
        conn.execute("BEGIN IMMEDIATE")
        (count,) = conn.execute("SELECT COUNT(*) FROM rating_pairs").fetchone()
        if not count:  # another process may have drawn them meanwhile: the same ones
            conn.executemany("INSERT INTO rating_pairs VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise
    (count,) = conn.execute("SELECT COUNT(*) FROM rating_pairs").fetchone()
    return int(count)


_PAIR_QUERY = (
    "SELECT p.pair_id, p.position, p.prompt, l.action, r.action, p.left_agent, "
    "p.right_agent, p.repeat_of, l.reward, r.reward FROM rating_pairs p "
    "JOIN rounds l ON l.match = p.left_match AND l.round = p.left_round "
    "AND l.agent = p.left_agent "
    "JOIN rounds r ON r.match = p.right_match AND r.round = p.right_round "
    "AND r.agent = p.right_agent ")


def pairs(conn: sqlite3.Connection) -> list[Pair]:
    """Every pair in the order raters see them."""
    if not has_tables(conn):
        return []
    return [Pair(*row) for row in conn.execute(_PAIR_QUERY + "ORDER BY p.position")]


def pair(conn: sqlite3.Connection, pair_id: str) -> Pair | None:
    row = conn.execute(_PAIR_QUERY + "WHERE p.pair_id = ?", (pair_id,)).fetchone()
    return None if row is None else Pair(*row)


def check_rater(name: str) -> str:
    """A rater's name as stored (trimmed), or a clear error."""
    name = " ".join(str(name).split())
    if not name:
        raise ArenaError("a rater needs a name")
    if len(name) > MAX_RATER_CHARS:
        raise ArenaError(f"a rater's name has at most {MAX_RATER_CHARS} characters")
    return name


def answered(conn: sqlite3.Connection, rater: str) -> dict[str, dict[str, str]]:
    """pair_id -> criterion -> choice, for everything ``rater`` has answered."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for pair_id, criterion, choice in conn.execute(
            "SELECT pair_id, criterion, choice FROM judgements WHERE rater = ?", (rater,)):
        out[pair_id][criterion] = choice
    return dict(out)


def next_pair(conn: sqlite3.Connection, rater: str) -> tuple[Pair | None, int, int]:
    """The first pair ``rater`` has not fully answered, how many are done and the total."""
    done = {p for p, c in answered(conn, rater).items() if len(c) == len(CRITERIA)}
    all_pairs = pairs(conn)
    for p in all_pairs:
        if p.pair_id not in done:
            return p, len(done), len(all_pairs)
    return None, len(done), len(all_pairs)


def save_answer(conn: sqlite3.Connection, *, rater: str, pair_id: str,
                choices: dict[str, str], comment: str = "") -> bool:
    """Store one pair's answers in one transaction; False when ``rater`` had already
    answered it (the first answers stand)."""
    rater = check_rater(rater)
    if set(choices) != set(CRITERIA) or not set(choices.values()) <= set(CHOICES):
        raise ArenaError("answer each question with left, right or tie")
    comment = comment.strip()[:MAX_COMMENT_CHARS]
    now = time.time()
    try:
        conn.execute("BEGIN IMMEDIATE")
        if conn.execute("SELECT 1 FROM rating_pairs WHERE pair_id = ?", (pair_id,)
                        ).fetchone() is None:
            raise ArenaError(f"no pair {pair_id!r} in this run")
        stored = conn.executemany(
            "INSERT INTO judgements (rater, pair_id, criterion, choice, source, created) "
            "VALUES (?, ?, ?, ?, 'web', ?) ON CONFLICT (rater, pair_id, criterion) DO NOTHING",
            [(rater, pair_id, c, choices[c], now) for c in CRITERIA]).rowcount
        if comment:
            conn.execute("INSERT INTO rating_comments VALUES (?, ?, ?, ?) ON CONFLICT "
                         "(rater, pair_id) DO NOTHING", (rater, pair_id, comment, now))
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise
    return stored > 0


def judgements(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every judgement with the pair's writers: ``rater``, ``pair_id``, ``criterion``,
    ``choice``, ``left``, ``right`` (agents), ``repeat_of``."""
    if not has_tables(conn):
        return []
    return [{"rater": rater, "pair_id": pid, "criterion": crit, "choice": choice,
             "left": left, "right": right, "repeat_of": rep}
            for rater, pid, crit, choice, left, right, rep in conn.execute(
                "SELECT j.rater, j.pair_id, j.criterion, j.choice, p.left_agent, "
                "p.right_agent, p.repeat_of FROM judgements j JOIN rating_pairs p "
                "ON p.pair_id = j.pair_id ORDER BY p.position, j.rater, j.criterion")]


def comments(conn: sqlite3.Connection) -> list[dict[str, str]]:
    if not has_tables(conn):
        return []
    return [{"rater": r, "pair_id": p, "comment": c} for r, p, c in conn.execute(
        "SELECT c.rater, c.pair_id, c.comment FROM rating_comments c JOIN rating_pairs p "
        "ON p.pair_id = c.pair_id ORDER BY p.position, c.rater")]


def import_rows(conn: sqlite3.Connection, rows: list[dict[str, str]], *, name: str,
                digest: str) -> tuple[int, int]:
    """Store checked rows (``rater``, ``pair_id``, ``criterion``, ``choice``, ``line``) in
    one transaction: (stored, already there). Any problem stores nothing."""
    now = time.time()
    try:
        conn.execute("BEGIN IMMEDIATE")
        known = {p for (p,) in conn.execute("SELECT pair_id FROM rating_pairs")}
        existing = {(r, p, c): ch for r, p, c, ch in conn.execute(
            "SELECT rater, pair_id, criterion, choice FROM judgements")}
        fresh: list[tuple[str, str, str, str]] = []
        seen: dict[tuple[str, str, str], tuple[str, int]] = {}
        for row in rows:
            key = (row["rater"], row["pair_id"], row["criterion"])
            where = f"row {row['line']}"
            if row["pair_id"] not in known:
                raise ArenaError(f"{name}: {where}: no pair {row['pair_id']!r} in this run "
                                 "(export the pairs with `arena rate export`)")
            if key in seen:
                if seen[key][0] != row["choice"]:
                    raise ArenaError(f"{name}: {where}: {row['rater']!r} judged "
                                     f"{row['pair_id']} on {row['criterion']} already in row "
                                     f"{seen[key][1]}, differently")
                continue
            seen[key] = (row["choice"], row["line"])
            if key in existing:
                if existing[key] != row["choice"]:
                    raise ArenaError(f"{name}: {where}: {row['rater']!r} judged "
                                     f"{row['pair_id']} on {row['criterion']} as "
                                     f"{existing[key]!r} already; this row says "
                                     f"{row['choice']!r}")
                continue
            fresh.append((*key, row["choice"]))
        if fresh:
            cur = conn.execute("INSERT INTO rating_imports (name, sha256, rows, created) "
                               "VALUES (?, ?, ?, ?)", (name, digest, len(fresh), now))
            conn.executemany(
                "INSERT INTO judgements (rater, pair_id, criterion, choice, source, "
                "import_id, created) VALUES (?, ?, ?, ?, 'import', ?, ?)",
                [(*f, cur.lastrowid, now) for f in fresh])
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise
    return len(fresh), len(rows) - len(fresh)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
