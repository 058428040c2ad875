"""A run's connection to a Ray cluster (``arena run --ray ADDRESS``, or ``executor:``).

ADDRESS is one of:

``auto``              the cluster this machine belongs to (``ray start`` ran here);
``local``             a private cluster started for this run and stopped after it;
``HOST:PORT``         a cluster's head (the GCS port ``ray start --head --port`` chose);
``ray://HOST:PORT``   the same through Ray Client (the head's client server port).

Ray is an optional extra (``pip install -e ".[ray]"``) and is imported only here, and
only when a run asks for a cluster: a local run never imports it. A missing extra, a
malformed address or a cluster that does not answer within ``connect_timeout`` seconds is
an :class:`~arena.errors.ArenaError` (one line, exit 2).

Plugin files and ``file.py:Class`` agent types are shipped with the run: copied into one
package that travels as the job's ``runtime_env`` ``py_modules``, so a worker on any node
loads the run's own copy (:func:`shipped_files` says where each file went).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from arena.errors import ArenaError

#: seconds a cluster may take to accept the run before it counts as unreachable
CONNECT_TIMEOUT = 30.0
#: a private cluster (``local``) keeps its object store small: matches send records only
LOCAL_OBJECT_STORE_BYTES = 200 * 1024 * 1024
#: the environment variable that makes Ray use the loopback address as this node's
_LOOPBACK_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def address_problem(address: str) -> str | None:
    """What is wrong with a cluster address, or ``None`` if it is one of the four forms
    (checked without importing Ray)."""
    text = address.strip()
    if text in ("auto", "local"):
        return None
    rest = text.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    if sep and host and port.isdigit() and 0 < int(port) < 65536 and "/" not in rest:
        return None
    return f"{address!r} is not a Ray address: give auto, local, HOST:PORT or ray://HOST:PORT"


def cluster_address(executor: Any, flag: str | None) -> str | None:
    """Where a run goes: ``--ray`` wins over the config's ``executor``; ``None``: here."""
    if flag is not None:
        return check_address(flag)
    return executor.address if executor.type == "ray" else None


def check_address(address: str) -> str:
    """``address``, stripped, if it is one of the four forms, else an ``ArenaError``."""
    problem = address_problem(address)
    if problem is not None:
        raise ArenaError(f"--ray: {problem}")
    return address.strip()


def _host_port(address: str) -> tuple[str, int] | None:
    if address in ("auto", "local"):
        return None
    host, _, port = address.removeprefix("ray://").rpartition(":")
    return host.strip("[]"), int(port)


