"""Misbehaving and instrumented agents for engine tests.

Referenced from test configs as ``tests.arena.fault_agents:Raiser`` and so on; CLI tests
run ``arena`` with the repository root as the working directory so ``tests`` imports.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from arena.agent import BaseAgent, Decision, RoundForfeit, ServiceUnavailable, normalised


class Uniform(BaseAgent):
    """Uniformly random with an exact policy (the engine logs it)."""

    def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
        n = int(action_space.n)
        return np.full(n, 1.0 / n)


class _AtRound(Uniform):
    """Plays uniformly until round ``at`` (1-based), then misbehaves."""

    def __init__(self, *, name: str | None = None, at: int = 3) -> None:
        super().__init__(name=name)
        self.at = at

    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        super().reset(seed=seed, **context)
        self.decisions = 0

    def choose(self, observation: Any, action_space: Any) -> Decision:
        self.decisions += 1
        if self.decisions >= self.at:
            return Decision(self.misbehave(action_space), None)
        return super().choose(observation, action_space)

    def misbehave(self, action_space: Any) -> Any:
        raise NotImplementedError


class Raiser(_AtRound):
    """Raises from its decision at round ``at``."""

    def misbehave(self, action_space: Any) -> Any:
        raise RuntimeError("deliberate failure")


class InvalidRaiser(Raiser):
    """Raises at round ``at`` like an LLM out of retries, and counts that as invalid."""

    def stats(self) -> dict[str, float]:
        return {"decisions": float(self.decisions), "invalid": 1.0,
                "invalid_answers": ["no idea", "still no idea"]}


class Garbage(_AtRound):
    """Returns something outside the action space at round ``at``."""

    def __init__(self, *, name: str | None = None, at: int = 3, value: Any = 99) -> None:
        super().__init__(name=name, at=at)
        self.value = value

    def misbehave(self, action_space: Any) -> Any:
        return self.value


class BadPolicy:
    """A bare outside class (``policy`` then ``act``): from round ``at`` its ``policy``
    returns text instead of probabilities."""

    def __init__(self, *, at: int = 3) -> None:
        self.at = at

    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        self.decisions = 0

    def policy(self, observation: Any, action_space: Any) -> Any:
        if self.decisions + 1 >= self.at:
            return "not a policy"
        return [1.0, 0.0, 0.0]

    def act(self, observation: Any, action_space: Any) -> Any:
        self.decisions += 1
        return 0


class BrokenInit(Uniform):
    """Its constructor fails (not over an option value): every match forfeits."""

    def __init__(self, *, name: str | None = None, at: int = 1) -> None:
        raise RuntimeError("cannot start")


class Hang(_AtRound):
    """Never returns from its decision at round ``at``: a busy loop, as ``while True`` would be.

    In-process tests set :attr:`release` afterwards so the abandoned thread stops burning
    the GIL for later tests; in a subprocess nothing ever sets it.
    """

    release = threading.Event()

    def misbehave(self, action_space: Any) -> Any:
        x = 0
        while not self.release.is_set():
            x += 1
        raise RuntimeError("released")


class Counted(Uniform):
    """Counts how often its policy is computed per match (``stats()``): never twice a round."""

    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        super().reset(seed=seed, **context)
        self.policy_calls = 0

    def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
        self.policy_calls += 1
        return super().distribution(observation, action_space)

    def stats(self) -> dict[str, float]:
        return {"policy_calls": float(self.policy_calls)}


class Peeker(BaseAgent):
    """White box: best-responds to the opponent's policy for this round, read 3 times."""

    white_box = True

    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        super().reset(seed=seed, **context)
        self.peek = context["opponent_policy"]
        self.payoff = np.asarray(context["payoff"])
        self.seen: list[list[float] | None] = []

    def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
        views = [self.peek() for _ in range(3)]
        theirs = views[0]
        self.seen.append(None if theirs is None else list(np.asarray(theirs)))
        n = int(action_space.n)
        if theirs is None:
            return np.full(n, 1.0 / n)
        best = int(np.argmax(self.payoff @ np.asarray(theirs)))
        return np.eye(n)[best]

    def stats(self) -> dict[str, float]:
        return {"peeked_rounds": float(sum(s is not None for s in self.seen))}


class QuickHang(Hang):
    """A hanging agent whose class asks for a 1 s match budget under ``timeout: auto``."""

    match_timeout = 1.0


