"""The games. One module each, following PettingZoo (two players) and Gymnasium (solo).

``GAMES`` maps the ids used in configs to a :class:`GameSpec`; constructors are
``"module:attr"`` strings so that nothing is imported until a game is made.
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


@dataclass(frozen=True)
class GameSpec:
    """How to build one game.

    ``kind`` is ``"parallel"`` for two-player PettingZoo ``ParallelEnv`` games and
    ``"solo"`` for single-agent Gymnasium tasks. ``entry_point`` builds the env
    from keyword arguments (``parallel_env`` for PettingZoo games).
    """

    id: str
    kind: Literal["parallel", "solo"]
    entry_point: str
    gym_id: str | None = None

    def load(self) -> Any:
        module_name, _, attr = self.entry_point.partition(":")
        return getattr(importlib.import_module(module_name), attr)

    def make(self, **kwargs: Any) -> Any:
        return self.load()(**kwargs)


GAMES: dict[str, GameSpec] = {
    "rps": GameSpec("rps", "parallel", "envs.rps:parallel_env"),
    "hide_and_seek": GameSpec("hide_and_seek", "parallel", "envs.hide_and_seek:parallel_env"),
    "random_number": GameSpec("random_number", "solo", "envs.random_number:RandomNumberEnv",
                              gym_id="arena/RandomNumber-v0"),
    "creative_writing": GameSpec("creative_writing", "solo",
                                 "envs.creative_writing:CreativeWritingEnv",
                                 gym_id="arena/CreativeWriting-v0"),
}


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


for _spec in GAMES.values():
    if _spec.gym_id and _spec.gym_id not in gymnasium.registry:
        # both solo tasks learn across episodes (predictor, archive): a seed alone does not
        # fix a step's reward, which tells gymnasium's checker not to expect that
        gymnasium.register(id=_spec.gym_id, entry_point=_spec.entry_point,
                           nondeterministic=True)
