"""The games. One module each, following PettingZoo (two players) and Gymnasium (solo).

``GAMES`` maps the ids used in configs to a :class:`GameSpec`: what kind of game it is
(what the engine and the agents need to know), whether it is played as role-swapped
pairs, and a ``"module:attr"`` constructor, so nothing is imported until a game is made.
:func:`register_game` adds one (a new repeated matrix game needs nothing else).
Importing this package also registers the solo tasks with Gymnasium
(``arena/RandomNumber-v0``, ``arena/CreativeWriting-v0``).

This package is the lowest layer: it imports nothing else from the project.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from typing import Any, Literal

import gymnasium

#: the kinds of game, which is what the engine and the agents need to know about one:
#: ``matrix`` -- a repeated two-player zero-sum matrix game (PettingZoo ``ParallelEnv``
#: whose raw env has ``action_names`` and ``context(role)`` with the stage ``payoff``);
#: ``numbers`` and ``text`` -- single-agent Gymnasium tasks answered with a number or text.
KINDS = ("matrix", "numbers", "text")


@dataclass(frozen=True)
class GameSpec:
    """One game's registry entry: how to build it and what kind of game it is.

    ``entry_point`` builds the env from keyword arguments (``parallel_env`` for
    PettingZoo games). ``role_swap`` names the verb of the first seat's role when the
    two seats are different roles, so every pairing is played as a role-swapped pair
    (``"hides"``: ``a-hides`` and ``b-hides``); ``None`` for symmetric games.

    A round an agent gives up is played with the kind's forfeit move: in a matrix game
    the agent's worst reply to the opponent's move (from its payoff column), in a solo
    task the env's ``forfeit_action(observation)``, the move worth the least reward.
    """

    id: str
    kind: Literal["matrix", "numbers", "text"]
    entry_point: str
    role_swap: str | None = None
    gym_id: str | None = None

    @property
    def solo(self) -> bool:
        """Single-agent task (one agent's series of episodes) rather than a match."""
        return self.kind != "matrix"

    def load(self) -> Any:
        module_name, _, attr = self.entry_point.partition(":")
        return getattr(importlib.import_module(module_name), attr)

    def make(self, **kwargs: Any) -> Any:
        return self.load()(**kwargs)


GAMES: dict[str, GameSpec] = {}


def register_game(spec: GameSpec) -> GameSpec:
    """Add a game to :data:`GAMES` (and Gymnasium's registry when it has a ``gym_id``)."""
    if spec.kind not in KINDS:
        raise ValueError(f"game {spec.id!r}: kind must be one of {', '.join(KINDS)}")
    GAMES[spec.id] = spec
    if spec.gym_id and spec.gym_id not in gymnasium.registry:
        # both solo tasks learn across episodes (predictor, archive): a seed alone does not
        # fix a step's reward, which tells gymnasium's checker not to expect that
        gymnasium.register(id=spec.gym_id, entry_point=spec.entry_point, nondeterministic=True)
    return spec


register_game(GameSpec("rps", "matrix", "envs.rps:parallel_env"))
register_game(GameSpec("hide_and_seek", "matrix", "envs.hide_and_seek:parallel_env",
                       role_swap="hides"))
register_game(GameSpec("random_number", "numbers", "envs.random_number:RandomNumberEnv",
                       gym_id="arena/RandomNumber-v0"))
register_game(GameSpec("creative_writing", "text", "envs.creative_writing:CreativeWritingEnv",
                       gym_id="arena/CreativeWriting-v0"))


def get_game(game_id: str) -> GameSpec:
    """Look up a game id, with a "did you mean" on a miss."""
    try:
        return GAMES[game_id]
    except KeyError:
        close = difflib.get_close_matches(game_id, list(GAMES), n=2)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(f"unknown game {game_id!r}{hint} (games: {', '.join(GAMES)})") from None


def make_game(game_id: str, **kwargs: Any) -> Any:
    """Build the env for ``game_id`` with its arguments."""
    return get_game(game_id).make(**kwargs)

