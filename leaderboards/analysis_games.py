"""How predictable an agent is in a repeated matrix game, and how much that costs it.

Works on plain match records (``arena.records``, with ``round_log``) and imports nothing
from ``arena``; the caller hands in each role's payoff matrix (rows: own action, columns:
the opponent's, entries: own reward) and equilibrium value. The definitions (the report
prints :data:`DEFINITIONS`):

* A **state** is the previous round's pair of moves (own, opponent's); round 1 is the
  state ``start``. Roles with the same payoff matrix (the two seats of
  rock-paper-scissors) are pooled; different ones (hider, seeker) are kept apart.
* Per state: the **action distribution** (the share of each move; from stored policies,
  the mean policy in that state), its **entropy** in bits and its **largest
  probability** (1: fully predictable there).
* **Best-response value per round**: what an opponent earns per round, in expectation,
  by best-responding to the agent's strategy: max_j Σ_i s_i (−A_ij) with A the
  agent's payoff. Against the **marginal** strategy s (all its rounds pooled), against
  the strategy **conditioned on the previous round** (a best response per state,
  weighted by how often the state occurs) and, with stored policies, against each
  round's own policy (**per decision**: what the white-box ``best_response`` gets).
  **Exploitability** is that value minus what the opponent gets at equilibrium, so 0
  means unexploitable. Conditioning on few rounds per state flatters the exploiter
  (it sees the sample it is scored on): read it next to the number of rounds.
* **Find rate** (hide-and-seek): the share of rounds in which the seeker's search
  covered the hider, per agent as seeker and as hider, with a 95% Wilson interval; the
  **equilibrium find rate** is the chance of a find when both play the equilibrium of
  ``nash()``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from leaderboards.analysis_numbers import doc_bullets, entropy_bits

DEFINITIONS = doc_bullets(__doc__, "The definitions")
START = "start"


@dataclass
class Decisions:
    """One agent's decisions in one role class: the state before each, the action, the
    stored policy (or ``None``), the reward."""

    n_actions: int
    states: list[int | None] = field(default_factory=list)  # own * n + opponent; None: start
    actions: list[int] = field(default_factory=list)
    policies: list[list[float] | None] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        """Whether the agent stored policies (a round without one, a forfeited round,
        counts with the move played)."""
        return any(p is not None for p in self.policies)

    def policy(self, i: int) -> np.ndarray:
        p = self.policies[i]
        if p is None:
            return np.eye(self.n_actions)[self.actions[i]]
        q = np.asarray(p, dtype=float)
        return q / q.sum()


def role_classes(payoffs: Mapping[str, np.ndarray]) -> dict[str, str]:
    """Role -> class label: roles with equal payoff matrices share one (``"all seats"``);
    otherwise the role's name without a ``_0`` suffix (``hider``, ``seeker``)."""
    roles = list(payoffs)
    first = np.asarray(payoffs[roles[0]])
    if all(np.array_equal(np.asarray(payoffs[r]), first) for r in roles[1:]):
        return dict.fromkeys(roles, "all seats")
    return {r: r.rsplit("_", 1)[0] if r.rsplit("_", 1)[-1].isdigit() else r for r in roles}


def seat_of(record: Mapping[str, Any], agent: str) -> tuple[int, str] | None:
    """``agent``'s seat in a two-player record and its opponent; ``None`` when it did not
    play there, or played itself (whose decisions belong to no one seat)."""
    names = list(record.get("agents", ()))
    if agent not in names or len(set(names)) != len(names):
        return None
    seat = names.index(agent)
    return seat, names[1 - seat]


def matrix_decisions(records: Iterable[Mapping[str, Any]], agent: str,
                     classes: Mapping[str, str], n_actions: int) -> dict[str, Decisions]:
    """The agent's decisions in every match it played, by role class."""
    out: dict[str, Decisions] = {}
    for record in records:
        if (seated := seat_of(record, agent)) is None:
            continue
        seat, opponent = seated
        label = classes.get(record["roles"][seat], record["roles"][seat])
        d = out.setdefault(label, Decisions(n_actions))
        previous: int | None = None
        for entry in record.get("round_log") or ():
            own, other = int(entry["actions"][agent]), int(entry["actions"][opponent])
            d.states.append(previous)
            d.actions.append(own)
            d.policies.append((entry.get("probabilities") or {}).get(agent))
            d.rewards.append(float(entry["rewards"][agent]))
            previous = own * n_actions + other
    return out


def state_name(state: int | None, action_names: Sequence[str]) -> str:
    if state is None:
        return START
    n = len(action_names)
    return f"{action_names[state // n]}/{action_names[state % n]}"


def best_response_value(strategy: Sequence[float], payoff: np.ndarray) -> float:
    """The opponent's best expected reward per round against ``strategy`` (zero-sum)."""
    s = np.asarray(strategy, dtype=float)
    return float((-(s / s.sum()) @ np.asarray(payoff, dtype=float)).max())


def _strategies(d: Decisions, exact: bool) -> dict[int | None, tuple[int, np.ndarray]]:
    """State -> (visits, strategy): sampled shares, or the mean stored policy."""
    by_state: dict[int | None, list[int]] = {}
    for i, state in enumerate(d.states):
        by_state.setdefault(state, []).append(i)
    out = {}
    for state, rows in by_state.items():
        if exact:
            s = np.mean([d.policy(i) for i in rows], axis=0)
        else:
            s = np.bincount([d.actions[i] for i in rows], minlength=d.n_actions) / len(rows)
        out[state] = (len(rows), s / s.sum())
    return out


