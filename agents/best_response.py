"""``best_response``: the white-box exploiter that measures exploitability exactly.

The engine gives white-box agents ``opponent_policy`` in their reset context: a
zero-argument function returning the opponent's distribution for the current
round (the one the engine already asked the opponent for), or ``None``. Against
such a distribution the agent plays the exact best response (uniform over tied
actions), so its mean reward per round estimates the opponent's exploitability.
Rounds without a distribution (no ``policy``, or an LLM sampling freely) are
played by the ``iocaine`` machinery, which keeps learning every round.
"""

from __future__ import annotations

import numpy as np

from agents._exploit import best_response
from agents.iocaine import Iocaine
from arena.registry import register_agent


@register_agent("best_response")
class BestResponse(Iocaine):
    """White box: best response to the opponent's announced policy, else Iocaine."""

    white_box = True

    def setup(self) -> None:
        super().setup()
        self.white_rounds = 0

    def strategy(self) -> np.ndarray:
        fallback = super().strategy()  # keeps iocaine's candidate scores current
        policy_fn = self.context.get("opponent_policy")
        q = policy_fn() if callable(policy_fn) else None
        if q is None:
            return fallback
        q = np.asarray(q, dtype=float)
        if q.shape != (self.n_opp,) or not np.isfinite(q).all() or q.sum() <= 0:
            return fallback
        self.white_rounds += 1
        return best_response(self.payoff, q / q.sum())

    def stats(self) -> dict[str, float]:
        return {"white_box_rounds": float(self.white_rounds)}
