"""`arena run` as a subprocess: plain lines when not a terminal, and the live view in a
real pseudo-terminal, paced by an agent that waits for a file (never by sleeps).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07]*\x07|[@-Z\\-_])")


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["TERM"] = "xterm-256color"
    return env


def arena_command() -> str:
    return shutil.which("arena", path=str(Path(sys.executable).parent)) or "arena"


def write_config(path: Path, *, agents: str, rounds: int, concurrency: int = 8) -> Path:
    path.write_text(f"name: {path.stem}\nseed: 3\ngame: {{id: rps, rounds: {rounds}}}\n"
                    f"format: {{type: round_robin, matches: 1}}\nconcurrency: {concurrency}\n"
                    f"timeout: 120\nagents:\n{agents}")
    return path


BOTS = "  - {name: rocky, type: constant}\n  - {name: cycler, type: cycle}\n"


@pytest.mark.parametrize("flags", [["--no-live"], []], ids=["no-live", "piped"])
def test_plain_output_is_one_line_per_match_and_a_final_leaderboard(
        tmp_path: Path, flags: list[str]) -> None:
    config = write_config(tmp_path / "plain.yaml", rounds=30,
                          agents=BOTS + "  - {name: dice, type: uniform_random}\n")
    done = subprocess.run([arena_command(), "run", str(config), "--out", str(tmp_path / "run"),
                           *flags], capture_output=True, text=True, env=cli_env(),
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stdout  # not a terminal: no escape codes
    lines = done.stdout.splitlines()
    match_lines = [line for line in lines if re.match(r"\[\s*\d+/6\] ", line)]
    assert len(match_lines) == 6
    assert sorted(int(re.match(r"\[\s*(\d+)/", line)[1]) for line in match_lines) == [1, 2, 3, 4,
                                                                                      5, 6]
    for line in match_lines:
        assert line.endswith("finished") and " vs " in line
    tail = "\n".join(lines[lines.index(match_lines[-1]) + 1:])
    for name in ("rocky", "cycler", "dice"):
        assert name in tail  # the final leaderboard comes after the match lines



def paced_state_shown(frame: str) -> bool:
    """The newest frame shows the gated matches waiting and the two finished ones rated."""
    board = frame[frame.find("leaderboard"):] if "leaderboard" in frame else ""
    waiting = [line for line in frame.splitlines() if "gate" in line and "2/8" in line]
    return len(waiting) == 4 and "2/6" in board and "rocky" in board and "cycler" in board


class PacedRun:
    """`arena run` in an 80x40 pseudo-terminal, held by the file-waiting agent ``gate``.

    rocky and cycler finish their two matches; the four matches with gate block on its
    third move until the file ``go`` appears.
    """

    def __init__(self, tmp_path: Path) -> None:
        self.gate = tmp_path / "go"
        gated = f'  - {{name: gate, type: "tests.arena.pacing_agents:WaitForFile", ' \
                f'path: "{self.gate}"}}\n'
        config = write_config(tmp_path / "paced.yaml", rounds=8, agents=BOTS + gated)
        self.child = pexpect.spawn(
            arena_command(), ["run", str(config), "--out", str(tmp_path / "run")],
            cwd=str(tmp_path), env=cli_env(), dimensions=(40, 80), encoding="utf-8",
            codec_errors="replace", timeout=5)
        self.raw = ""

    @property
    def seen(self) -> str:
        return ANSI.sub("", self.raw)

    def wait_for_paced_frame(self) -> str:
        """Read frames until the newest one shows the paced state; return that frame."""
        deadline, frame = time.monotonic() + 90, ""
        while not paced_state_shown(frame):
            if time.monotonic() > deadline:
                raise AssertionError(f"the live view never showed the paced state:\n"
                                     f"{self.seen[-3000:]}")
            try:
                self.raw += self.child.read_nonblocking(65536, timeout=1)
            except pexpect.TIMEOUT:
                pass
            seen = self.seen
            frame = seen[seen.rfind("matches in flight"):]
        return frame

    def finish(self) -> int:
        self.child.expect(pexpect.EOF, timeout=60)
        self.raw += self.child.before or ""
        self.child.close()
        return self.child.exitstatus


def test_live_view_in_a_pseudo_terminal_while_the_run_is_in_progress(tmp_path: Path) -> None:
    run = PacedRun(tmp_path)
    try:
        frame = run.wait_for_paced_frame()
        assert Path(f"{run.gate}.waiting").exists() and run.child.isalive()
        in_flight = [line for line in frame.splitlines() if "gate" in line and " vs " in line]
        assert len(in_flight) == 4  # and no other match in flight
        assert all("rock/" in line or "/rock" in line for line in in_flight)
        board = frame[frame.index("leaderboard"):]
        assert "rocky" in board and "cycler" in board
        # The frame itself fits (plain prints such as a long run path may not, and wrap).
        assert max(len(line) for line in frame.splitlines()) <= 80
        assert "gate waits for go" in run.seen  # the agent's log record, via rich's handler
        run.gate.touch()
        assert run.finish() == 0, run.seen[-3000:]
    finally:
        run.child.close(force=True)
    assert "6/6" in run.seen and "Leaderboard: rps" in run.seen


def test_ctrl_c_stops_the_live_view_cleanly_and_keeps_its_leaderboard(tmp_path: Path) -> None:
    run = PacedRun(tmp_path)
    try:
        run.wait_for_paced_frame()
        run.child.sendintr()
        assert run.finish() == 130, run.seen[-3000:]
    finally:
        run.child.close(force=True)
    stopped = run.raw.rfind("\x1b[?25h")  # the live view's stop shows the cursor again
    assert stopped > 0
    after, last_frame = run.raw[stopped:], ANSI.sub("", run.raw[:stopped].rsplit("\x1b[1A", 1)[1])
    assert "\x1b[1A" not in after  # nothing redraws over what the CLI prints afterwards
    assert "--resume" in ANSI.sub("", after)
    assert "rocky" in last_frame and "2/6" in last_frame and "gate vs" not in last_frame
