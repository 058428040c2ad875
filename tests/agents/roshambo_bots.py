"""Re-implementations of classic RoShamBo test programs, from their published descriptions.

They stand in for the 1999/2000 International RoShamBo Programming Competition
suite when measuring the exploiters (``benchmarks/roshambo_gauntlet.py``; no test
imports them). RPS only (3 actions, 0 rock, 1 paper, 2 scissors). Each bot keeps
its own and the opponent's moves in lists; ``BOTS`` maps a name to a factory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from arena.agent import BaseAgent

R, P, S = 0, 1, 2
UNIFORM = np.full(3, 1 / 3)


def beat(move: int) -> int:
    return (move + 1) % 3


def onehot(move: int) -> np.ndarray:
    return np.eye(3)[move % 3]


class Bot(BaseAgent):
    """A test bot: ``move()`` returns a distribution given ``self.mine`` / ``self.theirs``."""

    @classmethod
    def can_play(cls, game: Any) -> bool:
        """Rock-paper-scissors only (its moves are 0 rock, 1 paper, 2 scissors)."""
        return game.id == "rps"

    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        super().reset(seed=seed, **context)
        self.mine: list[int] = []
        self.theirs: list[int] = []
        self.setup()

    def setup(self) -> None:
        pass

    def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
        k = self.decisions_made
        if k > len(self.theirs):
            own, opp = (int(v) for v in observation[k - 1])
            self.mine.append(own)
            self.theirs.append(opp)
        return self.move()

    def move(self) -> np.ndarray:
        raise NotImplementedError


class Const(Bot):
    def __init__(self, *, name: str | None = None, dist: tuple = (1, 0, 0)) -> None:
        super().__init__(name=name)
        self.dist = np.asarray(dist, float) / sum(dist)

    def move(self) -> np.ndarray:
        return self.dist


class Rotate(Bot):
    def move(self) -> np.ndarray:
        return onehot(len(self.mine))


class Copy(Bot):
    """Plays what beats the opponent's last move."""

    def move(self) -> np.ndarray:
        return onehot(beat(self.theirs[-1])) if self.theirs else UNIFORM


class Switch(Bot):
    """Never repeats its own last move."""

    def move(self) -> np.ndarray:
        if not self.mine:
            return UNIFORM
        p = np.full(3, 0.5)
        p[self.mine[-1]] = 0.0
        return p


class Freq(Bot):
    """Beats the opponent's most frequent move."""

    def setup(self) -> None:
        self.counts = np.zeros(3)

    def move(self) -> np.ndarray:
        if self.theirs:
            self.counts[self.theirs[-1]] += 1
            return onehot(beat(int(np.argmax(self.counts))))
        return UNIFORM


class Fixed(Bot):
    """A fixed sequence, repeated."""

    def __init__(self, *, name: str | None = None, seq: tuple = (0,)) -> None:
        super().__init__(name=name)
        self.seq = list(seq)

    def move(self) -> np.ndarray:
        return onehot(self.seq[len(self.mine) % len(self.seq)])


class Foxtrot(Bot):
    """Random, then previous+2, random, then previous+1, ..."""

    def move(self) -> np.ndarray:
        t = len(self.mine)
        if t % 2 == 0:
            return UNIFORM
        return onehot(self.mine[-1] + (2 if t % 4 == 1 else 1))


class Drift(Bot):
    """A bias that drifts: a random walk on the move probabilities."""

    def setup(self) -> None:
        self.p = np.full(3, 1 / 3)

    def move(self) -> np.ndarray:
        step = self.rng.normal(0, 0.03, 3)
        self.p = np.clip(self.p + step, 0.02, None)
        self.p /= self.p.sum()
        return self.p.copy()


class AddShift(Bot):
    """Deterministic function of the last joint move, random with probability ``noise``."""

    def __init__(self, *, name: str | None = None, a: int = 1, b: int = 1, c: int = 0,
                 noise: float = 0.0) -> None:
        super().__init__(name=name)
        self.a, self.b, self.c, self.noise = a, b, c, noise

    def move(self) -> np.ndarray:
        if not self.mine:
            return UNIFORM
        m = onehot(self.a * self.mine[-1] + self.b * self.theirs[-1] + self.c)
        return (1 - self.noise) * m + self.noise * UNIFORM


class Flat(Bot):
    """Keeps its own counts flat: plays its least-used move with probability ``p``."""

    def __init__(self, *, name: str | None = None, p: float = 0.8, anti: bool = False) -> None:
        super().__init__(name=name)
        self.p, self.anti = p, anti

    def move(self) -> np.ndarray:
        counts = np.bincount(self.mine, minlength=3)
        pick = int(np.argmax(counts) if self.anti else np.argmin(counts))
        return (1 - self.p) * UNIFORM + self.p * onehot(pick)


