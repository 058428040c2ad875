"""A service the agents need goes down: the run stops by itself, and --resume finishes it.

``ServiceUnavailable`` (a model server that stays unreachable) is nobody's forfeit: the
matches it stops stay unplayed, the run ends with one line naming the service and exit
code 3, and ``--resume`` plays them once the service is back. Both places a match can
run are covered: a worker process and a thread of the run (language models).
"""

from __future__ import annotations

import pytest

from tests.test_cli import BOTS, FAULTS, arena, exported, write_config


@pytest.mark.parametrize("kind", ["ServerDown", "SharedServerDown"])
def test_a_service_down_stops_the_run_and_resume_completes_it(tmp_path, kind):
    down = tmp_path / "down"
    down.write_text("")
    agents = [*BOTS, {"name": "client", "type": FAULTS + kind, "at": 3, "down": str(down)}]
    config = write_config(tmp_path / "cfg.yaml", agents, concurrency=2)
    out = tmp_path / "run"
    stopped = arena("run", str(config), "--out", str(out), "--no-live", timeout=120)
    assert stopped.returncode == 3, stopped.stderr
    assert "Traceback" not in stopped.stderr + stopped.stdout
    line = next(x for x in stopped.stderr.splitlines() if x.startswith("arena: stopped:"))
    assert "http://127.0.0.1:9/v1 unreachable" in line
    assert "Resume with:" in stopped.stderr
    saved = exported(out)
    # nothing with the client was recorded: its matches are unplayed, not forfeits
    assert all("client" not in row["agents"] for row in saved)
    assert all(row["status"] == "finished" for row in saved)

    down.unlink()  # the service is back
    resumed = arena("run", str(config), "--out", str(out), "--no-live", "--resume",
                    timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    rows = exported(out)
    assert len(rows) == 12 and all(row["status"] == "finished" for row in rows)
