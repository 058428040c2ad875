"""Random numbers: say integers in ``[low, high]`` that an adaptive predictor cannot guess.

Registered as ``arena/RandomNumber-v0`` (Gymnasium) and as game ``random_number``.

## Description

An episode is ``length`` integers (10: the paper's sequence task; 1: its single-number task).
A predictor watches every number the agent says, in this episode and all earlier ones, and
forecasts the next one. The reward is how surprised it was.

## Action Space

``Discrete(K, start=low)`` with ``K = high - low + 1``: the action **is** the integer. Python
and numpy ints are accepted; anything else raises ``TypeError``, an int outside
``[low, high]`` raises ``ValueError`` (both name the action).

## Observation Space

``Box(low - 1, high, shape=(length,), dtype=int64)``: the agent's own numbers so far this
episode, in order; slots not yet filled hold the sentinel ``low - 1``.

## Rewards

For each number ``x``: ``reward = min(1, -log2 P(x) / log2 K)``, in [0, 1], where ``P`` is the
predictor's distribution *before* seeing ``x``. A uniform, independent source scores close to 1
(the cap makes the mean a little below 1); anything predictable scores less.

``P`` is a Bayesian mixture ``P = sum_i w_i P_i`` of these experts, ``v = x - low``:

==========  ======================================================================
uniform     ``1/K``
frequency   all numbers ever said: Dirichlet(1) (Laplace) counts, ``(c_v + 1)/(n + K)``
position    the same, but counted separately for each slot of the episode
repeat      ``frequency`` re-weighted so that the mass on numbers already said this
            episode is ``q_k``, the learned chance of a repeat when ``k`` distinct
            numbers have been said (Beta prior with mean ``k/K``, the uniform value,
            and strength 2); catches "never repeats within a sequence"
step        Laplace counts of the step ``(x - previous) mod K``; catches counting up
markov      Laplace counts of ``x`` after each previous number (Markov-1)
==========  ======================================================================

For the first number of an episode, ``step`` and ``markov`` condition on the last number of
the previous episode, with counts kept apart from the within-episode ones (a fresh prompt
need not continue the last one, but a source that counts up or follows a Markov chain from
one episode to the next, even in the single-number task, is caught); before any number has
been said they use ``frequency``. Every expert but ``uniform`` learns across episodes (its
counts are :mod:`envs.predictors` ``Frequency`` objects); within an episode they condition
on the numbers said so far.

Mixture weights: ``w_i ∝ exp(L_i)`` with ``L_i <- 0.98 * L_i + ln P_i(x)`` after every number,
starting equal. The 0.98 forgetting (an effective memory of ~50 numbers) and a floor of 0.001
on each normalised weight (then renormalised) mean no expert, uniform included, is ever locked
out for good: a source that changes is followed.

## Predictor State

Counts and weights persist across ``reset()`` (that is how a bias is learned) and are cleared
by ``reset(options={"forget": True})``. Because of that a seed and an action do not fix the
reward, so the env declares ``spec.nondeterministic = True``; two envs fed the same numbers
give the same rewards.

## Info

Each step: ``distribution`` (``P`` over ``low..high``, shape ``(K,)``), ``probability``
(``P(x)``), ``surprisal_bits``, ``weights`` and ``expert_probability`` (name -> value).
``reset`` gives ``distribution`` and ``weights`` for the first number.

## Arguments

``low=0``, ``high=10`` (ints, ``high > low``), ``length=10`` (int >= 1),
``render_mode=None | "ansi" | "human"``.

## Version History

* v0: initial version.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.predictors import Frequency, MixtureWeights

DECAY = 0.98
FLOOR = 1e-3
# keeps the log-likelihood of an expert that ruled the number out finite, so it can recover
MIN_PROBABILITY = 1e-300
REPEAT_PRIOR_STRENGTH = 2.0


class SurprisalPredictor:
    """The mixture predictor over values ``0..K-1`` (see the module docstring).

    Its experts condition on the episode so far (``prefix``), so they are computed
    here and weighted by the shared :class:`envs.predictors.MixtureWeights`.
    """

    names = ("uniform", "frequency", "position", "repeat", "step", "markov")

    def __init__(self, k: int, length: int) -> None:
        self.k, self.length = k, length
        self.frequency = Frequency(k, prior=float(k))
        self.position = [Frequency(k, prior=float(k)) for _ in range(length)]
        self.steps = Frequency(k, prior=float(k))
        self.markov = [Frequency(k, prior=float(k)) for _ in range(k)]
        # from the last number of one episode to the first of the next
        self.boundary_steps = Frequency(k, prior=float(k))
        self.boundary_markov = [Frequency(k, prior=float(k)) for _ in range(k)]
        self.last: int | None = None
        self.repeats = np.zeros(k + 1)  # repeats seen when k distinct numbers were said
        self.trials = np.zeros(k + 1)
        self.mixture = MixtureWeights(len(self.names), decay=DECAY, floor=FLOOR,
                                      min_probability=MIN_PROBABILITY)

    def weights(self) -> np.ndarray:
        return self.mixture.weights()

    def _repeat(self, prefix: list[int], base: np.ndarray) -> np.ndarray:
        said = np.zeros(self.k, dtype=bool)
        said[prefix] = True
        n_said = int(said.sum())
        if n_said in (0, self.k):
            return base
        prior_mean = n_said / self.k
        q = (self.repeats[n_said] + REPEAT_PRIOR_STRENGTH * prior_mean) / \
            (self.trials[n_said] + REPEAT_PRIOR_STRENGTH)
        p = np.where(said, q * base / base[said].sum(), (1 - q) * base / base[~said].sum())
        return p / p.sum()

    def experts(self, prefix: list[int]) -> np.ndarray:
        """Each expert's distribution for the next value after ``prefix``, shape (6, K)."""
        base = self.frequency.predict()
        if prefix:
            prev = prefix[-1]
            step = np.roll(self.steps.predict(), prev)  # P(x) = P_step((x - prev) mod K)
            markov = self.markov[prev].predict()
        elif self.last is not None:
            step = np.roll(self.boundary_steps.predict(), self.last)
            markov = self.boundary_markov[self.last].predict()
        else:
            step = markov = base
        return np.stack([np.full(self.k, 1.0 / self.k), base,
                         self.position[len(prefix)].predict(),
                         self._repeat(prefix, base), step, markov])

    def predict(self, prefix: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mixture distribution, weights, expert distributions) before the next value."""
        experts = self.experts(prefix)
        weights = self.weights()
        return self.mixture.mix(experts, weights), weights, experts

    def learn(self, prefix: list[int], value: int, experts: np.ndarray) -> None:
        """Update weights (from the predictions ``experts`` made for ``value``) and counts."""
        self.mixture.update(experts[:, value])
        said = set(prefix)
        if said and len(said) < self.k:
            self.trials[len(said)] += 1
            self.repeats[len(said)] += value in said
        if prefix:
            self.steps.update((value - prefix[-1]) % self.k)
            self.markov[prefix[-1]].update(value)
        elif self.last is not None:
            self.boundary_steps.update((value - self.last) % self.k)
            self.boundary_markov[self.last].update(value)
        self.last = value
        self.frequency.update(value)
        self.position[len(prefix)].update(value)


class RandomNumberEnv(gym.Env[np.ndarray, int]):
    """Say unpredictable integers; rewarded by the surprisal of an adaptive predictor."""

    metadata = {"render_modes": ["ansi", "human"], "render_fps": 4}

    def __init__(self, *, low: int = 0, high: int = 10, length: int = 10,
                 render_mode: str | None = None) -> None:
        for name, value in (("low", low), ("high", high), ("length", length)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
        if high <= low:
            raise ValueError(f"need high > low, got low={low}, high={high}")
        if length < 1:
            raise ValueError(f"length must be >= 1, got {length}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or "
                             f"None, got {render_mode!r}")
        self.low, self.high, self.length = int(low), int(high), int(length)
        self.k = self.high - self.low + 1
        self.render_mode = render_mode
        self.action_space = spaces.Discrete(self.k, start=self.low)
        self.observation_space = spaces.Box(self.low - 1, self.high, shape=(self.length,),
                                            dtype=np.int64)
        self.predictor = SurprisalPredictor(self.k, self.length)
        self._prefix: list[int] = []
        self._done = True
        self._last_reward: float | None = None
        # the registered spec says nondeterministic: learning across episodes, not only the
        # seed, sets a reward (gymnasium.make replaces this with the same spec plus kwargs)
        self.spec = gym.spec("arena/RandomNumber-v0")

    def _obs(self) -> np.ndarray:
        obs = np.full(self.length, self.low - 1, dtype=np.int64)
        obs[: len(self._prefix)] = np.asarray(self._prefix, dtype=np.int64) + self.low
        return obs

    def _forecast_info(self) -> dict[str, Any]:
        dist, weights, _ = self.predictor.predict(self._prefix)
        return {"distribution": dist, "weights": dict(zip(self.predictor.names,
                                                          weights.tolist(), strict=True))}

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        options = dict(options or {})
        if options.pop("forget", False):
            self.predictor = SurprisalPredictor(self.k, self.length)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)} (known: forget)")
        self._prefix, self._done, self._last_reward = [], False, None
        return self._obs(), self._forecast_info()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if isinstance(action, np.ndarray) and action.shape == ():
            action = action.item()
        if isinstance(action, bool) or not isinstance(action, (int, np.integer)):
            raise TypeError(f"action must be an int in [{self.low}, {self.high}], got "
                            f"{type(action).__name__} {action!r:.60}")
        if not self.low <= action <= self.high:
            raise ValueError(f"action {int(action)} is outside [{self.low}, {self.high}]")
        if self._done:
            raise RuntimeError("call reset() before step(): the episode is over")
        value = int(action) - self.low
        dist, weights, experts = self.predictor.predict(self._prefix)
        bits = float(-np.log2(dist[value]))
        reward = min(1.0, bits / np.log2(self.k))
        self.predictor.learn(self._prefix, value, experts)
        self._prefix.append(value)
        self._done = len(self._prefix) == self.length
        self._last_reward = reward
        info = {"distribution": dist, "probability": float(dist[value]),
                "surprisal_bits": bits,
                "weights": dict(zip(self.predictor.names, weights.tolist(), strict=True)),
                "expert_probability": dict(zip(self.predictor.names,
                                               experts[:, value].tolist(), strict=True))}
        if self.render_mode == "human":
            print(self.render_text())
        return self._obs(), reward, self._done, False, info

    def forfeit_action(self, observation: Any = None) -> int:
        """The number said for a step an agent gave up: the one the predictor now finds
        most likely (the lowest among ties), so it earns the least surprisal."""
        forecast = self.predictor.predict(self._prefix)[0]
        return self.low + int(np.argmax(forecast))

    def context(self) -> dict[str, Any]:
        """Task keys for an agent's reset context (COMMON.md contract 3)."""
        return {"low": self.low, "high": self.high, "length": self.length,
                "action_names": [str(v) for v in range(self.low, self.high + 1)]}

    def render_text(self) -> str:
        said = " ".join(str(v + self.low) for v in self._prefix)
        slots = " ".join(["_"] * (self.length - len(self._prefix)))
        last = "" if self._last_reward is None else f"  (last reward {self._last_reward:.3f})"
        return f"[{' '.join(p for p in (said, slots) if p)}]{last}"

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            return self.render_text()
        if self.render_mode == "human":
            print(self.render_text())
        return None
