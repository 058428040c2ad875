"""The baseline bots in two-player games: behaviour, exact policies, seeds, any n."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from gymnasium.spaces import Discrete

from agents.sequence import de_bruijn, parse_string, pi_digits
from arena.agent import Decision
from arena.registry import RegistryError, make_agent
from envs.rps import ACTION_NAMES, payoff_matrix
from tests.helpers import play

TWO_PLAYER = ["uniform_random", "constant", "cycle", "biased", "copy_opponent", "beat_last",
              "never_repeat", "sequence", "humanlike"]
RANDOM = ["uniform_random", "biased", "copy_opponent", "beat_last", "never_repeat", "humanlike"]


def rps_context(n: int, rounds: int = 1000) -> dict[str, Any]:
    return {"game": "rps", "kind": "matrix", "role": "player_0", "rounds": rounds,
            "action_names": list(ACTION_NAMES[:n]), "payoff": payoff_matrix(n)}


def drive(agent: Any, opponent: list[int], *, context: dict[str, Any], seed: int = 0
          ) -> tuple[list[int], list[np.ndarray]]:
    """Play ``agent`` against a fixed list of opponent moves with hand-made observations."""
    n = len(context["action_names"])
    rounds = len(opponent)
    agent.reset(seed=seed, **{**context, "rounds": rounds})
    obs = np.full((rounds, 2), -1, dtype=np.int64)
    actions, policies = [], []
    for t, theirs in enumerate(opponent):
        action, probs = agent.decide(obs, Discrete(n))
        assert probs.shape == (n,) and np.all(probs >= 0)
        assert probs.sum() == pytest.approx(1.0)
        assert probs[action] > 0, f"round {t}: sampled action {action} had probability 0"
        obs[t] = (action, theirs)
        actions.append(action)
        policies.append(probs)
    return actions, policies


def random_moves(n: int, rounds: int, seed: int = 99) -> list[int]:
    return [int(x) for x in np.random.default_rng(seed).integers(n, size=rounds)]


@pytest.mark.parametrize("n", [3, 5])
@pytest.mark.parametrize("kind", TWO_PLAYER)
def test_policy_is_exact_and_matches_frequencies(kind: str, n: int) -> None:
    rounds = 3000
    actions, policies = drive(make_agent(kind, name="x"), random_moves(n, rounds),
                              context=rps_context(n))
    expected = np.sum(policies, axis=0)
    counts = np.bincount(actions, minlength=n)
    sd = np.sqrt(np.sum([p * (1 - p) for p in policies], axis=0))
    assert np.all(np.abs(counts - expected) <= 5 * sd + 1e-9), (counts, expected)


@pytest.mark.parametrize("kind", RANDOM)
def test_seed_reproduces_and_varies(kind: str) -> None:
    moves = random_moves(3, 200)
    first, _ = drive(make_agent(kind, name="x"), moves, context=rps_context(3), seed=5)
    again, _ = drive(make_agent(kind, name="x"), moves, context=rps_context(3), seed=5)
    other, _ = drive(make_agent(kind, name="x"), moves, context=rps_context(3), seed=6)
    assert first == again
    assert first != other


def test_uniform_random_policy() -> None:
    _, policies = drive(make_agent("uniform_random", name="u"), [0] * 5, context=rps_context(5))
    assert all(np.allclose(p, 0.2) for p in policies)


def test_constant_by_index_and_name() -> None:
    assert drive(make_agent("constant", name="c"), [0] * 4, context=rps_context(3))[0] == [0] * 4
    assert drive(make_agent("constant", name="c", action="Spock"), [1] * 4,
                 context=rps_context(5))[0] == [3] * 4
    with pytest.raises(ValueError, match="unknown action 'spock'"):
        drive(make_agent("constant", name="c", action="spock"), [0], context=rps_context(3))
    with pytest.raises(ValueError, match="out of range"):
        drive(make_agent("constant", name="c", action=4), [0], context=rps_context(3))


def test_cycle_walks_with_step() -> None:
    assert drive(make_agent("cycle", name="c"), [0] * 7, context=rps_context(3))[0] == [
        0, 1, 2, 0, 1, 2, 0]
    assert drive(make_agent("cycle", name="c", start=1, step=2), [0] * 6,
                 context=rps_context(5))[0] == [1, 3, 0, 2, 4, 1]


def test_biased_weights_list_mapping_and_padding() -> None:
    _, policies = drive(make_agent("biased", name="b"), [0], context=rps_context(3))
    assert np.allclose(policies[0], [0.5, 0.3, 0.2])
    _, policies = drive(make_agent("biased", name="b"), [0], context=rps_context(5))
    assert np.allclose(policies[0], [0.5, 0.3, 0.2, 0, 0])
    _, policies = drive(make_agent("biased", name="b", weights={"lizard": 3, "rock": 1}), [0],
                        context=rps_context(5))
    assert np.allclose(policies[0], [0.25, 0, 0, 0, 0.75])
    with pytest.raises(ValueError, match="4 weights for 3 actions"):
        drive(make_agent("biased", name="b", weights=[1, 1, 1, 1]), [0], context=rps_context(3))
    with pytest.raises(RegistryError, match="non-negative"):
        make_agent("biased", name="b", weights=[1, -1, 1])


def test_copy_opponent_plays_their_last_move() -> None:
    moves = random_moves(5, 50)
    actions, policies = drive(make_agent("copy_opponent", name="c"), moves, context=rps_context(5))
    assert np.allclose(policies[0], 0.2)
    assert actions[1:] == moves[:-1]


@pytest.mark.parametrize("n", [3, 5])
def test_beat_last_best_responds_from_payoff(n: int) -> None:
    payoff = payoff_matrix(n)
    moves = random_moves(n, 100)
    _, policies = drive(make_agent("beat_last", name="b"), moves, context=rps_context(n))
    for theirs, probs in zip(moves[:-1], policies[1:], strict=True):
        best = payoff[:, theirs] == payoff[:, theirs].max()
        assert np.allclose(probs, best / best.sum())
    if n == 3:  # paper after rock, exactly
        assert np.allclose(policies[1 + moves.index(0)], [0, 1, 0])


def test_beat_last_uses_any_payoff_matrix() -> None:
    # A seeker on a path a-b-c with search radius 1: searching b covers everyone.
    payoff = np.array([[1, 1, -1], [1, 1, 1], [-1, 1, 1]], dtype=float)
    context = {"kind": "matrix", "action_names": ["a", "b", "c"], "payoff": payoff,
               "role": "seeker_0"}
    _, policies = drive(make_agent("beat_last", name="b"), [0, 2, 1], context=context)
    assert np.allclose(policies[1], [0.5, 0.5, 0])  # hider was at a: search a or b
    assert np.allclose(policies[2], [0, 0.5, 0.5])
    hider = -payoff.T  # the hider hides out of reach of the last search, if it can
    context = {**context, "payoff": hider, "role": "hider_0"}
    _, policies = drive(make_agent("beat_last", name="b"), [0, 1], context=context)
    assert np.allclose(policies[1], [0, 0, 1])


def test_never_repeat_excludes_only_its_last_move() -> None:
    actions, policies = drive(make_agent("never_repeat", name="r"), [0] * 500,
                              context=rps_context(3))
    assert all(a != b for a, b in zip(actions[:-1], actions[1:], strict=True))
    for last, probs in zip(actions[:-1], policies[1:], strict=True):
        assert probs[last] == 0 and np.allclose(np.delete(probs, last), 0.5)


def test_humanlike_exact_distribution_and_no_repeats() -> None:
    actions, policies = drive(make_agent("humanlike", name="h"), [0] * 2000,
                              context=rps_context(3))
    assert np.allclose(policies[0], [0.5, 0.25, 0.25])
    assert all(a != b for a, b in zip(actions[:-1], actions[1:], strict=True))
    after = {0: [0, 0.5, 0.5], 1: [2 / 3, 0, 1 / 3], 2: [2 / 3, 1 / 3, 0]}
    for last, probs in zip(actions[:-1], policies[1:], strict=True):
        assert np.allclose(probs, after[last])
    # The chain's stationary share of rock is 2/5 (solve r = (1 - r) * 2/3).
    assert np.mean(np.array(actions) == 0) == pytest.approx(2 / 5, abs=0.04)


def test_humanlike_favourite_and_bias_options() -> None:
    _, policies = drive(make_agent("humanlike", name="h", favourite="lizard", bias=0.6), [0],
                        context=rps_context(5))
    assert np.allclose(policies[0], [0.1, 0.1, 0.1, 0.1, 0.6])
    with pytest.raises(RegistryError, match="bias"):
        make_agent("humanlike", name="h", bias=1.5)


def test_pi_digits_are_exact() -> None:
    digits = pi_digits(1024)
    assert digits.startswith("31415926535897932384626433832795028841971693993751")
    assert digits[762:768] == "999999"  # the Feynman point
    assert pi_digits(4096).startswith(digits)


def test_sequence_pi_mod_n_and_long_matches() -> None:
    actions, _ = drive(make_agent("sequence", name="s"), [0] * 3000, context=rps_context(3))
    assert actions[:8] == [int(d) % 3 for d in "31415926"]
    assert actions == [int(d) % 3 for d in pi_digits(4096)[:3000]]
    shares = np.bincount(actions[:1000], minlength=3) / 1000
    assert shares[0] == pytest.approx(0.4, abs=0.03)  # 0, 3, 6 and 9 all map to rock


@pytest.mark.parametrize(("n", "order"), [(2, 5), (3, 6), (5, 4), (7, 2)])
def test_de_bruijn_has_every_window_once(n: int, order: int) -> None:
    seq = de_bruijn(n, order)
    assert len(seq) == n**order
    windows = {tuple(seq[(i + j) % len(seq)] for j in range(order)) for i in range(len(seq))}
    assert len(windows) == n**order


def test_sequence_de_bruijn_order_covers_the_match() -> None:
    actions, _ = drive(make_agent("sequence", name="s", source="de_bruijn"), [0] * 1000,
                       context=rps_context(3))
    assert actions == de_bruijn(3, 7)[:1000]  # 3**7 = 2187 >= 1000 rounds
    actions, _ = drive(make_agent("sequence", name="s", source="de_bruijn", order=2), [0] * 20,
                       context=rps_context(3))
    assert actions == (de_bruijn(3, 2) * 3)[:20]


def test_sequence_given_string_repeats() -> None:
    agent = make_agent("sequence", name="s", string="rock, paper paper")
    assert drive(agent, [0] * 7, context=rps_context(3))[0] == [0, 1, 1, 0, 1, 1, 0]
    agent = make_agent("sequence", name="s", string="0121", offset=1)
    assert drive(agent, [0] * 5, context=rps_context(3))[0] == [1, 2, 1, 0, 1]
    assert parse_string("rpsRP", ["rock", "paper", "scissors"]) == [0, 1, 2, 0, 1]
    with pytest.raises(ValueError, match="cannot read 's'"):  # scissors or spock?
        parse_string("rps", list(ACTION_NAMES))
    with pytest.raises(ValueError, match="out of range"):
        parse_string("0123", ["rock", "paper", "scissors"])
    with pytest.raises(RegistryError, match="source"):
        make_agent("sequence", name="s", source="primes")


@pytest.mark.parametrize("n", [3, 5])
def test_matches_through_the_env(n: int) -> None:
    def duel(a: str, b: str, **opts: Any) -> float:
        result = play(make_agent(a, name="a", **opts), make_agent(b, name="b"),
                      rounds=1000, seed=3, n_actions=n)
        assert result["a"] == pytest.approx(-result["b"])
        return result["a"]

    assert duel("beat_last", "constant") > 0.99  # only round 1 is not a win
    assert duel("copy_opponent", "constant") == pytest.approx(0.0, abs=0.01)
    assert abs(duel("humanlike", "uniform_random")) < 0.1
    if n == 3:
        assert duel("cycle", "beat_last") == pytest.approx(0.0, abs=0.01)  # it lands on a draw
        assert duel("humanlike", "beat_last") > 0.4  # it never repeats, beat_last assumes it does


class Checked:
    """Wraps an agent in a match and checks every decision: its policy and the action drawn
    from it."""

    def __init__(self, agent: Any) -> None:
        self.agent, self.name, self.decisions = agent, agent.name, 0

    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        self.n = len(context["action_names"])
        self.agent.reset(seed=seed, **context)

    def decide(self, observation: Any, action_space: Any) -> Decision:
        decision = self.agent.decide(observation, action_space)
        probs = decision.policy
        assert probs.shape == (self.n,) and probs.sum() == pytest.approx(1.0)
        assert probs[decision.action] > 0
        self.decisions += 1
        return decision

    def act(self, observation: Any, action_space: Any) -> int:
        return self.decide(observation, action_space).action


@pytest.mark.parametrize("graph", ["house", "line-6"])
@pytest.mark.parametrize("kind", TWO_PLAYER)
def test_plays_both_hide_and_seek_roles(kind: str, graph: str) -> None:
    for hider, seeker in [(Checked(make_agent(kind, name="a")), Checked(make_agent("biased",
                                                                                   name="b"))),
                          (Checked(make_agent("humanlike", name="b")),
                           Checked(make_agent(kind, name="a")))]:
        result = play(hider, seeker, game="hide_and_seek", rounds=300, seed=1, graph=graph,
                      search_radius=1)
        assert hider.decisions == seeker.decisions == 300
        assert hider.agent.decisions_made == seeker.agent.decisions_made == 300
        assert -1 <= result["a"] <= 1 and result["a"] == pytest.approx(-result["b"])


def test_beat_last_seeker_catches_a_constant_hider() -> None:
    result = play(make_agent("constant", name="hider", action="cellar"),
                  make_agent("beat_last", name="seeker"), game="hide_and_seek", rounds=500,
                  graph="house", search_radius=1)
    assert result["seeker"] > 0.99
