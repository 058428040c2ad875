"""The kind of a forfeit is stored in a field of its own (``forfeit_kind``), so
``--retry-forfeits`` replays matches stopped from outside and never an agent's own forfeit,
whatever its error text says; older runs get the kind from their texts where it is certain."""

from __future__ import annotations

import sqlite3

import pytest

from arena.match import play_match
from arena.records import (
    FORFEIT,
    FORFEIT_AGENT,
    FORFEIT_DIED,
    FORFEIT_ERROR,
    FORFEIT_TIMEOUT,
    MatchResult,
)
from arena.registry import make_agent
from arena.store import Store
from arena.store_schema import SCHEMA_VERSION, old_forfeit_kind
from tests.arena.test_store import CONFIG, make_v0_run, result
from tests.test_cli import FAULTS, arena, exported, write_config

NAMED_LIKE_A_TIMEOUT = "timed out after 3 s"
TRACEBACK = "Traceback (most recent call last):\n  ...\nRuntimeError: deliberate failure"

OLD_TEXTS = [  # (error, forfeited_by, the kind a migration may conclude)
    ("timed out after 3 s: b did not answer", "b", FORFEIT_TIMEOUT),
    ("timed out after 1.5 s: the match did not finish", None, FORFEIT_TIMEOUT),
    ("the match's process ended (exit code -9) while a was deciding", "a", FORFEIT_DIED),
    ("the match's process ended (exit code 1) between decisions", None, FORFEIT_DIED),
    (f"a: {TRACEBACK}", "a", FORFEIT_AGENT),
    ("b: returned 7, not an action in Discrete(3)", "b", FORFEIT_AGENT),
    ("env error: ValueError('x')", None, FORFEIT_ERROR),
    ("match failed: Traceback ...", None, FORFEIT_ERROR),
    # an agent named like the runner's message, raising: its own forfeit
    (f"{NAMED_LIKE_A_TIMEOUT}: {TRACEBACK}", NAMED_LIKE_A_TIMEOUT, FORFEIT_AGENT),
    # ...whose text could also be the runner's: unknown, so never replayed
    (f"{NAMED_LIKE_A_TIMEOUT}: {NAMED_LIKE_A_TIMEOUT} did not answer", NAMED_LIKE_A_TIMEOUT,
     None),
    # a timeout text blaming another agent than the one that forfeited: not the runner's
    ("timed out after 3 s: b did not answer", "a", None),
    ("something else", None, None),
]


@pytest.mark.parametrize(("error", "by", "kind"), OLD_TEXTS)
def test_an_old_forfeit_gets_its_kind_only_where_the_text_is_certain(error, by, kind):
    assert old_forfeit_kind(error, by) == kind


def _forfeit(index: int, error: str, by: str | None) -> MatchResult:
    return result(index, status=FORFEIT, error=error, forfeited_by=by)


def test_the_migration_derives_the_kinds_and_retry_replays_only_stopped_matches(tmp_path):
    run = tmp_path / "run"
    matches = [_forfeit(i, error, by) for i, (error, by, _) in enumerate(OLD_TEXTS)]
    make_v0_run(run, result(len(matches)), *matches)
    with Store.open(run, write=True) as store:
        assert store.schema_version == SCHEMA_VERSION
        kinds = {r["key"]: r["forfeit_kind"] for r in store.results()}
        assert kinds == {**{m.key: kind for m, (_, _, kind) in zip(matches, OLD_TEXTS, strict=True)},
                         result(len(matches)).key: None}
        replayed = store.forget_retryable()
    stopped = {m.key for m, (_, _, kind) in zip(matches, OLD_TEXTS, strict=True)
               if kind in (FORFEIT_TIMEOUT, FORFEIT_DIED)}
    assert set(replayed) == stopped and len(stopped) == 4
    with Store.open(run) as store:
        assert store.finished_keys().isdisjoint(stopped)
        assert store.count() == len(matches) + 1 - len(stopped)


def test_a_new_forfeit_keeps_its_kind_and_the_text_is_never_read(tmp_path):
    from envs import get_game

    agents = [make_agent(FAULTS + "Raiser", name=NAMED_LIKE_A_TIMEOUT, at=2),
              make_agent("cycle", name="cyc")]
    record = play_match(get_game("rps").make(rounds=5), agents, game="rps", seed=1)
    assert record.error.startswith(NAMED_LIKE_A_TIMEOUT)  # reads like a runner's timeout
    assert record.forfeit_kind == FORFEIT_AGENT
    with Store.create(tmp_path / "run", config=CONFIG) as store:
        store.save(record)
        # a record with the runner's own words but an agent's kind is not replayed either
        store.save(MatchResult(key="x", game="rps", index=1, seed=2, agents=["a", "b"],
                               roles=["player_0", "player_1"], status=FORFEIT,
                               error="timed out after 3 s: a did not answer",
                               forfeited_by="a", forfeit_kind=FORFEIT_AGENT))
        assert store.forget_retryable() == []
        assert [r["forfeit_kind"] for r in store.results()] == [FORFEIT_AGENT, FORFEIT_AGENT]
    conn = sqlite3.connect(tmp_path / "run" / "arena.db")
    assert [k for (k,) in conn.execute("SELECT forfeit_kind FROM matches")] == ["agent"] * 2
    conn.close()


def test_retry_forfeits_leaves_an_agent_named_like_a_timeout_alone(tmp_path):
    config = write_config(tmp_path / "c.yaml", [
        {"name": NAMED_LIKE_A_TIMEOUT, "type": FAULTS + "Raiser", "at": 2},
        {"name": "cyc", "type": "cycle"}])
    out = tmp_path / "run"
    first = arena("run", str(config), "--out", str(out), "--no-live")
    assert first.returncode == 0, first.stderr
    before = exported(out)
    assert [(r["status"], r["forfeit_kind"]) for r in before] == [("forfeit", "agent")] * 2
    replay = arena("run", str(config), "--out", str(out), "--no-live", "--resume",
                   "--retry-forfeits")
    assert replay.returncode == 0, replay.stderr
    assert "Replaying 0 forfeited matches" in replay.stdout
    assert [r["finished_at"] for r in exported(out)] == [r["finished_at"] for r in before]
