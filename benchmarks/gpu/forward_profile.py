"""Where one batched forward's time goes: ``llm_batching.py --profile``'s profiler.

:func:`profile_batch` runs a batch (the steps and caches as the engine's queue formed
them) a few times in the calling thread under ``torch.profiler``, with the arena's own
steps in :mod:`agents.llm.kv_batch` and the model's call labelled, and prints the
operations that take the most device time and the most host time. Imports torch and
``agents.llm.kv_batch`` only when called.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

# the arena's own steps inside a forward, as labels in the profile
PROFILED_STEPS = {"layout_rows": "arena: positions and kinds", "_gather": "arena: gather caches",
                  "_kept_slots": "arena: kept slots"}


def profile_batch(model: Any, forward: Callable[[list[Any]], Any], steps: list[Any], *,
                  repeats: int = 3) -> dict[str, Any]:
    """``forward(steps)`` once to warm up, then ``repeats`` times under the profiler;
    prints the tables and returns them with the batch's shape and time a forward."""
    import torch
    from torch.profiler import ProfilerActivity, record_function

    from agents.llm import kv_batch

    def labelled(function: Any, label: str) -> Any:
        def run(*a: Any, **kw: Any) -> Any:
            with record_function(label):
                return function(*a, **kw)
        return run

    def sync() -> None:
        if on_gpu:
            torch.cuda.synchronize(model.device)

    on_gpu = model.device.type == "cuda"
    originals = {name: getattr(kv_batch, name) for name in PROFILED_STEPS}
    for name, label in PROFILED_STEPS.items():
        setattr(kv_batch, name, labelled(originals[name], label))
    model.forward = labelled(type(model).forward.__get__(model), "arena: model forward")
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if on_gpu else [])
    try:
        with torch.inference_mode():
            forward(steps)  # once outside the profile: allocator and kernels warm
            sync()
            start = time.perf_counter()
            with torch.profiler.profile(activities=activities) as prof:
                for _ in range(repeats):
                    with record_function("arena: batched forward"):
                        forward(steps)
                    sync()
            seconds_each = (time.perf_counter() - start) / repeats
    finally:
        for name, function in originals.items():
            setattr(kv_batch, name, function)
        del model.forward  # the class's own forward again
    averages = prof.key_averages()
    tables = {}
    sorts = (["self_device_time_total"] if on_gpu else []) + ["self_cpu_time_total",
                                                              "cpu_time_total"]
    for sort in sorts:
        try:
            tables[sort] = averages.table(sort_by=sort, row_limit=25, max_name_column_width=60)
        except (KeyError, AttributeError, ValueError):  # an older torch's name for it
            if sort == "self_device_time_total":
                tables[sort] = averages.table(sort_by="self_cuda_time_total", row_limit=25,
                                              max_name_column_width=60)
    cached = [s.cached for s in steps]
    width = max(len(s.new) + sum(len(b) for b in s.branches) for s in steps)
    what = (f"{len(steps)} rows, caches {min(cached)}-{max(cached)} tokens, {width} query "
            f"slots; {seconds_each * 1e3:.1f} ms a forward under the profiler")
    for sort, table in tables.items():
        print(f"\n## profile: {repeats} forwards of {what}, by {sort}\n{table}", flush=True)
    return {"rows": len(steps), "cached": [min(cached), max(cached)], "width": width,
            "repeats": repeats, "seconds_each": seconds_each, "tables": tables}
