"""``arena prompt CONFIG AGENT``: the raw text the model sees, run as a subprocess."""

from __future__ import annotations

from pathlib import Path

import pytest

from arena.match import seat_context
from arena.registry import make_agent
from envs import make_game
from tests.agents.llm.runs import SEPARATOR, arena


@pytest.fixture(scope="module")
def config(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("prompt") / "llm.yaml"
    path.write_text(f"""name: prompts
seed: 1
games:
  - {{id: rps, rounds: 8}}
  - {{id: hide_and_seek, graph: house, search_radius: 1, rounds: 8}}
  - {{id: random_number, length: 5, format: {{type: solo, episodes: 1}}}}
format: {{type: round_robin, matches: 1}}
agents:
  - {{name: chat, type: hf, model: "{tiny_model_dir}"}}
  - {{name: base, type: hf, model: "{tiny_model_dir}", prompt_format: completion}}
  - {{name: dice, type: uniform_random}}
""")
    return path


@pytest.mark.slow
def test_prints_the_exact_round_one_prompt_then_a_later_one(config: Path,
                                                            tiny_model_dir: Path) -> None:
    done = arena("prompt", str(config), "chat", "--game", "rps")
    assert done.returncode == 0, done.stderr
    first, later = done.stdout.split(SEPARATOR)
    lm = make_agent("hf", name="chat", model=str(tiny_model_dir))
    lm.reset(seed=0, **seat_context("rps", make_game("rps", rounds=8), "player_0"))
    assert first == lm.prompt_text([])  # raw: special tokens written out, nothing stripped
    assert first.startswith("<|im_start|>system\n") and first.endswith("<|im_start|>assistant\n")
    assert "Round 3: you played" in later and later.endswith("<|im_start|>assistant\n\n")


@pytest.mark.slow
def test_completion_prompt_and_roles(config: Path) -> None:
    done = arena("prompt", str(config), "base", "--game", "hide_and_seek", "--role", "seeker_0")
    assert done.returncode == 0, done.stderr
    first, later = done.stdout.split(SEPARATOR)
    assert first.startswith("<|endoftext|>") and first.endswith("Round 1\nMe:")
    assert "I am the seeker." in first and "Round 3\nMe: kitchen" in later
    numbers = arena("prompt", str(config), "base", "--game", "random_number")
    first, later = numbers.stdout.split(SEPARATOR)
    assert first.endswith("inclusive:\n1.") and later.endswith("1. 3\n2. 10\n3. 6\n4.\n")


@pytest.mark.parametrize(("args", "message"), [
    (("chat",), "several games"),
    (("nobody", "--game", "rps"), "no agent named 'nobody'"),
    (("dice", "--game", "rps"), "not a language-model agent"),
    (("chat", "--game", "chess"), "no game 'chess'"),
    (("chat", "--game", "rps", "--role", "player_9"), "no role 'player_9'"),
])
def test_user_errors_are_one_line_and_exit_2(config: Path, args: tuple[str, ...],
                                             message: str) -> None:
    done = arena("prompt", str(config), *args)
    assert done.returncode == 2
    assert done.stderr.startswith("arena: error:") and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_missing_model_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    path.write_text("name: m\ngame: {id: rps, rounds: 3}\nformat: {type: round_robin}\n"
                    f"agents:\n  - {{name: lm, type: hf, model: '{tmp_path / 'nothing'}'}}\n"
                    "  - {name: dice, type: uniform_random}\n")
    done = arena("prompt", str(path), "lm")
    assert done.returncode == 2 and done.stderr.startswith("arena: error: agent 'lm'")
    assert len(done.stderr.strip().splitlines()) == 1
    # the tokenizer loads when the agent is built, so a run refuses before it starts
    run = arena("run", str(path), "--out", str(tmp_path / "run"), "--no-live")
    assert run.returncode == 2 and "agents[0]" in run.stderr
    assert not (tmp_path / "run" / "arena.db").exists()
