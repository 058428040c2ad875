"""A real vLLM server (the CPU build, in ``.venv-vllm``) serving SmolLM2-135M-Instruct,
started once per test session by the ``vllm`` engine's own managed server.

Every test module here is marked ``serving`` (``pytestmark``). The server lives as
long as the pytest process (an xdist worker) that started it, so an xdist worker that
gets serving tests starts one, one worker at a time (a file lock): at most one per
worker. (``xdist_group`` with ``--dist loadgroup`` would put them all in one worker,
but with pytest 9 it groups nothing: xdist renames node ids through an attribute that
pytest 9 no longer reads.) Where
``.venv-vllm`` is missing (``make test`` creates it) they skip, unless
``ARENA_REQUIRE_VLLM`` is set, as CI sets it: then they fail, so a broken install is
never a silent pass. ``ARENA_VLLM_PYTHON`` names another Python with vLLM.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]


def vllm_python() -> str | None:
    """``$ARENA_VLLM_PYTHON``, else ``.venv-vllm/bin/python``, if it exists."""
    chosen = os.environ.get("ARENA_VLLM_PYTHON") or str(ROOT / ".venv-vllm" / "bin" / "python")
    return chosen if Path(chosen).is_file() else None


@pytest.fixture(scope="session")
def vllm_python_path() -> str:
    python = vllm_python()
    if python is None:
        reason = (f"no vLLM environment at {ROOT / '.venv-vllm'} (make vllm creates it; "
                  "or set ARENA_VLLM_PYTHON)")
        if os.environ.get("ARENA_REQUIRE_VLLM"):
            pytest.fail(f"ARENA_REQUIRE_VLLM is set but there is {reason}")
        pytest.skip(reason)
    # the CPU build's key/value cache, in GiB: its default (4) is more than tests need
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    return python


@pytest.fixture(scope="session")
def vllm_server(smollm2_dir: Path, vllm_python_path: str) -> Iterator[object]:
    """The running server, as the ``vllm`` engine (``.url``, ``.model``,
    ``.server``: the :class:`~agents.llm.vllm_server.ManagedServer`)."""
    from filelock import FileLock

    from agents.llm.vllm_engine import VLLMEngine

    served = VLLMEngine(model=str(smollm2_dir), dtype="float32", max_model_len=2048,
                        vllm_python=vllm_python_path, startup_timeout=600)
    # should two workers both get serving tests, they start their servers one at a time
    with FileLock(str(smollm2_dir.parent / "vllm-server.lock")):
        served.start()
    print(f"\nvLLM server ready in {served.server.started_in:.1f} s at {served.url}")
    yield served
    served.close()
