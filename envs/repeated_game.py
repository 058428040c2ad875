"""The machinery shared by the two-player games: a repeated zero-sum matrix game.

Not a game of its own; ``envs/rps.py`` and ``envs/hide_and_seek.py`` subclass
:class:`RepeatedZeroSumGame` and hold the doc pages. Every round both agents act at
once; the first agent earns ``payoff[a0, a1]`` and the second its negation.

Each agent observes an int64 array of shape ``(rounds, 2)`` whose row ``t`` is
(own move, opponent's move) in round ``t``, with ``-1`` for rounds not yet played.
To keep a step O(1) the env writes the new row into a per-agent array allocated at
``reset`` and hands out the same *read-only view* of it every step: the view fills
in as the match goes on (rows already played never change), so copy it if you need
a snapshot of an earlier round.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import gymnasium
import numpy as np
from gymnasium.spaces import Box, Discrete
from pettingzoo import ParallelEnv
from pettingzoo.utils import wrappers
from pettingzoo.utils.conversions import parallel_to_aec


def _warn_no_render_mode(text: str) -> None:
    gymnasium.logger.warn("render() called without a render_mode; pass render_mode='ansi'.")


def _print_frame(text: str) -> None:
    print(text)


def _return_frame(text: str) -> str:
    return text


# What each render mode does with the text of one frame.
_RENDER_OUTPUT: dict[str | None, Callable[[str], str | None]] = {
    None: _warn_no_render_mode,
    "ansi": _return_frame,
    "human": _print_frame,
}


def check_rounds(rounds: int) -> int:
    """Validate the ``rounds`` argument (a positive integer)."""
    if isinstance(rounds, bool) or not isinstance(rounds, (int, np.integer)) or rounds < 1:
        raise ValueError(f"rounds must be a positive integer, got {rounds!r}")
    return int(rounds)


class RepeatedZeroSumGame(ParallelEnv):
    """Two agents play the same zero-sum stage game ``rounds`` times, then are truncated.

    Subclasses set ``metadata`` and call ``__init__`` with their agents, action
    names and the first agent's payoff matrix.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi", "human"], "name": "repeated"}

    def __init__(self, *, agents: Sequence[str], action_names: Sequence[str],
                 payoff: np.ndarray, rounds: int, render_mode: str | None) -> None:
        self.rounds = check_rounds(rounds)
        if render_mode not in _RENDER_OUTPUT:
            modes = ", ".join(repr(m) for m in _RENDER_OUTPUT)
            raise ValueError(f"render_mode must be one of {modes}, got {render_mode!r}")
        self.render_mode = render_mode
        self.possible_agents: list[str] = list(agents)
        self.agents: list[str] = []
        self.action_names: list[str] = list(action_names)
        n = len(self.action_names)
        self._payoff = np.array(payoff, dtype=float)
        self._payoff.flags.writeable = False
        # Python lists index faster than numpy arrays in the per-round path.
        self._payoff_rows: list[list[float]] = self._payoff.tolist()
        self._n_actions = n
        self._action_spaces = {a: Discrete(n) for a in self.possible_agents}
        self._observation_spaces = {
            a: Box(low=-1, high=n - 1, shape=(self.rounds, 2), dtype=np.int64)
            for a in self.possible_agents
        }
        self._reset_state()

    def _reset_state(self) -> None:
        self._round = 0
        self._histories = [np.full((self.rounds, 2), -1, dtype=np.int64) for _ in range(2)]
        views = []
        for history in self._histories:
            view = history.view()
            view.flags.writeable = False
            views.append(view)
        self._views = views
        self._scores = [0.0, 0.0]
        self._last: tuple[int, int, float] | None = None

    # -- spaces -------------------------------------------------------------------
    def observation_space(self, agent: str) -> Box:
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> Discrete:
        return self._action_spaces[agent]

    def payoff_for(self, agent: str) -> np.ndarray:
        """The stage game's payoff matrix from ``agent``'s seat (rows = own action)."""
        seat = self.possible_agents.index(agent)
        return self._payoff.copy() if seat == 0 else -self._payoff.T

    def context(self, agent: str) -> dict[str, Any]:
        """What an agent playing ``agent``'s seat is told before the match."""
        if agent not in self.possible_agents:
            raise ValueError(f"agent must be one of {self.possible_agents}, got {agent!r}")
        return {"action_names": list(self.action_names), "payoff": self.payoff_for(agent)}

    # -- the loop -----------------------------------------------------------------
    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
        """Start a new match. The rules are deterministic, so ``seed`` changes nothing."""
        self._reset_state()
        self.agents = self.possible_agents[:]
        first, second = self.possible_agents
        if self.render_mode == "human":
            self.render()
        return {first: self._views[0], second: self._views[1]}, {first: {}, second: {}}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        if not self.agents:
            raise RuntimeError("the match is over; call reset() before step()")
        first, second = self.possible_agents
        try:
            a, b = actions[first], actions[second]
        except KeyError as missing:
            raise ValueError(f"step() needs an action for {missing.args[0]!r}") from None
        n = self._n_actions
        if not (0 <= a < n and 0 <= b < n):
            raise ValueError(f"actions must be in 0..{n - 1}, got {first}={a!r}, {second}={b!r}")
        reward = self._payoff_rows[a][b]
        t = self._round
        own, other = self._histories
        own[t, 0] = a
        own[t, 1] = b
        other[t, 0] = b
        other[t, 1] = a
        self._round = t + 1
        self._scores[0] += reward
        self._scores[1] -= reward
        self._last = (a, b, reward)
        done = self._round == self.rounds
        if done:
            self.agents = []
        if self.render_mode == "human":
            self.render()
        return ({first: self._views[0], second: self._views[1]},
                {first: reward, second: -reward},
                {first: False, second: False},
                {first: done, second: done},
                {first: {}, second: {}})

    # -- display ------------------------------------------------------------------
    def render(self) -> str | None:
        return _RENDER_OUTPUT[self.render_mode](self._frame())

    def _frame(self) -> str:
        first, second = self.possible_agents
        score = f"score {first} {self._scores[0]:+g}, {second} {self._scores[1]:+g}"
        if self._last is None:
            return f"round 0/{self.rounds}: no moves yet; {score}"
        a, b, reward = self._last
        outcome = first if reward > 0 else second if reward < 0 else "nobody"
        return (f"round {self._round}/{self.rounds}: {first} {self.action_names[a]}, "
                f"{second} {self.action_names[b]} -> {outcome} wins; {score}")

    def close(self) -> None:
        pass


def aec_env(parallel: ParallelEnv) -> Any:
    """Wrap a parallel game as a checked AEC env, as PettingZoo's ``env()`` functions do."""
    wrapped = parallel_to_aec(parallel)
    wrapped = wrappers.AssertOutOfBoundsWrapper(wrapped)
    return wrappers.OrderEnforcingWrapper(wrapped)
