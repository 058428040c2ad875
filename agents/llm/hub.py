"""Whether the Hugging Face hub can be reached, so a hub model id without network fails in
seconds, in one line, instead of after a minute of retries.

A model id that is not a local path is looked up on the hub (``$HF_ENDPOINT``, default
``https://huggingface.co``). With ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) set,
or when the hub's host has no address or takes no connection within a few seconds,
only the local hub cache is read (``local_files_only``); a model that is not there is
an error naming the models that need no network (``offline:<name>``).
"""

from __future__ import annotations

import functools
import os
import socket
import threading
import urllib.parse
from pathlib import Path

_TIMEOUT_S = 3.0
_TRUE = {"1", "true", "yes", "on"}


def offline_hint() -> str:
    """The models that play without network, as a config names them."""
    from agents.llm.offline_models import MODELS, PREFIX

    return ("models that need no network: "
            + ", ".join(f"{PREFIX}{name}" for name in sorted(MODELS)))


def unreachable(model: str) -> str | None:
    """Why ``model`` (a hub id, not a local path) must come from the local cache alone:
    the hub is switched off or cannot be reached; ``None`` when it can be asked."""
    if Path(model).expanduser().exists():
        return None
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(name, "").strip().lower() in _TRUE:
            return f"{name} is set"
    return _hub_problem(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")


@functools.lru_cache(maxsize=4)
def _hub_problem(endpoint: str) -> str | None:
    """Why the hub at ``endpoint`` cannot be reached (asked once per process), or None."""
    parts = urllib.parse.urlsplit(endpoint)
    host = parts.hostname or ""
    port = parts.port or (80 if parts.scheme == "http" else 443)
    found: list[object] = []

    def connect() -> None:  # getaddrinfo has no timeout of its own: a thread gives it one
        try:
            with socket.create_connection((host, port), timeout=_TIMEOUT_S):
                found.append(True)
        except OSError as exc:
            found.append(exc)

    worker = threading.Thread(target=connect, daemon=True, name="arena-hub-check")
    worker.start()
    worker.join(_TIMEOUT_S + 0.5)
    if not found:
        return f"the hub ({host}) does not answer"
    if isinstance(found[0], socket.gaierror):
        return f"the hub's address ({host}) cannot be resolved"
    if isinstance(found[0], OSError):
        return f"the hub ({host}:{port}) cannot be reached: {found[0]}"
    return None


def cached(model: str, revision: str | None = None) -> bool:
    """Whether the local hub cache holds ``model`` (its tokenizer or config), asked without
    importing transformers."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return True  # cannot tell: let transformers look
    for name in ("tokenizer_config.json", "config.json"):
        try:
            if isinstance(try_to_load_from_cache(model, name, revision=revision), str):
                return True
        except Exception:  # noqa: BLE001 -- not a valid hub id: not cached
            return False
    return False


def not_cached(model: str, why: str) -> ValueError:
    """The one-line error for a hub model that is needed but neither reachable nor cached."""
    return ValueError(f"model {model!r} is not in the local hub cache and {why}; "
                      f"{offline_hint()}")
