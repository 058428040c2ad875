"""Language models on a Ray cluster: one actor per model (or ``replicas`` of them).

The arena's side knows nothing of language models: an actor holds whatever object a
``"module:function"`` factory builds from plain arguments (for a model agent, its engine:
``agents.llm.engine:make_engine``) and runs its methods, and those of the per-match
sessions it opens, on the caller's behalf. An agent reaches it through the run's model
host (:func:`arena.agent.model_host`), which :class:`ModelHost` is on a Ray run.

- **Batching.** An actor runs up to :data:`ACTOR_THREADS` calls at once, so concurrent
  matches' decisions meet in the engine's batcher and run as one forward, as they do in
  one process.
- **Sticky sessions.** A match's session (its prompt cache) is opened on one replica,
  the one with the fewest sessions, and every call of that match goes there.
- **GPUs.** ``gpus`` per replica (an agent option); by default one when the cluster has
  GPUs, none otherwise. A replica on several GPUs reserves them in one placement group
  bundle (``STRICT_PACK``: one node), and the engine spreads the model over them
  (``device_map``).
- **The model plan.** Actors are created on first use and registered with the run's
  model pool (:mod:`arena.model_pool`) like weights loaded in the run's process: the
  budget and the plan decide when one is killed (:meth:`RemoteModel.unload`).
- **Failures.** Ray restarts an actor whose process dies (``executor.model_restarts``
  times). A call that was in flight raises :class:`~arena.agent.ServiceRestarted` once
  the actor is back: its session is gone, and the match is played again from round 1
  with its seed. An actor that cannot come back raises
  :class:`~arena.agent.ServiceUnavailable`: the run stops (exit 3) and ``--resume``
  completes it.
"""

from __future__ import annotations

import importlib
import itertools
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from arena.agent import ServiceRestarted, ServiceUnavailable
from arena.model_pool import POOL

#: calls an actor runs at once (the matches in flight on one model, both seats)
ACTOR_THREADS = 64
#: seconds a restarting actor may take to load its model again
RESTART_SECONDS = 900.0


