"""The schedule: pairings, seat orders, role-swapped pairs, solo series, keys and seeds."""

from __future__ import annotations

from collections import Counter

from arena.config import parse_config
from arena.schedule import build_schedule, derive_seed

AGENTS = [{"name": "a", "type": "uniform_random"}, {"name": "b", "type": "constant"},
          {"name": "c", "type": "cycle"}]


def config(**changes):
    data = {"name": "s", "seed": 5, "game": {"id": "rps", "rounds": 5},
            "format": {"type": "round_robin", "matches": 2}, "agents": AGENTS}
    data.update(changes)
    return parse_config(data)


def test_round_robin_every_pair_in_both_seats_matches_times():
    fixtures = build_schedule(config()).fixtures
    assert len(fixtures) == 3 * 2 * 2
    assert [f.index for f in fixtures] == list(range(len(fixtures)))
    seated = Counter(f.agents for f in fixtures)
    assert all(seated[(x, y)] == 2 for x in "abc" for y in "abc" if x != y)
    assert fixtures[0].key == "rps/a-vs-b/0" and fixtures[1].key == "rps/b-vs-a/0"
    assert len({f.key for f in fixtures}) == len(fixtures)
    assert all(f.group is None and f.episodes is None for f in fixtures)


def test_seeds_hash_config_seed_and_key():
    one, again = build_schedule(config()).fixtures, build_schedule(config()).fixtures
    assert one == again
    assert all(f.seed == derive_seed(5, f.key) for f in one)
    assert len({f.seed for f in one}) == len(one)
    other = build_schedule(config(seed=6)).fixtures
    assert [f.key for f in other] == [f.key for f in one]
    assert all(x.seed != y.seed for x, y in zip(one, other, strict=True))
    assert 0 <= derive_seed(1, "k") < 2**63


def test_gauntlet_challengers_meet_each_opponent_in_both_seats():
    fixtures = build_schedule(config(format={"type": "gauntlet", "opponents": ["c"],
                                             "matches": 1})).fixtures
    assert sorted(f.agents for f in fixtures) == sorted(
        [("a", "c"), ("c", "a"), ("b", "c"), ("c", "b")])


def test_hide_and_seek_is_played_as_role_swapped_pairs_sharing_a_seed():
    sched = build_schedule(config(game={"id": "hide_and_seek", "graph": "house", "rounds": 5},
                                  format={"type": "round_robin", "matches": 2}))
    fixtures = sched.fixtures
    assert len(fixtures) == 3 * 2 * 2  # 3 pairings x 2 pairs x 2 halves
    groups: dict[str, list] = {}
    for f in fixtures:
        groups.setdefault(f.group, []).append(f)
    assert len(groups) == 6
    for group, (first, second) in groups.items():
        assert first.agents == tuple(reversed(second.agents))
        assert first.seed == second.seed == derive_seed(5, group)
        assert first.key == f"{group}/{first.agents[0]}-hides"


def test_solo_series_share_episode_seeds_and_skip_non_players():
    sched = build_schedule(config(
        game={"id": "random_number"}, format={"type": "solo", "episodes": 4},
        agents=AGENTS + [{"name": "w", "type": "fixed_text"}]))
    assert [f.key for f in sched.fixtures] == ["random_number/a", "random_number/b"]
    assert {f.seed for f in sched.fixtures} == {derive_seed(5, "random_number/episodes")}
    assert all(f.episodes == 4 and len(f.agents) == 1 for f in sched.fixtures)
    skipped = " ".join(sched.notices)
    assert "'c'" in skipped and "'w'" in skipped


def test_games_list_indexes_run_across_games_and_respect_agent_games():
    cfg = config(game=None, games=[{"id": "rps", "rounds": 5},
                                   {"id": "hide_and_seek", "rounds": 5}],
                 agents=[{"name": "a", "type": "uniform_random"},
                         {"name": "b", "type": "constant", "games": ["rps"]},
                         {"name": "c", "type": "cycle"}])
    sched = build_schedule(cfg)
    assert list(dict.fromkeys(f.game for f in sched.fixtures)) == ["rps", "hide_and_seek"]
    assert [f.index for f in sched.fixtures] == list(range(len(sched.fixtures)))
    hs = [f for f in sched.fixtures if f.game == "hide_and_seek"]
    assert all("b" not in f.agents for f in hs) and len(hs) == 4
    assert any("'b'" in n and "hide_and_seek" in n for n in sched.notices)
