"""An engine whose model lives elsewhere: in the run's model host (a Ray cluster's actors).

On a run with a model host (:func:`arena.agent.model_host`; ``arena run --ray``),
:func:`agents.llm.engine.get_engine` gives an ``hf`` agent a :class:`RemoteEngine`
instead of loading the model in the run's process. The model's actor builds the very
engine a local run would (:func:`agents.llm.engine.make_engine`, from the same plain
options), so prompts, token ids and scores are the local ones; the agent's prompt codec
stays here. Each call is one round trip to the actor, and a match's session lives in the
one replica that serves it.

``gpus`` (GPUs a replica takes) and ``replicas`` are agent options read only here: where
a model runs never changes what it computes, so they are not part of the engine's key.
A model on several GPUs is spread over them with ``device_map: auto`` unless the agent
sets its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # the registry imports this module with every agent module: keep it light
    from agents.llm.codec import Pair, Prompt
    from agents.llm.engine import Capabilities

#: what builds the engine inside a model actor
FACTORY = "agents.llm.engine:make_engine"


class RemoteSession:
    """One match's session, on the replica that keeps its prompt cache."""

    def __init__(self, opened: Any) -> None:
        self.opened = opened

    def score(self, pairs: Sequence[Pair]) -> np.ndarray:
        return self.opened.call("score", list(pairs))

    def generate(self, prompt: Prompt, **options: Any) -> str:
        return self.opened.call("generate", prompt, **options)

    def close(self) -> None:
        self.opened.close()


class RemoteEngine:
    """The :class:`~agents.llm.engine.Engine` interface over a model host's handle."""

    def __init__(self, host: Any, name: str, options: Mapping[str, Any], *, key: str,
                 gpus: float | None = None, replicas: int | None = None) -> None:
        self.name = name
        built = dict(options)
        gpus_each = host.gpus_for(gpus)
        if gpus_each > 1 and built.get("device_map") is None:
            built["device_map"] = "auto"  # one replica's GPUs, all on its node
        self.model = host.model(key, label=str(options.get("model")), factory=FACTORY,
                                args=(name, built), gpus=gpus_each, replicas=replicas or 1)
        self._capabilities: Capabilities | None = None

    def score(self, pairs: Sequence[Pair]) -> np.ndarray:
        return self.model.call("score", list(pairs))

    def generate(self, prompt: Prompt, **options: Any) -> str:
        return self.model.call("generate", prompt, **options)

    def session(self) -> RemoteSession:
        return RemoteSession(self.model.session())

    def capabilities(self) -> Capabilities:
        from agents.llm.engine import Capabilities

        if self._capabilities is None:
            found = self.model.call("capabilities")
            # the weights are the cluster's, not the run's process's
            self._capabilities = Capabilities(scoring=found.scoring, resident=False)
        return self._capabilities

    def identity(self) -> dict[str, Any]:
        return self.model.call("identity")

    def close(self) -> None:
        """The actor is the model host's to end (the model plan decides when)."""