class ModelActor:
    """Inside an actor: the object a factory built, and the sessions opened on it."""

    def __init__(self, factory: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        module, _, name = factory.partition(":")
        self.target = getattr(importlib.import_module(module), name)(*args, **kwargs)
        self.sessions: dict[int, Any] = {}
        self.lock = threading.Lock()

    def where(self) -> dict[str, Any]:
        """This actor's node and process (answers as soon as the actor is alive)."""
        import ray

        node = ray.get_runtime_context().get_node_id()[:6]
        return {"node": f"{ray.util.get_node_ip_address()}/{node}", "pid": os.getpid()}

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.target, method)(*args, **kwargs)

    def open(self, session: int) -> None:
        opened = self.target.session()
        with self.lock:
            self.sessions[session] = opened

    def on(self, session: int, method: str, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            opened = self.sessions[session]
        return getattr(opened, method)(*args, **kwargs)

    def close(self, session: int) -> None:
        with self.lock:
            opened = self.sessions.pop(session, None)
        if opened is not None:
            opened.close()


class RemoteSession:
    """One match's session on one replica (every call of the match goes there)."""

    def __init__(self, model: RemoteModel, replica: int, number: int) -> None:
        self.model, self.replica, self.number = model, replica, number

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self.model.run(self.replica, "on", self.number, method, *args, **kwargs)

    def close(self) -> None:
        self.model.closed(self)


class RemoteModel:
    """One model's replicas, created on first use (see the module docstring)."""

    def __init__(self, host: ModelHost, key: str, label: str, factory: str,
                 args: tuple[Any, ...], kwargs: dict[str, Any], *, gpus: float,
                 replicas: int) -> None:
        self.host, self.key, self.label = host, key, label
        self.factory, self.args, self.kwargs = factory, args, kwargs
        self.gpus, self.replicas = gpus, replicas
        self.actors: list[Any] = []
        self.groups: list[Any] = []  # placement groups of multi-GPU replicas
        self.nodes: list[str] = []
        self.pids: list[int] = []  # each replica's process: a new one means a restart
        self.load: list[int] = []  # open sessions per replica
        self.nbytes = 0  # the model's memory is the cluster's, not the run's
        self._numbers = itertools.count(1)
        self._lock = threading.RLock()

    # -- lifecycle ---------------------------------------------------------------------
    def _ensure(self) -> None:
        with self._lock:
            if self.actors:
                return
            POOL.loading(self.key)  # the run's budget may retire another model first
            for _ in range(self.replicas):
                self._add_replica()
            POOL.loaded(self.key, self, label=self.label)

    def _add_replica(self) -> None:
        ray = self.host.ray
        options: dict[str, Any] = {"max_concurrency": ACTOR_THREADS, "num_cpus": 0,
                                   "max_restarts": self.host.restarts_allowed,
                                   "max_task_retries": 0}
        if self.gpus > 1:
            from ray.util.placement_group import placement_group
            from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

            group = placement_group([{"GPU": self.gpus}], strategy="STRICT_PACK")
            self.groups.append(group)
            options["scheduling_strategy"] = PlacementGroupSchedulingStrategy(
                group, placement_group_bundle_index=0)
        options["num_gpus"] = self.gpus
        actor = ray.remote(ModelActor).options(**options).remote(self.factory, self.args,
                                                             self.kwargs)
        where = self._get(actor.where.remote(), replica=None)
        self.actors.append(actor)
        self.nodes.append(where["node"])
        self.pids.append(where["pid"])
        self.load.append(0)

    def unload(self) -> None:
        """Kill the replicas (the plan needs this model no more, or the budget is full);
        a later use creates them again."""
        ray = self.host.ray
        with self._lock:
            actors, groups = self.actors, self.groups
            self.actors, self.groups, self.nodes, self.pids, self.load = [], [], [], [], []
        for actor in actors:
            ray.kill(actor, no_restart=True)
        for group in groups:
            from ray.util.placement_group import remove_placement_group

            remove_placement_group(group)
        POOL.unloaded(self.key)

    # -- calls -------------------------------------------------------------------------
    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """A call on the engine itself (any replica: the first)."""
        return self.run(0, "call", method, *args, **kwargs)

    def session(self) -> RemoteSession:
        self._ensure()
        with self._lock:
            replica = min(range(len(self.load)), key=lambda i: (self.load[i], i))
            self.load[replica] += 1
        opened = RemoteSession(self, replica, next(self._numbers))
        self.run(replica, "open", opened.number)
        return opened

    def closed(self, opened: RemoteSession) -> None:
        with self._lock:
            if opened.replica < len(self.load):
                self.load[opened.replica] -= 1
            actors = self.actors
        if opened.replica < len(actors):
            try:
                actors[opened.replica].close.remote(opened.number)
            except Exception:  # noqa: BLE001 -- a dead actor has no session to close
                pass

    def node(self, opened: RemoteSession | None = None) -> str | None:
        with self._lock:
            replica = opened.replica if opened is not None else 0
            return self.nodes[replica] if replica < len(self.nodes) else None

    def run(self, replica: int, method: str, *args: Any, **kwargs: Any) -> Any:
        self._ensure()
        with self._lock:
            actor = self.actors[replica]
        return self._get(getattr(actor, method).remote(*args, **kwargs), replica=replica)

    def _get(self, ref: Any, *, replica: int | None) -> Any:
        from ray.exceptions import RayActorError

        try:
            return self.host.ray.get(ref)
        except RayActorError as exc:  # its process died (an engine's own error passes)
            if replica is None:
                self._lost(replica, exc)
            self._recover(replica, exc)
        raise AssertionError("unreachable")  # pragma: no cover

    def _state(self, actor: Any) -> str:
        """The actor's state in the cluster's table: ALIVE, RESTARTING, DEAD..."""
        from ray._private.state import actors

        try:
            return str(actors(actor._actor_id.hex()).get("State", "UNKNOWN"))
        except Exception:  # noqa: BLE001 -- unknown: keep waiting until the deadline
            return "UNKNOWN"

    def _recover(self, replica: int, exc: BaseException) -> None:
        """The actor's process died: wait for Ray to restart it, then the match in flight
        is played again (its session died with the process)."""
        from ray.exceptions import GetTimeoutError, RayActorError

        with self._lock:
            actor = self.actors[replica] if replica < len(self.actors) else None
        if actor is None:  # unloaded meanwhile: the next call creates it again
            raise ServiceRestarted(f"model {self.label}: its actor was replaced")
        deadline = time.monotonic() + RESTART_SECONDS
        while time.monotonic() < deadline:
            try:
                where = self.host.ray.get(actor.where.remote(), timeout=30)
            except (RayActorError, GetTimeoutError) as failed:
                if self._state(actor) == "DEAD":  # no restarts left
                    self._lost(replica, failed)
                time.sleep(0.5)
                continue
            with self._lock:
                first = replica < len(self.pids) and self.pids[replica] != where["pid"]
                if first:  # the first of its calls to see the new process says so
                    self.nodes[replica], self.pids[replica] = where["node"], where["pid"]
            if first:
                self.host.restarted(self.label)
            raise ServiceRestarted(f"model {self.label}: its actor was restarted; the "
                                   "match is played again from its first round")
        self._lost(replica, exc)

    def _lost(self, replica: int | None, exc: BaseException) -> None:
        reason = " ".join(str(getattr(exc, "cause", None) or exc).split())[:200]
        what = "could not start" if replica is None else "died and could not be restarted"
        raise ServiceUnavailable(f"the Ray actor of model {self.label} {what} "
                                 f"({type(exc).__name__}: {reason})")


class ModelHost:
    """Where a Ray run's language models live: one :class:`RemoteModel` per model key."""

    def __init__(self, ray: Any, *, cluster_gpus: float, restarts: int = 3,
                 notify: Callable[[str], None] | None = None) -> None:
        self.ray = ray
        self.cluster_gpus = cluster_gpus
        self.restarts_allowed = restarts  # per actor, before the run stops
        self.notify = notify or (lambda message: None)
        self.models: dict[str, RemoteModel] = {}
        self.restarts = 0
        self._lock = threading.Lock()

    def gpus_for(self, asked: float | None) -> float:
        """GPUs per replica: as asked, else one when the cluster has any."""
        if asked is not None:
            return float(asked)
        return 1.0 if self.cluster_gpus > 0 else 0.0

    def model(self, key: str, *, label: str, factory: str, args: tuple[Any, ...] = (),
              kwargs: dict[str, Any] | None = None, gpus: float | None = None,
              replicas: int = 1) -> RemoteModel:
        """The run's handle on model ``key`` (its actors start on first use)."""
        with self._lock:
            model = self.models.get(key)
            if model is None:
                model = self.models[key] = RemoteModel(
                    self, key, label, factory, args, dict(kwargs or {}),
                    gpus=self.gpus_for(gpus), replicas=max(1, replicas))
            return model

    def restarted(self, label: str) -> None:
        with self._lock:
            self.restarts += 1
        self.notify(f"model {label}: its Ray actor died and was restarted; its matches in "
                    "flight are played again from their first round")

    def close(self) -> None:
        """Kill every model actor of the run."""
        for model in list(self.models.values()):
            model.unload()
