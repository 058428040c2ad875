"""The model pool and the load-minimising order of play, without any model."""

from __future__ import annotations

import itertools

import pytest

from arena.model_plan import plan
from arena.model_pool import ModelPool
from arena.records import Fixture


class Weights:
    def __init__(self, log: list[str], key: str, nbytes: int = 1) -> None:
        self.log, self.key, self.nbytes = log, key, nbytes

    def unload(self) -> None:
        self.log.append(f"unload {self.key}")


def load(pool: ModelPool, log: list[str], key: str, nbytes: int = 1) -> None:
    pool.loading(key)
    pool.loaded(key, Weights(log, key, nbytes))


def test_the_least_recently_held_model_that_no_match_holds_goes_first() -> None:
    pool, log, notes = ModelPool(), [], []
    pool.configure(max_models=2, notify=notes.append)
    pool.hold(["a"])
    load(pool, log, "a")
    pool.hold(["b"])
    load(pool, log, "b")
    pool.release(["a"])
    pool.release(["b"])
    pool.hold(["a"])  # a is now more recent than b
    pool.release(["a"])
    pool.hold(["c"])
    load(pool, log, "c")
    assert log == ["unload b"] and pool.resident == ["a", "c"]
    pool.hold(["d"])  # c is held: a goes, although it was used after... nothing else is free
    load(pool, log, "d")
    assert log == ["unload b", "unload a"] and pool.resident == ["c", "d"]
    assert pool.loads == 4 and pool.unloads == 2 and pool.peak == 2
    assert any("model unloaded: b" in n for n in notes)


def test_a_held_model_is_never_unloaded_even_over_budget() -> None:
    pool, log, notes = ModelPool(), [], []
    pool.configure(max_models=1, notify=notes.append)
    pool.hold(["a", "b"])
    load(pool, log, "a")
    load(pool, log, "b")
    assert log == [] and pool.resident == ["a", "b"]
    assert any("over its budget" in n for n in notes)


def test_a_byte_budget_unloads_until_the_new_model_fits() -> None:
    pool, log = ModelPool(), []
    pool.configure(max_gb=1.0)
    load(pool, log, "a", 400_000_000)
    load(pool, log, "b", 400_000_000)
    load(pool, log, "c", 400_000_000)
    assert log == ["unload a"] and pool.resident == ["b", "c"]


def fixtures_of(pairs: list[tuple[str, ...]]) -> list[Fixture]:
    return [Fixture(key=f"m{i}", index=i, game="rps", agents=p, seed=i)
            for i, p in enumerate(pairs)]


def simulate(order: list[Fixture], needs, max_models: int) -> tuple[int, int]:
    """Play ``order`` one match at a time through a real pool: (loads, peak)."""
    pool, log = ModelPool(), []
    pool.configure(max_models=max_models)
    for fixture in order:
        need = sorted(needs(fixture))
        pool.hold(need)
        for key in need:
            if key not in pool.resident:
                load(pool, log, key)
        pool.release(need)
    return pool.loads, pool.peak


def test_the_plan_loads_no_more_than_the_schedule_order_and_says_how_many() -> None:
    llms = ["a", "b", "c", "d"]
    # a round robin of four models and a bot, both seat orders, in schedule order
    pairs = [p for p in itertools.permutations([*llms, "bot"], 2)]
    fixtures = fixtures_of(pairs)

    def needs(f: Fixture) -> frozenset[str]:
        return frozenset(a for a in f.agents if a != "bot")

    made = plan(fixtures, needs, max_models=2)
    assert sorted(f.index for f in made.order) == list(range(len(fixtures)))
    loads, peak = simulate(made.order, needs, 2)
    assert loads == made.loads and peak <= 2
    naive, _ = simulate(fixtures, needs, 2)
    assert made.loads < naive
    assert made.models == 4


def test_without_a_budget_the_schedule_order_is_kept() -> None:
    fixtures = fixtures_of([("a", "b"), ("b", "c")])
    made = plan(fixtures, lambda f: frozenset(f.agents), max_models=None)
    assert made.order == fixtures and made.loads == 3


def test_a_match_needing_more_models_than_the_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="needs 2 models at once but memory.max_models is 1"):
        plan(fixtures_of([("a", "b")]), lambda f: frozenset(f.agents), max_models=1)
