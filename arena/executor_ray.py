"""A run on a Ray cluster: what ``arena run --ray ADDRESS`` puts in the runner's place.

The runner's loop is the same as on one machine; only its places differ:

- bots' matches run as Ray tasks (:class:`arena.slot_ray.RayPlaces`), anywhere on the
  cluster;
- a match seating a language model runs its match loop in a thread of the run's process
  (:class:`ModelThreadPlaces`), and each decision goes to the model's actor
  (:mod:`arena.model_actor`), where concurrent matches' decisions are batched.

The run's process (the driver) stays the one writer: it holds the SQLite store and saves
every record the slots return, so ``kill -9`` of the driver loses nothing committed and
``--resume`` works across executors (a run started locally may be resumed on Ray, and the
reverse). :class:`RayExecutor` connects, builds the places, and at the end kills every
actor and task of the run and leaves the cluster.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from arena.agent import set_model_host
from arena.config import Config
from arena.model_pool import POOL
from arena.ray_cluster import RayCluster
from arena.slot_ray import RayPlaces, files_to_ship, ray_setup
from arena.slot_thread import ThreadPlaces, ThreadSlot
from arena.slots import Event, Places, Started


class ModelThreadSlot(ThreadSlot):
    """A model match in a thread of the driver; the live view hears where it runs. A
    model actor that died and came back without the match's prompt cache has the match
    played again from round 1, as in every thread slot
    (:class:`~arena.agent.ServiceRestarted`)."""

    node = "driver"

    def push(self, event: Event) -> None:
        if isinstance(event, Started):  # the live view shows where the match loop runs
            event = Started({**event.info, "node": self.node})
        super().push(event)


class ModelThreadPlaces(ThreadPlaces):
    """Threads of the driver for matches seating a language model (see the module)."""

    def __init__(self, config: Config, *, shared: set[str], show_rounds: bool,
                 node: str) -> None:
        super().__init__(config, shared=shared, show_rounds=show_rounds)
        self.node = node

    def slot(self) -> ThreadSlot:
        slot = ModelThreadSlot(self.config, self.wake, show_rounds=self.show_rounds)
        slot.node = self.node
        return slot


class RayExecutor:
    """The run's cluster, its model host and its places (see the module docstring)."""

    def __init__(self, config: Config, address: str) -> None:
        from arena.model_actor import ModelHost

        self.config = config
        self.cluster = RayCluster(address, ship=files_to_ship(config),
                                  connect_timeout=config.executor.connect_timeout)
        ray = self.cluster.ray
        self.host = ModelHost(ray, cluster_gpus=self.cluster.gpus,
                              restarts=config.executor.model_restarts)
        set_model_host(self.host)
        POOL.retire_when_done = True  # a model's actor ends with its last match
        self.ray_places: RayPlaces | None = None

    def places(self, *, show_rounds: bool, notify: Callable[[str], None]) -> list[Places]:
        """Threads of the driver for model matches, tasks on the cluster for the rest
        (all in threads when a worker could not build the agents: a class defined in a
        function or a script)."""
        from arena.places import in_process
        from arena.ray_match import node_label

        shared = in_process(self.config)
        self.host.notify = notify
        setup = ray_setup(self.config, self.cluster.shipped, show_rounds=show_rounds)
        self.ray_places = RayPlaces(self.config, self.cluster.ray, shared=shared, setup=setup,
                                    cpus_per_match=self.config.executor.cpus_per_match)
        try:
            node = node_label()
        except Exception:  # noqa: BLE001 -- a Ray Client driver has no node of its own
            node = f"driver (pid {os.getpid()})"
        return [ModelThreadPlaces(self.config, shared=shared, show_rounds=show_rounds,
                                  node=node), self.ray_places]

    def close(self) -> None:
        """Kill the run's model actors and tasks, and leave the cluster."""
        set_model_host(None)
        POOL.retire_when_done = False
        try:
            self.host.close()
        finally:
            self.cluster.close()
