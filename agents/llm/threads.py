"""How many threads a model's forward may use: the cores this process may really run on,
shared among the models running at once.

torch starts one intra-op thread per core it sees, and each model's batcher runs its
forwards in its own thread. Two models at once, or a machine shared with other jobs,
then ask for more threads than there are cores, and OpenMP's threads spin while they
wait for one another: the CPU time of a run grew six-fold next to a CPU hog. So each
forward gets ``cores // models running`` threads (at least one), where ``cores`` counts
only what this process may use: its CPU affinity (``os.sched_getaffinity``) and its
cgroup's CPU quota (``cpu.max``, or ``cpu.cfs_quota_us`` under cgroup v1). The agent
option ``threads`` overrides it for one model. Waiting threads sleep rather than spin
(``OMP_WAIT_POLICY=PASSIVE``) unless the environment says otherwise.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from pathlib import Path

_ACTIVE: set[int] = set()  # batchers with a forward under way or a session open
_LOCK = threading.Lock()


def available_cores(*, cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """The cores this process may use: its affinity, capped by its cgroup's CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = _cgroup_quota(cgroup)
    if quota is not None:
        cores = min(cores, max(1, math.ceil(quota)))
    return max(1, cores)


def _cgroup_quota(root: Path) -> float | None:
    """CPUs' worth of time the cgroup may use (``None``: no limit, or none found)."""
    try:
        text = (root / "cpu.max").read_text().split()
        if text and text[0] != "max":
            return int(text[0]) / int(text[1])
        return None
    except (OSError, ValueError, IndexError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def quiet_waiting() -> None:
    """Let idle OpenMP threads sleep instead of spin. OpenMP reads this when torch is
    loaded, so it is set before anything here imports torch or transformers (which
    imports torch); it never overrides the environment."""
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def running(batcher: int, busy: bool) -> None:
    """Batcher ``batcher`` (its id) starts or stops having work."""
    with _LOCK:
        if busy:
            _ACTIVE.add(batcher)
        else:
            _ACTIVE.discard(batcher)


def share(batcher: int, *, cores: int | None = None) -> int:
    """Threads for one forward of ``batcher``: the cores divided among the busy batchers."""
    with _LOCK:
        busy = len(_ACTIVE | {batcher})
    return max(1, (cores or available_cores()) // busy)
