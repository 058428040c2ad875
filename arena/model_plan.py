"""An order of play that loads each language model as few times as possible.

With a model budget (config ``memory.max_models``), the order of the matches decides how
often models are loaded: a round robin in schedule order would swap weights in and out
all the time. :func:`plan` groups the fixtures by the set of models they need and plays
the groups greedily: next, the group that needs the fewest models not in memory (ties:
the earliest in the schedule). It simulates the pool (:mod:`arena.model_pool`) as the
runner drives it, unloading the least recently held model first, to count the loads.
Within a group the schedule order is kept.

Only the order of play changes: every match keeps its index, seed and key, and ratings
are computed in schedule order from the store, so no result or rating depends on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from arena.config_model import Config
from arena.errors import ArenaError
from arena.model_pool import POOL
from arena.records import Fixture


@dataclass(frozen=True)
class Plan:
    """The order of play and the model loads it needs under the budget."""

    order: list[Fixture]
    loads: int
    models: int  # distinct models the run needs


def plan(fixtures: Sequence[Fixture], needs: Callable[[Fixture], frozenset[str]], *,
         max_models: int | None) -> Plan:
    """Order ``fixtures`` for ``max_models`` (None: schedule order, each model once)."""
    wanted = [needs(f) for f in fixtures]
    models: set[str] = set().union(*wanted) if wanted else set()
    for f, need in zip(fixtures, wanted, strict=True):
        if max_models is not None and len(need) > max_models:
            raise ValueError(f"match {f.key} needs {len(need)} models at once but "
                             f"memory.max_models is {max_models}")
    if max_models is None or len(models) <= max_models:
        return Plan(list(fixtures), len(models), len(models))
    groups: dict[frozenset[str], list[Fixture]] = {}
    for f, need in zip(fixtures, wanted, strict=True):
        groups.setdefault(need, []).append(f)
    resident: set[str] = set()
    last: dict[str, int] = {}
    tick = 0
    order: list[Fixture] = []
    loads = 0
    while groups:
        need = min(groups, key=lambda g: (len(g - resident), groups[g][0].index))
        tick += 1
        for model in sorted(need - resident):
            if len(resident) >= max_models:
                unheld = sorted(resident - need, key=lambda k: (last.get(k, 0), k))
                resident.discard(unheld[0])
            resident.add(model)
            loads += 1
        for fixture in groups.pop(need):
            order.append(fixture)
        for model in need:
            last[model] = tick
    return Plan(order, loads, len(models))


def resident_models(cls: Any, options: Mapping[str, Any]) -> tuple[str, ...]:
    """The pooled models an agent of class ``cls`` with ``options`` holds in this
    process (its optional ``resident_models`` classmethod; none without one)."""
    hook = getattr(cls, "resident_models", None)
    if not callable(hook):
        return ()
    return tuple(hook(dict(options)))


class ModelGate:
    """The runner's side of the model budget: the order of play, whether a match may
    start now, and holding its models in the pool while it is in flight."""

    def __init__(self, config: Config, keys: Mapping[str, tuple[str, ...]]) -> None:
        self.max_models = config.memory.max_models
        self.max_gb = config.memory.max_gb
        self.keys = dict(keys)  # agent name -> the models it holds
        self.plan: Plan | None = None
        self._held: dict[str, frozenset[str]] = {}  # fixture key -> models, in flight
        self._left: dict[str, int] = {}  # model -> matches not yet ended that need it

    @classmethod
    def of(cls, config: Config, *, playing_here: set[str] | None = None) -> ModelGate:
        """The gate for ``config``'s agents that play in the run's own process (all of
        them by default; models in worker processes are not the run's memory)."""
        from arena.registry import get_agent_class

        return cls(config, {a.name: resident_models(get_agent_class(a.type), a.options)
                            for a in config.agents
                            if playing_here is None or a.name in playing_here})

    def needs(self, fixture: Fixture) -> frozenset[str]:
        return frozenset(k for name in fixture.agents for k in self.keys.get(name, ()))

    def order(self, fixtures: Sequence[Fixture]) -> list[Fixture]:
        """The order to play ``fixtures`` in; an ``ArenaError`` (one line) when a match
        seats more models than the budget."""
        try:
            self.plan = plan(fixtures, self.needs, max_models=self.max_models)
        except ValueError as exc:
            raise ArenaError(str(exc)) from None
        self._left = {}
        for fixture in fixtures:
            for model in self.needs(fixture):
                self._left[model] = self._left.get(model, 0) + 1
        return self.plan.order

    def start(self, notify: Callable[[str], None]) -> list[Fixture]:
        """Set the pool's budget for the run and say the plan; the order of play."""
        assert self.plan is not None, "order() first"
        POOL.configure(max_models=self.max_models, max_gb=self.max_gb, notify=notify)
        if self.max_models is not None and self.plan.models:
            notify(f"{self.plan.models} language models, at most {self.max_models} in memory: "
                   f"{self.plan.loads} loads planned")
        return self.plan.order

    def fits(self, fixture: Fixture) -> bool:
        """Whether ``fixture`` may start beside the matches in flight within the budget."""
        if self.max_models is None:
            return True
        need = self.needs(fixture)
        return len(need.union(*self._held.values())) <= self.max_models

    def started(self, fixture: Fixture) -> None:
        need = self._held[fixture.key] = self.needs(fixture)
        if need:
            POOL.hold(sorted(need))

    def ended(self, key: str) -> None:
        need = self._held.pop(key, frozenset())
        if need:
            POOL.release(need)
        for model in need:
            self._left[model] = self._left.get(model, 1) - 1
            if self._left[model] <= 0:
                POOL.retire(model)

    def summary(self) -> str | None:
        """The run log's line on model loads (None when no pooled model played)."""
        if self.plan is None or not self.plan.models or self.max_models is None:
            return None
        return (f"model loads: {POOL.loads} (planned {self.plan.loads}); "
                f"at most {POOL.peak} in memory at once")