class Patient(Uniform):
    """An agent that declares no match time limit (as language models do)."""

    match_timeout = None


def _spin(release: threading.Event) -> None:
    x = 0
    while not release.is_set():
        x += 1


class HangInInit(Uniform):
    """Its constructor never returns (until :attr:`release`): the timeout must blame it."""

    release = threading.Event()

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)
        _spin(self.release)


class HangInStats(Uniform):
    """Plays a whole match, then never returns from ``stats()`` (until :attr:`release`)."""

    release = threading.Event()

    def stats(self) -> dict[str, float]:
        _spin(self.release)
        return {}


class NumpyActions(Uniform):
    """Legal actions as numpy integers: ``np.int64`` and 0-d arrays, alternately."""

    def choose(self, observation: Any, action_space: Any) -> Decision:
        action, policy = super().choose(observation, action_space)
        return Decision(np.int64(action) if self.decisions_made % 2 else np.array(action),
                        policy)


class RoundForfeiter(Uniform):
    """Uniform, but gives up every ``every``-th decision with RoundForfeit: from ``choose``
    (after its distribution was computed, which must then not be logged), or from
    ``distribution`` when ``in_policy``."""

    def __init__(self, *, name: str | None = None, every: int = 3,
                 in_policy: bool = False) -> None:
        super().__init__(name=name)
        self.every, self.in_policy = every, in_policy

    def _give_up(self) -> None:
        if (self.decisions_made + 1) % self.every == 0:
            raise RoundForfeit(f"{self.name}: giving up decision {self.decisions_made + 1}")

    def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
        if self.in_policy:
            self._give_up()
        return super().distribution(observation, action_space)

    def choose(self, observation: Any, action_space: Any) -> Decision:
        probs = normalised(self.distribution(observation, action_space))
        self._give_up()
        return Decision(self._draw(probs, action_space), probs)


class SleepHang(_AtRound):
    """Sleeps for ever at round ``at``: blocked in a system call, not spinning."""

    def misbehave(self, action_space: Any) -> Any:
        time.sleep(1e9)


class GilHang(_AtRound):
    """One long C call holding the GIL at round ``at`` (minutes of summing)."""

    def misbehave(self, action_space: Any) -> Any:
        return sum(range(10**11))


class ExitHard(_AtRound):
    """Ends its whole process at round ``at``, as a crash in C would."""

    def misbehave(self, action_space: Any) -> Any:
        os._exit(7)


class RaiseBase(_AtRound):
    """Raises a BaseException that is not an Exception at round ``at``."""

    def __init__(self, *, name: str | None = None, at: int = 3,
                 kind: str = "KeyboardInterrupt") -> None:
        super().__init__(name=name, at=at)
        self.kind = {"KeyboardInterrupt": KeyboardInterrupt, "SystemExit": SystemExit,
                     "GeneratorExit": GeneratorExit}[kind]

    def misbehave(self, action_space: Any) -> Any:
        raise self.kind("from the agent")


class HangUnlessFile(_AtRound):
    """Sleeps for ever at round ``at`` unless ``path`` exists: a hang that a retry fixes."""

    def __init__(self, *, name: str | None = None, at: int = 3, path: str = "") -> None:
        super().__init__(name=name, at=at)
        self.path = Path(path)

    def misbehave(self, action_space: Any) -> Any:
        while not self.path.exists():
            time.sleep(0.05)
        return int(self.rng.integers(int(action_space.n)))


class ServerDown(_AtRound):
    """Stands for a client of a model server that went down: from round ``at`` it raises
    :class:`~arena.agent.ServiceUnavailable` while the file ``down`` exists."""

    def __init__(self, *, name: str | None = None, at: int = 3, down: str = "") -> None:
        super().__init__(name=name, at=at)
        self.down = down

    def choose(self, observation: Any, action_space: Any) -> Decision:
        self.decisions += 1
        if self.decisions >= self.at and Path(self.down).exists():
            raise ServiceUnavailable(f"model server http://127.0.0.1:9/v1 unreachable for "
                                     f"60 s ({self.name})")
        return Uniform.choose(self, observation, action_space)


class SharedServerDown(ServerDown):
    """:class:`ServerDown` played in the run's own process (as language models are)."""

    isolate = False