def _reachable(host: str, port: int, *, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _interface_ip() -> str | None:
    """The address this machine reaches others from (as Ray finds it), if any."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.254", 9))  # no packet is sent for a UDP connect
            return probe.getsockname()[0]
    except OSError:
        return None


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def _prefer_loopback(address: str) -> None:
    """Ray turns a loopback host into this machine's interface address before it
    connects. A head that listens on loopback only (``ray start --head
    --node-ip-address=127.0.0.1``) is then unreachable, unless Ray is told, before it is
    imported, that this node's address is the loopback one."""
    if address == "local":
        os.environ.setdefault(_LOOPBACK_SWITCH, "0")  # a private cluster stays on loopback
        # and needs no token: Ray would write one to ~/.ray, and every later
        # `ray start --head` on this machine would then demand it
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        return
    target = _host_port(address)
    if target is None or address.startswith("ray://") or not _is_loopback(target[0]):
        return
    interface = _interface_ip()
    if interface is None or not _reachable(interface, target[1], timeout=1.0):
        os.environ.setdefault(_LOOPBACK_SWITCH, "0")


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ArenaError("--ray needs Ray, an optional extra: pip install -e \".[ray]\" "
                         "(or pip install \"ray[default]\")") from None
    return ray


def _ship(paths: Sequence[str]) -> tuple[Path | None, dict[str, str]]:
    """Copy ``paths`` into one fresh package; its folder and, per path, the copy's name."""
    if not paths:
        return None, {}
    digest = hashlib.blake2b(digest_size=6)
    for path in paths:
        digest.update(path.encode() + b"\0" + Path(path).read_bytes())
    package = f"arena_run_files_{digest.hexdigest()}"
    folder = Path(tempfile.mkdtemp(prefix="arena-ray-")) / package
    folder.mkdir()
    (folder / "__init__.py").write_text('"""Files a run shipped to its Ray workers."""\n')
    names = {}
    for i, path in enumerate(paths):
        names[path] = f"f{i}_{Path(path).name}"
        shutil.copyfile(path, folder / names[path])
    return folder, {path: f"{package}/{name}" for path, name in names.items()}


def shipped_files(mapping: dict[str, str]) -> dict[str, str]:
    """On a Ray worker: each shipped file's original path -> the path of its copy here."""
    import importlib

    out = {}
    for original, relative in mapping.items():
        package, _, name = relative.partition("/")
        out[original] = str(Path(importlib.import_module(package).__path__[0]) / name)
    return out


class RayCluster:
    """The run's cluster: connected at construction, disconnected by :meth:`close`."""

    def __init__(self, address: str, *, ship: Sequence[str] = (),
                 connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.address = check_address(address)
        target = _host_port(self.address)
        if target is not None and not _reachable(*target, timeout=min(connect_timeout, 5.0)):
            raise ArenaError(f"--ray {self.address}: no Ray cluster answers at "
                             f"{target[0]}:{target[1]} (start one with ray start --head, "
                             "or use --ray local)")
        _prefer_loopback(self.address)
        self.ray = _import_ray()
        self._folder, self.shipped = _ship(list(dict.fromkeys(ship)))
        self._connect(connect_timeout)

    def _connect(self, timeout: float) -> None:
        ray = self.ray
        options: dict[str, Any] = {"logging_level": "ERROR", "log_to_driver": False,
                                   "configure_logging": False}
        if self._folder is not None:
            options["runtime_env"] = {"py_modules": [str(self._folder)]}
        if self.address == "local":
            options.update(include_dashboard=False,
                           object_store_memory=LOCAL_OBJECT_STORE_BYTES)
        else:
            options["address"] = self.address
        failure: list[BaseException] = []
        if self.address == "local":
            # here, not in a thread: the processes of the private cluster die with the
            # thread that starts them (their parent-death signal)
            try:
                ray.init(**options)
            except Exception as exc:  # noqa: BLE001 -- reported as one line
                self._remove_folder()
                raise ArenaError(f"--ray local: cannot start a Ray cluster here "
                                 f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
                                 ) from None
            return

        def init() -> None:  # in a thread: Ray may wait minutes for a silent head
            # (Ray then leaves SIGTERM to the runner, and would say so)
            logging.getLogger("ray._private.worker").setLevel(logging.ERROR)
            try:
                ray.init(**options)
            except BaseException as exc:  # noqa: BLE001 -- reported below, one line
                failure.append(exc)

        thread = threading.Thread(target=init, daemon=True, name="arena-ray-connect")
        thread.start()
        thread.join(timeout)
        if thread.is_alive() or failure:
            why = (f"{type(failure[0]).__name__}: {' '.join(str(failure[0]).split())[:200]}"
                   if failure else f"no answer within {timeout:g} s")
            self._remove_folder()
            hint = ("; it asks for a token: set RAY_AUTH_MODE=token, with the token in "
                    "RAY_AUTH_TOKEN or ~/.ray/auth_token" if "AuthToken" in str(failure) else "")
            raise ArenaError(f"--ray {self.address}: cannot join the Ray cluster ({why}){hint}")

    def resources(self) -> dict[str, float]:
        """What the whole cluster has (``CPU``, ``GPU``, custom resources)."""
        return dict(self.ray.cluster_resources())

    @property
    def gpus(self) -> float:
        return self.resources().get("GPU", 0.0)

    def close(self) -> None:
        """Leave the cluster: Ray ends this job's tasks and actors; a ``local`` cluster
        stops."""
        try:
            if self.ray.is_initialized():
                self.ray.shutdown()
        finally:
            self._remove_folder()

    def _remove_folder(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder.parent, ignore_errors=True)
            self._folder = None
