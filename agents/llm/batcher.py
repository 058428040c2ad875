"""One request queue per model: concurrent matches share each forward pass.

Every match thread that needs the model puts a job on its engine's queue and waits on a
future. One thread per model takes *everything* waiting (up to ``max_batch`` jobs) and
runs it as one batched forward (:func:`agents.llm.kv_batch.forward`), so eight matches in
flight cost about one forward a round, not eight queued behind a lock.

A job is a small state machine over steps. Scoring is one step. Sampling is one step for
the prompt, then one step per generated token; between its steps a sampling job goes
back on the queue, so it shares forwards with whatever else is waiting. A job whose
batch fails is tried again alone, so one bad request fails only its own match.

Matches come back from a forward at slightly different times (each draws its move,
steps its env and asks the other seat before its next decision), so a worker that
started at once would mostly run batches of one or two. Instead it waits, at most
``gather_s`` (20 ms) or a quarter of the last forward if that is longer, until every
match thread with a session open on this model has a job waiting (both seats of one
match count once: they ask in turn). One match alone never waits.

Each forward runs with the torch threads :func:`agents.llm.threads.share` gives it (the
cores this process may use, divided among the models running at once), or ``threads``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future
from typing import Any

from agents.llm import threads as cpu
from agents.llm.kv_batch import Step, StepOutput, forward

DEFAULT_MAX_BATCH = 64
#: how long the worker waits for the other open sessions' decisions before a forward
DEFAULT_GATHER_S = 0.02


class Job:
    """One decision's work: ``step`` is its next forward; :meth:`advance` takes the
    output and returns the next step, or None when the future has its result."""

    def __init__(self, step: Step) -> None:
        self.step: Step | None = step
        self.future: Future = Future()

    def advance(self, output: StepOutput) -> Step | None:
        raise NotImplementedError


class Batcher:
    """The request queue and worker thread of one engine."""

    def __init__(self, engine: Any, *, max_batch: int = DEFAULT_MAX_BATCH,
                 gather_s: float = DEFAULT_GATHER_S, threads: int | None = None) -> None:
        self.engine = engine
        self.max_batch = max(1, int(max_batch))
        self.gather_s = gather_s
        self.threads = threads
        self._cores = cpu.available_cores()
        self._set_threads = 0  # what this worker thread last gave torch
        # open sessions per thread: a match's thread asks for one decision at a time, so
        # the threads with a session open are the most jobs that can be waiting at once
        self._open: dict[int, int] = {}
        self._last_forward = 0.0  # seconds the last forward took
        self._waiting: deque[Job] = deque()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self.batches = 0  # forwards run
        self.rows = 0  # steps they carried: rows / batches is the mean batch size

    @property
    def window(self) -> float:
        """How long to wait for stragglers: ``gather_s``, or a quarter of the last
        forward when that is longer (waiting costs at most a quarter of a forward, and
        a slow host's stragglers still make the batch)."""
        return max(self.gather_s, 0.25 * self._last_forward)

    @property
    def sessions(self) -> int:
        """Threads (matches) with a session open on this model."""
        return len(self._open)

    def opened(self, thread: int) -> None:
        """A session starts using this model, asked from the match thread ``thread``."""
        with self._ready:
            self._open[thread] = self._open.get(thread, 0) + 1
        cpu.running(id(self), True)

    def closed(self, thread: int) -> None:
        with self._ready:
            left = self._open.get(thread, 0) - 1
            if left > 0:
                self._open[thread] = left
            else:
                self._open.pop(thread, None)
            idle = not self._open
            self._ready.notify()  # the worker may be waiting for this session's job
        if idle:
            cpu.running(id(self), False)

    def submit(self, job: Job) -> Any:
        """Queue ``job`` and wait for its result (exceptions are raised here)."""
        return self.submit_all([job])[0]

    def submit_all(self, jobs: list[Job]) -> list[Any]:
        """Queue ``jobs`` together (they share a forward) and wait for all their results."""
        with self._ready:
            self._waiting.extend(jobs)
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, daemon=True,
                                                name=f"arena-batch-{id(self):x}")
                self._thread.start()
            self._ready.notify()
        return [job.future.result() for job in jobs]

    def _serve(self) -> None:
        while True:
            with self._ready:
                while not self._waiting:
                    self._ready.wait()
                deadline = time.monotonic() + self.window
                while len(self._waiting) < min(self.max_batch, self.sessions):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._ready.wait(left)
                jobs = [self._waiting.popleft()
                        for _ in range(min(self.max_batch, len(self._waiting)))]
            again = self._run(jobs)
            if again:
                with self._ready:
                    # continuing jobs go first: a sampling job never starves
                    self._waiting.extendleft(reversed(again))

    def _run(self, jobs: list[Job]) -> list[Job]:
        """One forward for ``jobs``; those with another step to take."""
        try:
            outputs = self._forward([j.step for j in jobs])  # type: ignore[misc]
        except BaseException as exc:  # noqa: BLE001 -- isolate the failing job
            if len(jobs) > 1:
                return [j for one in jobs for j in self._run([one])]
            jobs[0].future.set_exception(exc)
            return []
        again = []
        for job, output in zip(jobs, outputs, strict=True):
            try:
                job.step = job.advance(output)
            except BaseException as exc:  # noqa: BLE001 -- reaches the waiting match
                job.future.set_exception(exc)
                continue
            if job.step is not None:
                again.append(job)
        return again

    def _forward(self, steps: list[Step]) -> list[StepOutput]:
        import torch

        engine = self.engine
        wanted = self.threads or cpu.share(id(self), cores=self._cores)
        if wanted != self._set_threads:  # per thread: each batcher sets its own
            torch.set_num_threads(wanted)
            self._set_threads = wanted
        with engine.lock, torch.inference_mode():
            model = engine.model
            start = time.monotonic()
            outputs = forward(model, steps, pad_id=engine.pad_id(),
                              cache_arg=engine.cache_arg, keep_arg=engine.keeps_logits,
                              layout=engine.mask_layout)
            self._last_forward = time.monotonic() - start
        self.batches += 1
        self.rows += len(steps)
        return outputs

