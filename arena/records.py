"""The match record: the one seam that storage, ratings, the live view and exports read.

A scheduled :class:`Fixture` (a match, or one agent's series of episodes in a solo
task) produces one :class:`MatchResult`. ``to_dict()`` gives the plain mapping that
``leaderboards`` consumes; its keys are:

``key``          unique match key within a run (also the seed's source)
``game``         game id (``rps``, ``hide_and_seek``, ``random_number``, ...)
``index``        position in the schedule; ratings are computed in this order
``seed``         the match seed, derived from the config seed and ``key``
``agents``       agent names in seat order (one name for solo tasks)
``roles``        env agent ids in seat order (``player_0``, ``hider_0``, ``solo``)
``status``       ``"finished"`` or ``"forfeit"``
``scores``       agent name -> total reward (solo: mean reward per step)
``rounds``       rounds (steps) played
``error``        error text when forfeited, else ``None``
``forfeited_by`` name of the agent that forfeited, else ``None``
``forfeit_kind`` why a match was forfeited (:data:`FORFEIT_KINDS`), else ``None``; ``None``
                 too for a forfeit from an older run whose error text could not tell
``group``        matches sharing a group are rated as one contest (hide-and-seek pairs)
``episodes``     solo tasks: number of episodes, else ``None``
``round_log``    per round: ``{"actions": {name: action}, "probabilities": {name: [p...]},
                 "rewards": {name: r}, "latency_ms": {name: ms}}`` plus ``episode``/``step``
                 for solo tasks and ``forfeited`` (names that gave up the round, see
                 ``arena.agent.RoundForfeit``). ``latency_ms`` is how long each agent's
                 decision call took, in milliseconds (``time.perf_counter`` around it, a
                 round given up included); it is timing, not a result, so it differs from
                 run to run like ``started_at``; runs from before it was kept have none
``stats``        agent name -> extra counters an agent reports (``invalid``, ``off_mass``...),
                 floats, or lists of texts (the ``hf`` agent's ``invalid_answers``: the raw
                 text of every answer it could not read); leaderboards use only the floats
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

FINISHED = "finished"
FORFEIT = "forfeit"
#: why a match was forfeited (``forfeit_kind``): an agent's own doing (it raised, returned
#: something that is not an action, could not be built); an error of the env or the
#: engine; or stopped from outside, because it ran past its time or its process died
FORFEIT_AGENT, FORFEIT_ERROR = "agent", "error"
FORFEIT_TIMEOUT, FORFEIT_DIED = "timeout", "died"
FORFEIT_KINDS = (FORFEIT_AGENT, FORFEIT_ERROR, FORFEIT_TIMEOUT, FORFEIT_DIED)
#: the kinds that are not the agents' doing: ``arena run --resume --retry-forfeits`` plays
#: such a match again, with its seed
RETRYABLE_KINDS = (FORFEIT_TIMEOUT, FORFEIT_DIED)
#: how the runner's error text of a match stopped from outside begins
RETRYABLE_TIMEOUT = "timed out after"
RETRYABLE_DIED = "the match's process ended"
RETRYABLE = (RETRYABLE_TIMEOUT, RETRYABLE_DIED)


@dataclass(frozen=True)
class Fixture:
    """One scheduled match (or one agent's series of episodes in a solo task); the
    schedule (:mod:`arena.schedule`) makes them, the match loop plays one."""

    key: str
    index: int
    game: str
    agents: tuple[str, ...]
    seed: int
    group: str | None = None
    episodes: int | None = None


@dataclass
class MatchResult:
    key: str
    game: str
    index: int
    seed: int
    agents: list[str]
    roles: list[str]
    status: str = FINISHED
    scores: dict[str, float] = field(default_factory=dict)
    rounds: int = 0
    error: str | None = None
    forfeited_by: str | None = None
    group: str | None = None
    episodes: int | None = None
    round_log: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)
    started_at: float = 0.0
    finished_at: float = 0.0
    forfeit_kind: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
