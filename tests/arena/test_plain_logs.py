"""Agents' log records in plain mode (``--no-live``, or stdout not a terminal) are escaped
like every name: no terminal escape an agent logs reaches the screen raw."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from arena.live import PlainObserver
from tests.test_cli import arena, write_config

LOUD = "\x1b[2J\x1b]0;owned\x07 \u202eevil"


def test_a_library_handler_prints_escaped_during_a_plain_run() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # like transformers' own handler
    library = logging.getLogger("arena_test_plain_library")
    library.addHandler(handler)
    library.propagate = False
    observer = PlainObserver(file=io.StringIO())
    try:
        observer.run_started(name="demo", total=1, done=0)
        library.warning("model says %s", LOUD)
        observer.run_finished(interrupted=False)
        library.warning("after the run: %s", "\x1b[0m")
    finally:
        library.removeHandler(handler)
    written = stream.getvalue()
    assert "\x1b" not in written.splitlines()[0] and "\u202e" not in written
    assert "\\x1b[2J\\x1b]0;owned\\x07 \\u202eevil" in written
    assert handler.formatter is None  # put back after the run
    assert written.splitlines()[1] == "after the run: \x1b[0m"


def test_arena_run_no_live_escapes_what_agents_log(tmp_path: Path) -> None:
    bot = tmp_path / "loud_bot.py"
    bot.write_text(
        "import logging\n"
        "from arena.agent import BaseAgent\n\n\n"
        "class Loud(BaseAgent):\n"
        "    kinds = frozenset({'matrix'})\n\n"
        "    def act(self, observation, action_space):\n"
        f"        logging.getLogger('loud').warning({LOUD!r})\n"
        "        return 0\n")
    config = write_config(tmp_path / "c.yaml", [
        {"name": "loud", "type": f"{bot}:Loud"}, {"name": "cyc", "type": "cycle"}],
        game={"id": "rps", "rounds": 2})
    done = arena("run", str(config), "--out", str(tmp_path / "run"), "--no-live")
    assert done.returncode == 0, done.stderr
    shown = done.stdout + done.stderr
    assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
    assert "\\x1b[2J\\x1b]0;owned\\x07 \\u202eevil" in shown
