"""A vLLM server that the arena starts and stops itself: one subprocess per model.

``ManagedServer(command_args, python=...)`` runs ``python -m
vllm.entrypoints.openai.api_server ARGS --host 127.0.0.1 --port P`` on a free port
``P``, in its own process group (a Ctrl-C at the terminal reaches the arena, which
then stops the server in order, not vLLM half-way), its output in a log file in a
folder of its own under the system's temporary folder, which goes when the server stops
(the arena writes nothing else outside the run directory). Its :meth:`start` waits for
``/health``; a server that exits or is not ready within ``startup_timeout`` is a
:class:`ServerStartFailed` quoting the end of its log.

It stops when the arena exits, however it ends: at interpreter exit (``atexit``:
SIGTERM to the group, SIGKILL after 10 s), and, on Linux, by a parent-death signal
should the arena be killed outright. That signal fires when the *thread* that made the
child ends, so every server is spawned from one daemon thread that lives as long as
the process.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import math
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from arena.agent import ServiceUnavailable

_RUNNING: set[ManagedServer] = set()
_PR_SET_PDEATHSIG = 1


class ServerStartFailed(ServiceUnavailable):
    """The managed vLLM server did not come up: every decision would fail, so the run
    stops with this one line."""


def free_port() -> int:
    """A TCP port that nothing listens on now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ManagedServer:
    """One vLLM OpenAI-compatible server subprocess (see the module docstring)."""

    def __init__(self, args: Sequence[str], *, python: str, startup_timeout: float = 900.0,
                 name: str = "vllm") -> None:
        self.args = [str(a) for a in args]
        self.python = python
        self.startup_timeout = float(startup_timeout)
        self.name = name
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        if not math.isfinite(self.startup_timeout) or self.startup_timeout <= 0:
            raise ValueError(f"startup_timeout must be a finite number of seconds > 0, not "
                             f"{startup_timeout!r}")
        self.log_path: Path | None = None  # while it runs
        self.started_in: float | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        return [self.python, "-m", "vllm.entrypoints.openai.api_server", *self.args,
                "--host", "127.0.0.1", "--port", str(self.port)]

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the server and wait until it answers ``/health``; a server started
        again (after it died) keeps its port, so URLs handed out stay right."""
        if self.alive():
            return
        if self.port is None:
            self.port = free_port()
        if self.log_path is None or not self.log_path.parent.is_dir():
            self.log_path = Path(tempfile.mkdtemp(prefix="arena-vllm-")) / "server.log"
        began = time.monotonic()
        try:
            self.process = _spawn(self.command(), self.log_path)
        except ServerStartFailed:
            self.stop()
            raise
        _RUNNING.add(self)
        deadline = began + self.startup_timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                tail = self.log_tail()
                self.stop()
                raise ServerStartFailed(f"the vLLM server for {self.name} exited with code "
                                        f"{code} while starting: {tail}")
            if self._healthy():
                self.started_in = time.monotonic() - began
                return
            time.sleep(0.5)
        tail = self.log_tail()
        self.stop()
        raise ServerStartFailed(f"the vLLM server for {self.name} was not ready within "
                                f"{self.startup_timeout:g} s: {tail}")

    def _healthy(self) -> bool:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(f"http://127.0.0.1:{self.port}/health", timeout=2.0) as answer:
                return int(answer.status) == 200
        except OSError:
            return False

    def log_tail(self, lines: int = 12) -> str:
        """The end of the server's log on one line, for an error message (the log itself
        goes with the server). The line is shown as written: whoever prints it escapes
        what a terminal would act on."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace") \
                if self.log_path is not None else ""
        except OSError:
            text = ""
        tail = [" ".join(line.split()) for line in text.splitlines() if line.strip()][-lines:]
        return " | ".join(tail)[-1500:] or "(the log is empty)"

    def stop(self, *, grace: float = 10.0) -> None:
        """SIGTERM to the server's process group, SIGKILL after ``grace`` seconds; then
        its log folder is removed."""
        process, self.process = self.process, None
        _RUNNING.discard(self)
        if process is not None and process.poll() is None:
            for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, sig)
                try:
                    process.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self.log_path is not None:
            shutil.rmtree(self.log_path.parent, ignore_errors=True)
            self.log_path = None


# -- spawning from one long-lived thread (see the module docstring) -----------------------

_requests: queue.Queue[tuple[list[str], Path, queue.Queue[Any]]] = queue.Queue()
_spawner: threading.Thread | None = None
_spawner_lock = threading.Lock()


def _spawn(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = threading.Thread(target=_spawn_loop, name="arena-vllm-spawner",
                                        daemon=True)
            _spawner.start()
    reply: queue.Queue[Any] = queue.Queue()
    _requests.put((command, log_path, reply))
    result = reply.get()
    if isinstance(result, BaseException):
        raise ServerStartFailed(f"cannot start the vLLM server ({command[0]}): {result}")
    return result


def _spawn_loop() -> None:
    prctl = _parent_death_signal()
    while True:
        command, log_path, reply = _requests.get()
        try:
            with open(log_path, "ab") as log:
                reply.put(subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True,
                                           preexec_fn=prctl))
        except BaseException as exc:  # noqa: BLE001 -- the waiting caller raises it; this loop lives on
            reply.put(exc)


def _parent_death_signal() -> Any:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when its parent dies, or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


@atexit.register
def _stop_all() -> None:
    for server in list(_RUNNING):
        server.stop()
