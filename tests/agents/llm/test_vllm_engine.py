"""The ``vllm`` engine's managed server, with a fake ``vllm`` package standing in for the
real one (fast): started on first use on a free port, a clear error with the log's end
when it fails, stopped at exit and when the arena is killed. The real server is in
``serving/``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from agents.llm.vllm_engine import VLLMEngine
from agents.llm.vllm_server import ServerStartFailed
from arena.agent import ServiceUnavailable
from arena.registry import RegistryError, make_agent
from tests.agents.llm.runs import rps_config

FAKE = Path(__file__).with_name("fake_openai_server.py")


@pytest.fixture
def fake_vllm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``vllm.entrypoints.openai.api_server`` module that runs the fake server."""
    package = tmp_path / "fakevllm"
    module = package / "vllm" / "entrypoints" / "openai"
    module.mkdir(parents=True)
    for folder in (package / "vllm", package / "vllm" / "entrypoints", module):
        (folder / "__init__.py").write_text("")
    (module / "api_server.py").write_text(
        f"import runpy\nrunpy.run_path({str(FAKE)!r}, run_name='__main__')\n")
    monkeypatch.setenv("PYTHONPATH", str(package))
    return package


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is gone for our purposes
        return stat.read().split()[2] != "Z"


def test_starts_on_first_use_and_stops(fake_vllm: Path, tiny_model_dir: Path) -> None:
    served = VLLMEngine(model=str(tiny_model_dir), vllm_python=sys.executable,
                        max_model_len=512, server_args=["--seed", "1"])
    assert served.server.process is None  # building it (a config check) starts nothing
    assert served.server_identity()["managed"] is True
    codec = served.codec()
    context = codec.completion_prefix() + "Round 1\nMe:"
    assert served.score(codec.pairs(context, [" rock\n"]))[0] < 0
    process = served.server.process
    assert process is not None and served.url == served.server.base_url
    assert served.server.args[:2] == ["--model", str(tiny_model_dir)]
    assert {"--enforce-eager", "--generation-config",
            "--enable-prefix-caching"} <= set(served.server.args)
    assert served.server.args[-2:] == ["--seed", "1"]
    assert served.server_identity()["url"] == served.server.base_url
    log = served.server.log_path
    assert log is not None and log.is_file() and log.parent.name.startswith("arena-vllm-")
    served.close()
    assert process.poll() is not None
    assert not log.parent.exists()  # nothing left in the temporary folder


def test_a_server_that_fails_to_start_says_why(fake_vllm: Path, tiny_model_dir: Path) -> None:
    served = VLLMEngine(model=str(tiny_model_dir), vllm_python=sys.executable,
                        server_args=["--fail"])
    with pytest.raises(ServerStartFailed) as caught:
        served.score(served.codec().pairs("a b", [" c"]))
    message = str(caught.value)
    assert isinstance(caught.value, ServiceUnavailable)
    assert "exited with code 1 while starting" in message
    assert "fake failure for the test" in message
    assert served.server.log_path is None  # its log went with it
    started = time.monotonic()
    with pytest.raises(ServerStartFailed, match="fake failure"):  # not started again
        served.generate(served.codec().text_prompt("a"), max_new_tokens=1)
    assert time.monotonic() - started < 1


def test_a_missing_python_is_a_config_error(tiny_model_dir: Path) -> None:
    with pytest.raises(RegistryError, match="no Python interpreter at '/nonexistent/python'"):
        make_agent("llm", name="lm", engine="vllm", model=str(tiny_model_dir),
                   vllm_python="/nonexistent/python")


@pytest.mark.parametrize("ending", ["exit", "sigkill"])
def test_the_server_stops_when_the_arena_ends(fake_vllm: Path, tiny_model_dir: Path,
                                              ending: str) -> None:
    script = textwrap.dedent(f"""
        import sys, time
        from agents.llm.vllm_engine import VLLMEngine
        served = VLLMEngine(model={str(tiny_model_dir)!r}, vllm_python=sys.executable)
        served.start()
        print(served.server.process.pid, flush=True)
        sys.stdin.readline()  # the test says when to end (after it saw the server alive)
        if {ending!r} == "sigkill":
            time.sleep(60)
    """)
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": f"{fake_vllm}{os.pathsep}{root}"}
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              stdin=subprocess.PIPE, text=True, env=env, cwd=root)
    assert parent.stdout is not None and parent.stdin is not None
    pid = int(parent.stdout.readline())
    assert alive(pid)
    parent.stdin.close()  # the script goes on: it exits, or sleeps until killed
    if ending == "sigkill":
        parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=30)
    deadline = time.monotonic() + 15
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid)


def _managed_config(path: Path, model: Path, *server_args: str) -> Path:
    args = ", ".join(f'"{a}"' for a in server_args)
    return rps_config(path, f'{{name: smol, type: llm, engine: vllm, model: "{model}", '
                      f'vllm_python: "{sys.executable}", server_args: [{args}]}}',
                      name="managed", seed=1, rounds=2)


@pytest.mark.slow
def test_a_managed_run_leaves_no_log_behind_and_escapes_a_failed_servers_log(
        fake_vllm: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    """The server's log goes with it, and its tail in `arena: stopped:` is shown with its
    terminal escapes written out, as names are."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": f"{fake_vllm}{os.pathsep}{root}", "TMPDIR": str(scratch)}

    def arena_run(config: Path, out: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "arena.cli", "run", str(config),
                               "--no-live", "--out", str(out)], capture_output=True,
                              text=True, timeout=300, env=env, cwd=root)

    done = arena_run(_managed_config(tmp_path / "ok.yaml", tiny_model_dir), tmp_path / "ok")
    assert done.returncode == 0, done.stderr
    assert not list(scratch.glob("arena-vllm-*"))
    failed = arena_run(_managed_config(tmp_path / "fail.yaml", tiny_model_dir, "--fail"),
                       tmp_path / "fail")
    assert failed.returncode == 3, failed.stderr
    assert "arena: stopped:" in failed.stderr and "Traceback" not in failed.stderr
    assert "\\x1b[31mValueError: fake failure for the test" in failed.stderr
    assert "\x1b" not in failed.stderr and "\x07" not in failed.stderr
    assert not list(scratch.glob("arena-vllm-*"))
