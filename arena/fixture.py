"""One scheduled fixture, start to finish: build its env and fresh agents, play it.

:func:`play_fixture` is what the runner runs for every match, in a worker process
(:mod:`arena.worker`) or, for agents that must share the run's memory, in a thread;
:func:`game_facts` is what the run's side needs to know of a game without playing it.
"""

from __future__ import annotations

import traceback
from typing import Any

from arena.agent import ServiceUnavailable
from arena.config import AgentConfig, Config
from arena.match import forfeit_kind, play_match, result_from
from arena.records import FORFEIT, FORFEIT_ERROR, Fixture, MatchResult
from arena.registry import make_agent
from arena.seats import Forfeit, MatchState


def build_agents(specs: list[AgentConfig], state: MatchState) -> list[Any]:
    """Fresh agent instances for one match, in seat order.

    ``state.current`` names the agent being built, so a constructor that never returns
    is blamed for the timeout like any other stuck call.
    """
    agents = []
    for spec in specs:
        state.current = spec.name
        try:
            agents.append(make_agent(spec.type, name=spec.name, **spec.options))
        except BaseException as exc:  # noqa: BLE001 -- a broken constructor forfeits for its agent
            raise Forfeit(spec.name, f"{spec.name}: cannot build agent: {exc!r}"
                          if not isinstance(exc, Exception) else
                          f"{spec.name}: cannot build agent: {exc}") from None
        state.agents[spec.name] = agents[-1]
    state.current = None
    return agents


def play_fixture(config: Config, fixture: Fixture, *, state: MatchState,
                 observer: Any = None) -> MatchResult:
    """Build the env and the agents and play one fixture; every failure is a record."""
    from envs import get_game

    game = config.game(fixture.game)
    try:
        env = get_game(game.id).make(**game.args)
        # roles and zero scores first, so an agent that cannot be built forfeits a
        # record shaped like any other
        state.roles = ["solo"] if fixture.episodes else list(env.possible_agents)
        state.totals = dict.fromkeys(fixture.agents, 0.0)
        agents = build_agents([config.agent(n) for n in fixture.agents], state)
    except Forfeit as exc:
        return result_from(fixture, state, status=FORFEIT, error=str(exc), by=exc.agent,
                           kind=forfeit_kind(exc))
    except Exception:  # noqa: BLE001 -- an engine or env failure voids this match only
        return result_from(fixture, state, status=FORFEIT, by=None, kind=FORFEIT_ERROR,
                           error=f"match failed: {traceback.format_exc(limit=6).strip()}")
    try:
        return play_match(env, agents, game=game.id, seed=fixture.seed, fixture=fixture,
                          observer=observer, state=state)
    except ServiceUnavailable:  # the runner stops the run; the match stays unplayed
        state.cancelled = True
        raise
    except Exception:  # noqa: BLE001 -- an engine or env failure voids this match only
        state.cancelled = True
        return result_from(fixture, state, status=FORFEIT, by=None, kind=FORFEIT_ERROR,
                           error=f"match failed: {traceback.format_exc(limit=6).strip()}")