class MarkovBot(Bot):
    """Counts of the opponent's move after the last ``order`` joint moves; beats the argmax."""

    def __init__(self, *, name: str | None = None, order: int = 2, decay: float = 1.0,
                 joint: bool = True) -> None:
        super().__init__(name=name)
        self.order, self.decay, self.joint = order, decay, joint

    def setup(self) -> None:
        self.table: dict[tuple, np.ndarray] = {}

    def key(self, end: int) -> tuple:
        lo = end - self.order
        return tuple(self.theirs[lo:end]) + (tuple(self.mine[lo:end]) if self.joint else ())

    def move(self) -> np.ndarray:
        t = len(self.theirs)
        if t > self.order:
            c = self.table.setdefault(self.key(t - 1), np.zeros(3))
            c *= self.decay
            c[self.theirs[-1]] += 1
        if t >= self.order:
            c = self.table.get(self.key(t))
            if c is not None and c.sum() > 0:
                return onehot(beat(int(np.argmax(c))))
        return UNIFORM


class Matcher(Bot):
    """MegaHAL / RFind flavour: longest earlier match of the joint history (bounded scan)."""

    def __init__(self, *, name: str | None = None, lookback: int = 400, max_len: int = 12) -> None:
        super().__init__(name=name)
        self.lookback, self.max_len = lookback, max_len

    def move(self) -> np.ndarray:
        t = len(self.theirs)
        best, at = 0, -1
        for i in range(max(0, t - self.lookback), t - 1):
            k = 0
            while (k < self.max_len and i - k >= 0 and self.theirs[i - k] == self.theirs[t - 1 - k]
                   and self.mine[i - k] == self.mine[t - 1 - k]):
                k += 1
            if k > best:
                best, at = k, i + 1
        return onehot(beat(self.theirs[at])) if best else UNIFORM


class Phases(Bot):
    """Switches between simple strategies every ``period`` rounds."""

    def __init__(self, *, name: str | None = None, period: int = 100) -> None:
        super().__init__(name=name)
        self.period = period

    def move(self) -> np.ndarray:
        t = len(self.mine)
        phase = (t // self.period) % 4
        if phase == 0 or not self.theirs:
            return onehot(t // self.period)
        if phase == 1:
            return onehot(beat(self.theirs[-1]))
        if phase == 2:
            return onehot(t)
        return onehot(self.theirs[-1])


def registered(type_name: str, **options: Any) -> Callable[[], Any]:
    def make() -> Any:
        from arena.registry import make_agent

        return make_agent(type_name, name=f"{type_name}_bot", **options)

    return make


def _text_moves() -> tuple:
    text = ("it was the best of times it was the worst of times it was the age of wisdom "
            "it was the age of foolishness it was the epoch of belief")
    return tuple(ord(ch) % 3 for ch in text)


def _pi_moves() -> tuple:
    from agents.sequence import pi_digits

    return tuple(int(d) % 3 for d in pi_digits(1200))


def _de_bruijn81() -> tuple:
    from agents.sequence import de_bruijn

    return tuple(de_bruijn(3, 4))


BOTS: dict[str, Callable[[], Any]] = {
    "randbot": lambda: Const(name="randbot", dist=(1, 1, 1)),
    "rockbot": lambda: Const(name="rockbot"),
    "r226bot": lambda: Const(name="r226bot", dist=(2, 2, 6)),
    "rotatebot": lambda: Rotate(name="rotatebot"),
    "copybot": lambda: Copy(name="copybot"),
    "switchbot": lambda: Switch(name="switchbot"),
    "freqbot": lambda: Freq(name="freqbot"),
    "pibot": lambda: Fixed(name="pibot", seq=_pi_moves()),
    "debruijn81": lambda: Fixed(name="debruijn81", seq=_de_bruijn81()),
    "textbot": lambda: Fixed(name="textbot", seq=_text_moves()),
    "foxtrotbot": lambda: Foxtrot(name="foxtrotbot"),
    "driftbot": lambda: Drift(name="driftbot"),
    "addshiftbot": lambda: AddShift(name="addshiftbot", a=1, b=1, c=0, noise=0.1),
    "antirotnbot": lambda: AddShift(name="antirotnbot", a=0, b=1, c=2, noise=0.2),
    "flatbot": lambda: Flat(name="flatbot"),
    "antiflatbot": lambda: Flat(name="antiflatbot", anti=True, p=0.9),
    "markov1": lambda: MarkovBot(name="markov1", order=1, joint=False),
    "markov2": lambda: MarkovBot(name="markov2", order=2),
    "markov2decay": lambda: MarkovBot(name="markov2decay", order=2, decay=0.9),
    "matcher": lambda: Matcher(name="matcher"),
    "phasebot": lambda: Phases(name="phasebot"),
    "beat_last": registered("beat_last"),
    "never_repeat": registered("never_repeat"),
    "humanlike": registered("humanlike"),
    "frequency": registered("frequency"),
    "frequency_w20": registered("frequency", window=20),
    "markov": registered("markov"),
    "history_match": registered("history_match", history="joint"),
    "iocaine_twin": registered("iocaine"),
}
