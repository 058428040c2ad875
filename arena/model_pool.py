"""The language models a run holds in memory, under its budget (config ``memory``).

Models are known by a key: the string an agent class's ``resident_models(options)``
gives for them, which the model engine also registers under. The runner holds the keys of
every match in flight (:meth:`ModelPool.hold` when it starts, :meth:`release` when it
ends), in the order it starts them. An engine tells the pool when it is about to load
weights (:meth:`loading`) and when it has (:meth:`loaded`). Before a load the pool
unloads models that no match holds, least recently held first, until the new one fits
``max_models``; after a load it does the same for ``max_gb``. The runner keeps the models
of the matches in flight within ``max_models`` (:mod:`arena.model_plan`), so there is
always one to let go; the order is the plan's, so the loads are the planned ones.

The pool lives in the run's process (language models play there, in threads) and knows
nothing about transformers: anything with ``unload()`` and ``nbytes`` can be pooled.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from typing import Protocol


class Pooled(Protocol):
    """A loaded model that can give its memory back."""

    nbytes: int

    def unload(self) -> None: ...


class ModelPool:
    """Loaded models with their holders and when each was last held."""

    def __init__(self) -> None:
        self.max_models: int | None = None
        self.max_bytes: int | None = None
        self._notify: Callable[[str], None] | None = None
        self._resident: dict[str, Pooled] = {}
        self._holds: dict[str, int] = {}
        self._last: dict[str, int] = {}  # key -> tick of its last hold
        self._labels: dict[str, str] = {}  # key -> how the run log names the model
        self._ticks = itertools.count(1)
        self._lock = threading.RLock()
        self.loads = 0  # weight loads since configure()
        self.unloads = 0
        self.peak = 0  # most models in memory at once
        # let a model go as soon as no later match needs it (a cluster's GPUs are shared
        # by the run's models in turn); in one process the plan keeps models loaded
        self.retire_when_done = False

    def configure(self, *, max_models: int | None = None, max_gb: float | None = None,
                  notify: Callable[[str], None] | None = None) -> None:
        """Set the run's budget and where load messages go; counters start again."""
        with self._lock:
            self.max_models = max_models
            self.max_bytes = int(max_gb * 1e9) if max_gb else None
            self._notify = notify
            self._holds.clear()  # an earlier run in this process may have stopped mid-match
            self.loads = self.unloads = 0
            self.peak = len(self._resident)

    @property
    def resident(self) -> list[str]:
        """Keys of the models in memory."""
        with self._lock:
            return sorted(self._resident)

    def hold(self, keys: Iterable[str]) -> None:
        """A match needs these models until :meth:`release`: none is unloaded meanwhile."""
        with self._lock:
            tick = next(self._ticks)
            for key in keys:
                self._holds[key] = self._holds.get(key, 0) + 1
                self._last[key] = tick

    def release(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                left = self._holds.get(key, 0) - 1
                if left > 0:
                    self._holds[key] = left
                else:
                    self._holds.pop(key, None)

    def loading(self, key: str) -> None:
        """The model ``key`` is about to load: make room for one more."""
        with self._lock:
            if self.max_models is not None:
                self._evict(lambda: len(self._resident) >= self.max_models, keep=key)

    def loaded(self, key: str, model: Pooled, *, label: str | None = None) -> None:
        with self._lock:
            self._resident[key] = model
            self._labels[key] = label or key
            self.loads += 1
            self.peak = max(self.peak, len(self._resident))
            self._say(f"model loaded: {self._labels[key]} ({len(self._resident)} in memory, "
                      f"load {self.loads} of this run)")
            if self.max_bytes is not None:
                self._evict(lambda: self._bytes() > self.max_bytes, keep=key)

    def retire(self, key: str) -> None:
        """No later match needs ``key``: let it go now, if :attr:`retire_when_done`."""
        with self._lock:
            if not self.retire_when_done or self._holds.get(key) or key not in self._resident:
                return
            self._resident.pop(key).unload()
            self.unloads += 1
            self._say(f"model unloaded: {self._labels.get(key, key)} (no later match needs it)")

    def unloaded(self, key: str) -> None:
        """The model ``key`` let its weights go by itself."""
        with self._lock:
            self._resident.pop(key, None)

    def _bytes(self) -> int:
        return sum(m.nbytes for m in self._resident.values())

    def _evict(self, over: Callable[[], bool], *, keep: str) -> None:
        # least recently held first; the key breaks ties, as the plan does
        for key in sorted(self._resident, key=lambda k: (self._last.get(k, 0), k)):
            if not over():
                return
            if key == keep or self._holds.get(key):
                continue
            self._resident.pop(key).unload()
            self.unloads += 1
            self._say(f"model unloaded: {self._labels.get(key, key)} (least recently used)")
        if over():
            self._say(f"model memory is over its budget: every loaded model is in a match "
                      f"({', '.join(self._labels.get(k, k) for k in self.resident)})")

    def _say(self, message: str) -> None:
        if self._notify is not None:
            self._notify(message)


#: the run's pool (one run per process at a time)
POOL = ModelPool()
