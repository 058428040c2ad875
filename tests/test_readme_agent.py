"""The README's "add an agent" example (docs/example_agent.py) works as written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gymnasium.spaces import Discrete

from arena.registry import get_agent_class, make_agent
from envs.rps import payoff_matrix
from tests.helpers import play

DOCS = Path(__file__).resolve().parent.parent / "docs"
EXAMPLE = "example_agent:WinStayLoseShift"


@pytest.fixture(autouse=True)
def docs_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(DOCS))


def test_readme_shows_the_tested_example_verbatim() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    assert (DOCS / "example_agent.py").read_text().rstrip() in readme


def test_example_is_short() -> None:
    code = [line for line in (DOCS / "example_agent.py").read_text().splitlines()
            if line.strip() and not line.lstrip().startswith(("#", '"""', "from", "import"))]
    assert len(code) <= 25


def test_example_plays_through_the_module_class_route() -> None:
    cls = get_agent_class(EXAMPLE)
    assert get_agent_class("win_stay_lose_shift") is cls  # its decorator registered it too
    # It finds the winning answer to a constant and keeps it.
    rps = play(make_agent(EXAMPLE, name="wsls"), make_agent("constant", name="rock"))
    assert rps["wsls"] > 0.95
    rps5 = play(make_agent(EXAMPLE, name="wsls"), make_agent("constant", name="rock"), n_actions=5)
    assert rps5["wsls"] > 0.95  # the same among five actions, from the payoff it is given
    seeker = play(make_agent("constant", name="hider", action="cellar"),
                  make_agent(EXAMPLE, name="wsls"), game="hide_and_seek", graph="house",
                  search_radius=1)
    assert seeker["wsls"] > 0.9
    # Against uniform random nothing wins.
    fair = np.mean([play(make_agent(EXAMPLE, name="wsls"), make_agent("uniform_random", name="u"),
                         seed=s)["wsls"] for s in range(5)])
    assert abs(fair) < 0.06


def test_example_policy_is_exact() -> None:
    agent = make_agent(EXAMPLE, name="wsls", stay_on_draw=True)
    agent.reset(seed=0, kind="matrix", action_names=["rock", "paper", "scissors"],
                payoff=payoff_matrix(3))
    obs = np.full((3, 2), -1)
    own, policy = agent.decide(obs, Discrete(3))
    assert np.allclose(policy, 1 / 3)
    obs[0] = (own, 0)  # against rock
    expected = {0: [1, 0, 0], 1: [0, 1, 0], 2: [0.5, 0.5, 0]}[own]  # draw stays, loss shifts
    assert np.allclose(agent.decide(obs, Discrete(3)).policy, expected)
