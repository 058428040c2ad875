"""# Repeated Rock-Paper-Scissors (``rps_v0``)

Two players show a hand at the same time, round after round; each sees the whole
history of the match so far.

| Property           | Value                                                     |
|--------------------|-----------------------------------------------------------|
| Import             | `from envs import rps; env = rps.parallel_env()`          |
| Parallel API       | Yes (native `ParallelEnv`); `rps.env()` gives the AEC one |
| Agents             | `player_0`, `player_1`                                    |
| Action space       | `Discrete(n_actions)`                                     |
| Observation shape  | `(rounds, 2)`, int64                                      |
| Observation values | `-1` (not yet played) to `n_actions - 1`                  |

## Actions

| Value | Action   |
|-------|----------|
| 0     | rock     |
| 1     | paper    |
| 2     | scissors |
| 3     | spock    |
| 4     | lizard   |

Actions 3 and 4 exist only with ``n_actions=5`` (rock-paper-scissors-lizard-Spock).
The raw env's ``action_names`` lists the names in use, for prompts and displays.

## Who beats whom

Action ``a`` beats ``b`` if and only if ``(a - b) mod n`` is odd. With three actions
that is ordinary RPS; with five it is the usual lizard-Spock rules (Spock smashes
scissors and vaporizes rock, lizard eats paper and poisons Spock, and so on).
``payoff_matrix(n_actions)`` returns the stage game as a matrix.

## Observation

Each agent gets an int64 array of shape ``(rounds, 2)``: row ``t`` is (own move,
opponent's move) in round ``t`` and ``-1`` marks rounds not yet played. Unlike
PettingZoo's ``rps_v2``, which shows only the opponent's last move, agents see the
whole history. The array is a read-only view that fills in as the match goes on;
copy it to keep a snapshot.

## Arguments

``parallel_env(*, rounds=100, n_actions=3, render_mode=None)``

- ``rounds``: rounds per match; every agent is truncated after the last one.
- ``n_actions``: 3 for rock-paper-scissors, 5 for rock-paper-scissors-lizard-Spock.
- ``render_mode``: ``None``, ``"ansi"`` (``render()`` returns the last round as a
  line of text) or ``"human"`` (that line is printed after every step).

## Rewards

| Round result | Winner | Loser | Draw |
|--------------|--------|-------|------|
| Reward       | +1     | -1    | 0    |

## Context for agents

``raw_env.context(agent)`` gives ``action_names`` and ``payoff`` (the stage game
from that agent's seat: rows own action, columns opponent's, entries own reward).

## Version history

- v0: first version: full-history observation, ``rounds`` and ``n_actions`` arguments.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from envs.repeated_game import RepeatedZeroSumGame, aec_env

ACTION_NAMES: tuple[str, ...] = ("rock", "paper", "scissors", "spock", "lizard")
"""All action names, by index; a game with ``n_actions`` uses the first ``n_actions``."""

VALID_N_ACTIONS = (3, 5)


def payoff_matrix(n_actions: int) -> np.ndarray:
    """The stage game for the row player: +1 where row beats column, -1 where it loses.

    >>> payoff_matrix(3)[1, 0].item()  # paper beats rock
    1.0
    """
    _check_n_actions(n_actions)
    difference = np.subtract.outer(np.arange(n_actions), np.arange(n_actions)) % n_actions
    wins = difference % 2 == 1
    return wins.astype(float) - wins.T.astype(float)


def _check_n_actions(n_actions: int) -> int:
    # 3.0 == 3, but a float would break slicing the names later: integers only
    if (isinstance(n_actions, bool) or not isinstance(n_actions, (int, np.integer))
            or n_actions not in VALID_N_ACTIONS):
        raise ValueError(f"n_actions must be 3 or 5, got {n_actions!r}")
    return int(n_actions)


def env(**kwargs: Any) -> Any:
    """The AEC version, wrapped in PettingZoo's bounds and order checks."""
    return aec_env(raw_env(**kwargs))


class raw_env(RepeatedZeroSumGame):  # noqa: N801 (PettingZoo's module convention)
    """Repeated rock-paper-scissors as a native PettingZoo ``ParallelEnv``."""

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["ansi", "human"],
        "name": "rps_v0",
        "is_parallelizable": True,
    }

    def __init__(self, *, rounds: int = 100, n_actions: int = 3,
                 render_mode: str | None = None) -> None:
        self.n_actions = n_actions = _check_n_actions(n_actions)
        super().__init__(agents=("player_0", "player_1"),
                         action_names=ACTION_NAMES[:n_actions],
                         payoff=payoff_matrix(n_actions),
                         rounds=rounds, render_mode=render_mode)


parallel_env = raw_env
