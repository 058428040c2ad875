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
