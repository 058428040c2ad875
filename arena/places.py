"""This machine's places for matches (see :mod:`arena.slots`).

A match seating an agent that must share the run's memory (``isolate = False`` in
:mod:`arena.agent`: a language model loaded once for every match) plays in a thread of
the run's process; every other match plays in a worker process, which can be killed
when an agent hangs. A run whose agents a worker could not build (a class defined in a
function, or in a script run as ``__main__``) plays every match in threads.
"""

from __future__ import annotations

from arena.config import Config
from arena.registry import get_agent_class
from arena.slot_process import ProcessPlaces, importable
from arena.slot_thread import ThreadPlaces
from arena.slots import Places


def model_agents(config: Config) -> set[str]:
    """The agents that must share the run's memory."""
    return {a.name for a in config.agents
            if not getattr(get_agent_class(a.type), "isolate", True)}


def in_process(config: Config) -> set[str]:
    """The agents whose matches play in the run's own process."""
    return model_agents(config) if importable(config) else {a.name for a in config.agents}


def local_places(config: Config, *, show_rounds: bool) -> list[Places]:
    """Threads for matches seating an agent in :func:`in_process`, worker processes for
    the rest."""
    shared = in_process(config)
    return [ThreadPlaces(config, shared=shared, show_rounds=show_rounds),
            ProcessPlaces(config, shared=shared, show_rounds=show_rounds)]
