"""What a game is, without building it again: one cached description per game.

Readers that need to know a game's moves, roles or payoffs (the tidy export, the views,
the report, ``arena prompt``) ask :func:`game_facts` instead of building an env to read
them. The env is built once per game id and arguments (a game's facts depend on both: a
``random_number`` game's values, a ``hide_and_seek`` graph), and the description kept.

    facts = game_facts(config.game("rps"))          # a resolved config's game
    facts = game_facts({"id": "rps", "args": {}})   # a stored config snapshot's entry
    facts.action_names, facts.roles, facts.payoff("player_0")

Building the env runs the game's own checks on its arguments, so an id or arguments the
game refuses raise here as they would when the game is made.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np


@dataclass(frozen=True)
class GameFacts:
    """A game played with given arguments, as the readers of a run need it.

    ``kind``          ``matrix``, ``numbers`` or ``text`` (:data:`envs.KINDS`)
    ``roles``         the env's agent ids in seat order (``("solo",)`` for solo tasks)
    ``action_names``  one label per action index: a matrix game's moves, a numbers
                      task's values as text (``"0"`` ... ``"10"``); none for text
    ``payoffs``       matrix games: role -> its payoff matrix (rows: its own action,
                      columns: the opponent's), so the game seen from each seat
    ``low``, ``high``, ``length``  numbers tasks: the value range and a sequence's length
    ``rounds``        matrix games: the rounds of a match (solo tasks count episodes)
    ``nash``          games that solve themselves (hide-and-seek): ``(hider, seeker,
                      seeker_value)``, the equilibrium strategies and value
    """

    id: str
    kind: str
    roles: tuple[str, ...]
    action_names: tuple[str, ...]
    payoffs: Mapping[str, np.ndarray]
    low: int | None = None
    high: int | None = None
    length: int | None = None
    nash: tuple[np.ndarray, np.ndarray, float] | None = None
    rounds: int | None = None

    @property
    def solo(self) -> bool:
        """A single-agent task (one agent's series of episodes) rather than a match."""
        return self.kind != "matrix"

    def payoff(self, role: str) -> np.ndarray:
        """The stage game's payoff matrix seen from ``role``'s seat."""
        return self.payoffs[role]


def game_facts(game: Any) -> GameFacts:
    """The facts of ``game``: a resolved config's game (``.id``, ``.args``) or a stored
    snapshot's entry (``{"id": ..., "args": ...}``); cached per id and arguments."""
    if isinstance(game, Mapping):
        game_id, args = game["id"], game.get("args") or {}
    else:
        game_id, args = game.id, game.args
    return facts_of(game_id, args)


def facts_of(game_id: str, args: Mapping[str, Any] | None = None) -> GameFacts:
    """The facts of game ``game_id`` played with ``args``; cached."""
    return _facts(game_id, json.dumps(dict(args or {}), sort_keys=True))


@lru_cache(maxsize=64)
def _facts(game_id: str, args_json: str) -> GameFacts:
    from envs import get_game

    spec = get_game(game_id)
    if spec.kind == "text":  # nothing to learn from the env: free text, one seat
        return GameFacts(game_id, spec.kind, ("solo",), (), {})
    env = spec.make(**json.loads(args_json))
    try:
        raw = env.unwrapped
        if spec.kind == "numbers":
            low, high = int(raw.low), int(raw.high)
            return GameFacts(game_id, spec.kind, ("solo",),
                             tuple(str(v) for v in range(low, high + 1)), {},
                             low=low, high=high, length=int(raw.length))
        roles = tuple(raw.possible_agents)
        payoffs = {role: _frozen(raw.payoff_for(role)) for role in roles}
        nash = None
        if callable(getattr(raw, "nash", None)):
            hider, seeker, value = raw.nash()
            nash = (_frozen(hider), _frozen(seeker), float(value))
        return GameFacts(game_id, spec.kind, roles, tuple(str(n) for n in raw.action_names),
                         payoffs, nash=nash, rounds=int(raw.rounds))
    finally:
        env.close()


def _frozen(values: Any) -> np.ndarray:
    """A read-only copy: the description is shared by every reader."""
    array = np.array(values)
    array.setflags(write=False)
    return array
