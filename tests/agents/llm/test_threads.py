"""torch threads from the cores this process may use, shared among the busy models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agents.llm import threads


def test_the_cgroup_quota_caps_the_cores(tmp_path: Path) -> None:
    affinity = len(os.sched_getaffinity(0))
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert threads.available_cores(cgroup=tmp_path) == affinity  # no quota
    (tmp_path / "cpu.max").write_text("50000 100000\n")  # half a CPU
    assert threads.available_cores(cgroup=tmp_path) == 1
    (tmp_path / "cpu.max").write_text(f"{(affinity + 8) * 100000} 100000\n")
    assert threads.available_cores(cgroup=tmp_path) == affinity  # never more than affinity


def test_cgroup_v1_quota(tmp_path: Path) -> None:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("150000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert threads.available_cores(cgroup=tmp_path) == min(2, len(os.sched_getaffinity(0)))


def test_the_cores_are_divided_among_busy_batchers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "_ACTIVE", set())
    assert threads.share(1, cores=8) == 8
    threads.running(1, True)
    threads.running(2, True)
    assert threads.share(1, cores=8) == 4 and threads.share(2, cores=8) == 4
    threads.running(3, True)
    assert threads.share(3, cores=8) == 2  # 8 // 3
    assert threads.share(3, cores=2) == 1  # at least one, never more than the cores
    threads.running(2, False)
    threads.running(3, False)
    assert threads.share(1, cores=8) == 8


def test_a_batcher_gives_torch_its_share(tiny_model_dir: Path) -> None:
    import torch

    from agents.llm.codec import get_codec
    from agents.llm.hf_engine import HFEngine

    codec = get_codec(tokenizer=str(tiny_model_dir))
    engine = HFEngine(model=str(tiny_model_dir), dtype="float32", threads=1)
    seen: list[int] = []
    forward = engine.batcher._forward

    def spy(steps):  # noqa: ANN001, ANN202 -- the batcher's own signature
        out = forward(steps)
        seen.append(torch.get_num_threads())  # in the batcher's thread
        return out

    engine.batcher._forward = spy
    engine.score(codec.pairs("<|endoftext|>Round 1\nMe:", [" rock\n"]))
    assert seen == [1]


def test_idle_threads_sleep_in_a_run_that_builds_a_model_agent(tiny_model_dir: Path) -> None:
    """OpenMP reads its wait policy when torch loads: the agent sets it before then."""
    import subprocess
    import sys

    code = ("import os, sys; from arena.registry import make_agent; "
            f"make_agent('hf', name='lm', model={str(tiny_model_dir)!r}); "
            "assert 'torch' in sys.modules; print(os.environ.get('OMP_WAIT_POLICY'))")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300, check=True)
    assert done.stdout.strip() == "PASSIVE"
