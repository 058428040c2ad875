"""The paper configs validate and cover the model families the issue names."""

from __future__ import annotations

from pathlib import Path

import pytest

from arena.config import load_config
from arena.schedule import build_schedule

PAPER = Path(__file__).resolve().parents[3] / "configs" / "paper"
EXPECTED = {
    "meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B-Instruct",
    "allenai/Llama-3.1-Tulu-3-8B-SFT", "allenai/Llama-3.1-Tulu-3-8B-DPO",
    "allenai/Llama-3.1-Tulu-3-8B",
    "meta-llama/Llama-3.1-70B", "meta-llama/Llama-3.1-70B-Instruct",
    "allenai/Llama-3.1-Tulu-3-70B-SFT", "allenai/Llama-3.1-Tulu-3-70B-DPO",
    "allenai/Llama-3.1-Tulu-3-70B",
    "Qwen/Qwen2.5-7B", "Qwen/Qwen2.5-7B-Instruct",
    "allenai/OLMo-2-1124-7B", "allenai/OLMo-2-1124-7B-Instruct",
    "HuggingFaceTB/SmolLM2-135M", "HuggingFaceTB/SmolLM2-135M-Instruct",
}
BASES = {"meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-70B", "Qwen/Qwen2.5-7B",
         "allenai/OLMo-2-1124-7B", "HuggingFaceTB/SmolLM2-135M"}


@pytest.mark.parametrize("path", sorted(PAPER.glob("*.yaml")), ids=lambda p: p.name)
def test_paper_config_validates(path: Path) -> None:
    config = load_config(path)
    assert build_schedule(config).fixtures
    for agent in config.agents:
        if agent.type in ("hf", "llm"):  # one agent, two names
            base = agent.options["model"] in BASES
            assert agent.options["prompt_format"] == ("completion" if base else "chat")


def test_paper_configs_cover_every_family_and_game() -> None:
    models, games, opponents = set(), set(), set()
    for path in PAPER.glob("*.yaml"):
        config = load_config(path)
        models |= {a.options["model"] for a in config.agents if a.type in ("hf", "llm")}
        games |= {g.id for g in config.games}
        for game in config.games:
            opponents |= set(getattr(game.format, "opponents", []))
    assert models == EXPECTED
    assert games == {"rps", "hide_and_seek", "random_number", "creative_writing"}
    assert {"iocaine", "markov", "best_response"} <= opponents
