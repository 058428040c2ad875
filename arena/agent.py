"""The agent protocol: as small as OpenSpiel's Bot.

An agent needs a ``name``, ``reset`` and ``act``; the engine asks it for exactly one
decision per round. Everything else is optional, and this is the complete list of what
the engine looks for:

``decide(observation, action_space) -> Decision``
    The one call per decision when present: the action and the exact mixed strategy it
    was drawn from (or ``None``). :class:`BaseAgent` implements it; the policy is stored
    with the round, and white-box opponents read it.
``policy(observation, action_space)``
    For classes without ``decide`` (a bare bot from outside the project): the exact mixed
    strategy, called once per decision *before* ``act`` and stored with the round.
``kinds``
    The kinds of game the agent can play (see :data:`envs.KINDS`: ``"matrix"`` for
    repeated matrix games, ``"numbers"`` for the random-number task, ``"text"`` for
    writing); ``None`` means all. A classmethod ``can_play(game) -> bool`` (given the
    game's :class:`envs.GameSpec`) decides instead when a kind is not enough.
``match_timeout``
    Seconds a match with this agent may take before it is forfeited, when the config
    leaves ``timeout: auto`` (the default): 60 when absent; ``None`` for no limit
    (language models on a CPU).
``isolate``
    ``True`` (the default): the agent's matches run in worker processes, which the
    engine kills when a match overruns its time limit. ``False`` for an agent that must
    share the run's memory (a language model loaded once for every match); its matches
    run in threads of the run's process.
``white_box``
    When true the engine passes ``opponent_policy`` in the reset context: a
    zero-argument function returning the opponent's distribution for the current
    round (or ``None``). White-box agents decide after their opponent.
``stats() -> dict``
    Counters stored with the match once it ends (floats, or lists of texts).
``prompt_text(past)``
    The exact text a language model reads; ``arena prompt`` shows it. With it,
    ``_observe(observation)`` (reading one decision's observation into the history, as
    ``decide`` does, given ``decisions_made``) lets ``arena prompt`` replay a stored match.
``close()``
    Called when the agent's match (or solo series) is over: free what it holds for the
    match, such as a language model's prompt cache.
``identity() -> dict``
    What exactly plays (a language model's files, revision, dtype, engine, server),
    asked once when a run starts and recorded with it (``runs.models``); plain JSON data.
``resident_models(options) -> list[str]`` (classmethod)
    The models an agent with these options loads into the run's own memory, by the keys
    the run's model budget counts (``memory:`` in the config); none when absent.

Giving up one decision: ``decide``/``act``/``policy`` may raise :class:`RoundForfeit`
(a language model with no readable answer after its retries does). The round is still
played with the move the game's registry entry names for a forfeit (in a matrix game the
agent's worst reply to the opponent's move, in a solo task the move worth the least
reward); the round log marks it ``forfeited`` and the agent's match stats count
``round_forfeits``. Any other exception forfeits the whole match.

``reset(seed=..., **context)`` is called before every match (or every episode of a solo
task) on a fresh instance; :class:`Context` lists the keys.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, NamedTuple, Protocol, TypedDict, runtime_checkable

import numpy as np


class Context(TypedDict, total=False):
    """The reset context: what an agent learns about the game before it plays.

    Every game: ``game`` (its id), ``kind`` (``matrix``, ``numbers`` or ``text``),
    ``role`` and ``rounds``. Matrix games add ``action_names`` and ``payoff`` (the stage
    game from this seat: rows = own action, columns = opponent action), hide-and-seek
    adds ``graph`` and ``search_radius``, and white-box agents get ``opponent_policy``.
    Solo tasks add ``episode`` and their task keys (``low``, ``high``, ``length`` for
    numbers; ``prompt``, ``max_chars`` for writing).
    """

    game: str
    kind: str
    role: str
    rounds: int
    action_names: Sequence[str]
    payoff: np.ndarray
    graph: Any
    search_radius: int
    opponent_policy: Callable[[], np.ndarray | None]
    episode: int
    low: int
    high: int
    length: int
    prompt: str
    max_chars: int


class Decision(NamedTuple):
    """One decision: the action, and the exact distribution it was drawn from, if any."""

    action: Any
    policy: np.ndarray | None = None


def one_hot(index: int, n: int) -> np.ndarray:
    """The pure strategy ``index`` among ``n`` actions, as a policy vector."""
    probs = np.zeros(n)
    probs[index] = 1.0
    return probs


def normalised(probs: Any) -> np.ndarray:
    """``probs`` as floats summing to one; an exact softmax (a language model's) keeps
    its bits."""
    probs = np.asarray(probs, dtype=float)
    total = probs.sum()
    return probs if total == 1.0 else probs / total


class RoundForfeit(Exception):
    """Raised from a decision to give up this decision only; the message says why."""


class ServiceUnavailable(Exception):
    """Raised when something the agent needs outside the run (a model server) stays
    unreachable. Not a forfeit: the agent is not at fault, so the match is left unfinished
    (``--resume`` plays it again) and the run stops with the message as its one line."""


class ServiceRestarted(ServiceUnavailable):
    """Raised when a service the match used (a model's Ray actor) died and came back
    without the match's state (its prompt cache): the match is played again from its first
    round, with its seed, so its record is the one an uninterrupted run makes."""


#: where language models run when not in the run's process: the run's model host (a
#: Ray run's :class:`arena.model_actor.ModelHost`), or ``None`` to run them here
_MODEL_HOST: Any = None


def model_host() -> Any:
    """The run's model host, or ``None``: a model agent then runs its engine in-process."""
    return _MODEL_HOST


def set_model_host(host: Any) -> None:
    """Set (or with ``None`` clear) where this run's language models live."""
    global _MODEL_HOST
    _MODEL_HOST = host


@runtime_checkable
class Agent(Protocol):
    """What the engine needs from a player."""

    name: str

    def reset(self, *, seed: int | None = None, **context: Any) -> None: ...

    def act(self, observation: Any, action_space: Any) -> Any: ...


class BaseAgent:
    """Convenience base: the name, a seeded RNG, the context and the decision count.

    The engine makes one call per decision, :meth:`decide`, which counts it
    (``decisions_made``, here and nowhere else) and returns what :meth:`choose` returns:
    the action and the distribution it was drawn from, together (OpenSpiel's
    ``step_with_policy``). A bot implements :meth:`distribution` (its mixed strategy: the
    engine stores it and the action is drawn from it with ``self.rng``), or :meth:`act`
    for an agent without one. An agent that decides its own way (a language model that
    samples) overrides :meth:`choose` and returns its :class:`Decision` directly.
    """

    kinds: ClassVar[frozenset[str] | None] = None
    isolate: ClassVar[bool] = True
    white_box: ClassVar[bool] = False
    match_timeout: ClassVar[float | None] = 60.0

    def __init__(self, *, name: str | None = None) -> None:
        self.name = name or type(self).__name__
        self.rng = np.random.default_rng()
        self.context: Context = {}
        self.decisions_made = 0

    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        self.rng = np.random.default_rng(seed)
        self.context = context  # type: ignore[assignment]
        self.decisions_made = 0

    def decide(self, observation: Any, action_space: Any) -> Decision:
        """One decision (:meth:`choose`), counted even when it gives up its round
        (:class:`RoundForfeit`): a round given up is still a round of the observation."""
        try:
            return self.choose(observation, action_space)
        finally:
            self.decisions_made += 1

    def choose(self, observation: Any, action_space: Any) -> Decision:
        """The action and its distribution: drawn from :meth:`distribution`, or
        :meth:`act` alone for an agent without one."""
        probs = self.distribution(observation, action_space)
        if probs is not None:
            probs = normalised(probs)
            return Decision(self._draw(probs, action_space), probs)
        if type(self).act is BaseAgent.act:
            raise NotImplementedError(
                f"{type(self).__name__} must implement act() or distribution()")
        return Decision(self.act(observation, action_space), None)

    def act(self, observation: Any, action_space: Any) -> Any:
        """The action alone: ``decide(...).action`` (OpenSpiel's ``step``). An agent without
        a distribution overrides it (and must not call this one)."""
        return self.decide(observation, action_space).action

    def _draw(self, probs: np.ndarray, action_space: Any) -> Any:
        """Sample an index from ``probs``, shifted by ``action_space.start``: in the
        random-number task (``Discrete(K, start=low)``) index ``i`` is the number ``low + i``."""
        start = int(getattr(action_space, "start", 0))
        return start + int(self.rng.choice(len(probs), p=probs))

    def distribution(self, observation: Any, action_space: Any) -> np.ndarray | None:
        """The mixed strategy for this decision; ``None`` if the agent has none."""
        return None

    # Helpers for the common case: read only the newest observation entry (O(1) per round).

    def n_actions(self, action_space: Any = None) -> int:
        """Number of actions: ``len(context["action_names"])``, else ``action_space.n``."""
        names = self.context.get("action_names")
        if names is not None:
            return len(names)
        if action_space is None:
            raise ValueError(f"{self.name}: no action_names in context and no action space")
        return int(action_space.n)

    def newest(self, observation: Any) -> Any:
        """The observation entry of this agent's previous decision, or ``None`` before it.

        Matrix games: the row ``(own move, opponent move)``; random numbers: the number
        this agent said last.
        """
        if self.decisions_made == 0:
            return None
        return observation[self.decisions_made - 1]

    def last_moves(self, observation: Any) -> tuple[int, int] | None:
        """``(own, opponent)`` action indices of the previous round, or ``None`` in round 1."""
        row = self.newest(observation)
        if row is None:
            return None
        return int(row[0]), int(row[1])

    def action_index(self, action: int | str, n: int) -> int:
        """Resolve an option naming an action: an index, or a name from ``action_names``."""
        if isinstance(action, str):
            names = [str(a) for a in self.context.get("action_names", ())]
            lowered = [a.lower() for a in names]
            if action.lower() in lowered:
                return lowered.index(action.lower())
            if action.lstrip("-").isdigit() and not names:
                action = int(action)
            else:
                raise ValueError(f"{self.name}: unknown action {action!r} (actions: {', '.join(names)})")
        if not 0 <= int(action) < n:
            raise ValueError(f"{self.name}: action index {action} out of range for {n} actions")
        return int(action)
