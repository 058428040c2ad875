"""A model memory budget changes only the order of play, so a run resumes with one."""

from __future__ import annotations

from arena.launch import run_command
from arena.store import Store
from tests.arena.test_launch import write


def test_resume_with_a_memory_budget_is_not_a_config_change(tmp_path):
    config = write(tmp_path / "c.yaml")
    out = str(tmp_path / "run")
    assert run_command(str(config), out=out, live=False) == 0
    with Store.open(out) as store:
        before = store.results(rounds=True)
    for budget in (["memory.max_models=1"], ["memory.max_models=1", "memory.max_gb=4"]):
        assert run_command(str(config), out=out, resume=True, live=False,
                           overrides=budget) == 0
    with Store.open(out) as store:
        assert store.results(rounds=True) == before  # nothing replayed, nothing changed