def state_table(d: Decisions, action_names: Sequence[str], *, exact: bool) -> list[dict]:
    """Per state (``start`` first, then in move order): visits, distribution, entropy,
    largest probability and the move that has it."""
    rows = []
    strategies = _strategies(d, exact)
    for state in sorted(strategies, key=lambda s: -1 if s is None else s):
        visits, s = strategies[state]
        rows.append({"state": state_name(state, action_names), "rounds": visits,
                     "distribution": s.tolist(), "entropy_bits": entropy_bits(s),
                     "max_probability": float(s.max()),
                     "most_likely": action_names[int(np.argmax(s))]})
    return rows


def exploitability(d: Decisions, payoff: np.ndarray, own_value: float, *,
                   exact: bool) -> dict[str, Any]:
    """Best-response values per round (marginal, conditioned, per decision) and the
    exploitability of each (value minus the opponent's equilibrium value ``-own_value``)."""
    n = len(d.actions)
    if exact:
        marginal = np.mean([d.policy(i) for i in range(n)], axis=0)
    else:
        marginal = np.bincount(d.actions, minlength=d.n_actions) / n
    conditioned = sum(visits * best_response_value(s, payoff)
                      for visits, s in _strategies(d, exact).values()) / n
    out: dict[str, Any] = {
        "rounds": n, "marginal": marginal.tolist(),
        "br_marginal": best_response_value(marginal, payoff),
        "br_conditioned": float(conditioned), "br_per_decision": None,
        "equilibrium_value": -float(own_value), "mean_reward": float(np.mean(d.rewards))}
    if exact:
        out["br_per_decision"] = float(np.mean([best_response_value(d.policy(i), payoff)
                                                for i in range(n)]))
    for key in ("marginal", "conditioned", "per_decision"):
        value = out[f"br_{key}"]
        out[f"exploitability_{key}"] = None if value is None else value + float(own_value)
    return out


def predictability(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Visit-weighted mean of the largest probability and of the entropy over states, and
    the most predictable state (ties: the most visited)."""
    total = sum(r["rounds"] for r in rows)
    top = max(rows, key=lambda r: (r["max_probability"], r["rounds"]))
    return {"mean_max_probability": sum(r["rounds"] * r["max_probability"] for r in rows) / total,
            "mean_entropy_bits": sum(r["rounds"] * r["entropy_bits"] for r in rows) / total,
            "most_predictable_state": top["state"], "its_max_probability": top["max_probability"],
            "its_move": top["most_likely"], "its_rounds": top["rounds"]}


def matrix_summary(records: Sequence[Mapping[str, Any]], agent: str, *,
                   payoffs: Mapping[str, np.ndarray], values: Mapping[str, float],
                   action_names: Sequence[str]) -> dict[str, Any]:
    """Role class -> states, predictability and exploitability for one agent; ``payoffs``
    and ``values`` give each role's payoff matrix and own equilibrium value."""
    classes = role_classes(payoffs)
    role_of = {label: role for role, label in classes.items()}
    out = {}
    decisions = matrix_decisions(records, agent, classes, len(action_names))
    for label, d in sorted(decisions.items()):
        if not d.actions:
            continue
        role = role_of[label]
        exact = d.exact
        states = state_table(d, action_names, exact=exact)
        out[label] = {"source": "policies" if exact else "sampled", "states": states,
                      **predictability(states),
                      **exploitability(d, np.asarray(payoffs[role]), values[role], exact=exact)}
        if exact:  # the sampled view beside the exact one
            out[label]["sampled_states"] = state_table(d, action_names, exact=False)
    return out


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054
                    ) -> tuple[float | None, float | None]:
    """The Wilson score interval for a proportion (95% by default)."""
    if n == 0:
        return None, None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def find_rates(records: Iterable[Mapping[str, Any]], *, seeker_role: str = "seeker_0",
               hider_role: str = "hider_0") -> dict[str, dict[str, Any]]:
    """Agent -> its find rate as seeker and the rate it was found as hider (a find: the
    seeker's reward is positive)."""
    tally: dict[str, dict[str, list[int]]] = {}
    for record in records:
        roles = list(record.get("roles", ()))
        if seeker_role not in roles or hider_role not in roles:
            continue
        seeker = record["agents"][roles.index(seeker_role)]
        hider = record["agents"][roles.index(hider_role)]
        found = sum(1 for e in record.get("round_log") or () if e["rewards"][seeker] > 0)
        rounds = len(record.get("round_log") or ())
        for name, key in ((seeker, "as_seeker"), (hider, "as_hider")):
            cell = tally.setdefault(name, {"as_seeker": [0, 0], "as_hider": [0, 0]})[key]
            cell[0] += found
            cell[1] += rounds
    out = {}
    for name, parts in tally.items():
        out[name] = {}
        for key, (found, rounds) in parts.items():
            low, high = wilson_interval(found, rounds)
            out[name][key] = {"finds": found, "rounds": rounds,
                              "rate": found / rounds if rounds else None,
                              "ci_low": low, "ci_high": high}
    return out


def equilibrium_find_rate(seeker: Sequence[float], hider: Sequence[float],
                          seeker_payoff: np.ndarray) -> float:
    """The chance of a find when both play these mixed strategies (rows: seeker's nodes)."""
    found = (np.asarray(seeker_payoff) > 0).astype(float)
    return float(np.asarray(seeker, dtype=float) @ found @ np.asarray(hider, dtype=float))
