"""The ``hf`` agent: exact distributions in both prompt formats, sampling, invalid answers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from agents.llm import HFAgent, InvalidAnswer
from agents.llm.codec import Prompt, cut_at_stop
from agents.llm.engine import Uncached
from agents.llm.parse import parse_choice
from agents.llm.prompts import available_templates
from arena.agent import Decision, RoundForfeit
from arena.match import play_match, seat_context
from arena.records import Fixture
from arena.registry import RegistryError, make_agent
from envs import get_game, make_game
from tests.agents.llm import reference
from tests.helpers import play


def rps_context(role: str = "player_0", rounds: int = 6) -> dict[str, Any]:
    """The reset context the engine gives the seat ``role`` (kind ``matrix``)."""
    return seat_context("rps", make_game("rps", rounds=rounds), role)


def number_context(length: int = 1) -> dict[str, Any]:
    return {"game": "random_number", "kind": "numbers", "episode": 0, "role": "solo",
            "low": 0, "high": 10, "length": length,
            "action_names": [str(v) for v in range(11)]}


def fresh(rows: int = 6) -> np.ndarray:
    return np.full((rows, 2), -1, dtype=np.int64)


def agent(model_dir: Path, **options: Any) -> HFAgent:
    return make_agent("hf", name="lm", model=str(model_dir), **options)


@pytest.mark.parametrize("prompt_format", ["chat", "completion"])
@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_policy_is_the_exact_renormalised_distribution(tiny_model_dir: Path, prompt_format: str,
                                                       temperature: float) -> None:
    lm = agent(tiny_model_dir, prompt_format=prompt_format, temperature=temperature)
    lm.reset(seed=1, **rps_context())
    decision = lm.decide(fresh(), None)
    assert isinstance(decision, Decision)
    probs = decision.policy
    prompt = lm.prompt_text()
    if prompt_format == "chat":
        assert prompt.endswith("<|im_start|>assistant\n")
    else:
        assert prompt.startswith("<|endoftext|>") and prompt.endswith("Me:")
    want, off = reference.distribution(tiny_model_dir, prompt, ["rock", "paper", "scissors"],
                                       chat=prompt_format == "chat", temperature=temperature)
    np.testing.assert_allclose(probs, want, rtol=0, atol=1e-5)
    assert probs.sum() == pytest.approx(1.0)
    assert lm.off_mass == [pytest.approx(off, abs=1e-6)]
    # the action is the draw the agent's seeded RNG makes from that very policy
    assert decision.action == int(np.random.default_rng(1).choice(3, p=probs))


def test_prefix_names_are_complete_answers(tiny_model_dir: Path) -> None:
    lm = agent(tiny_model_dir)
    lm.reset(seed=0, **number_context())
    probs = lm.decide(np.array([-1]), None).policy
    prompt = lm.prompt_text()
    names = [str(v) for v in range(11)]
    want, _ = reference.distribution(tiny_model_dir, prompt, names, chat=True)
    np.testing.assert_allclose(probs, want, rtol=0, atol=1e-5)
    # scored as a prefix, "1" would also collect the mass of "10"
    prefix = np.exp(reference.logprob(tiny_model_dir, prompt, "1"))
    complete = np.exp(reference.logprob(tiny_model_dir, prompt, "1<|im_end|>"))
    assert complete < prefix
    assert lm.continuation("1") == "1<|im_end|>"


class CountingEngine:
    """Wraps the real engine and counts scoring calls (each is one pass for every answer,
    through the match's prompt cache)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[int] = []

    def session(self) -> Any:
        counting, session = self, self.inner.session()
        score = session.score

        def counted(pairs: Sequence[Any]) -> np.ndarray:
            counting.calls.append(len(pairs))
            return score(pairs)

        session.score = counted
        return session

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class RecordingEngine:
    """Wraps the real engine and keeps every generation prompt and answer."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.prompts: list[str] = []
        self.texts: list[str] = []

    def session(self) -> Any:
        recording, session = self, self.inner.session()
        generate = session.generate

        def recorded(prompt: Prompt, **options: Any) -> str:
            text = generate(prompt, **options)
            recording.prompts.append(prompt.text)
            recording.texts.append(cut_at_stop(text, options.get("stop", ())))
            return text

        session.generate = recorded
        return session

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_decide_draws_from_its_policy_and_asks_the_model_once(tiny_model_dir: Path) -> None:
    lm = agent(tiny_model_dir, temperature=2.0)
    counting = CountingEngine(lm.engine)
    lm.engine = counting  # type: ignore[assignment]
    lm.reset(seed=42, **rps_context())
    rng = np.random.default_rng(42)
    first = lm.decide(fresh(), None)
    assert counting.calls == [3]  # one batched pass for all legal actions, never a second
    assert first.action == int(rng.choice(3, p=first.policy))
    obs = fresh()
    obs[0] = (first.action, 0)
    second = lm.decide(obs, None)  # every decision asks the model itself, once
    assert counting.calls == [3, 3]
    assert second.action == int(rng.choice(3, p=second.policy))  # the same seeded RNG
    assert not np.array_equal(first.policy, second.policy)  # round 1 is in the prompt now
    assert "Round 1: you played" in lm.prompt_text()
    assert lm.stats()["decisions"] == 2 and len(lm.off_mass) == 2


def test_history_reaches_the_prompt(tiny_model_dir: Path) -> None:
    lm = agent(tiny_model_dir, history=2)
    opponent = make_agent("cycle", name="cycle")
    play(lm, opponent, game="rps", rounds=4, seed=3)
    text = lm.prompt_text()
    assert "Round 3: you played" in text and "Round 2: you played" in text
    assert "Round 1: you played" not in text
    assert "Round 4 of 4" in text  # the last decision saw three rounds, the last two shown
    stats = lm.stats()
    assert stats["decisions"] == 4 and stats["invalid"] == 0
    assert 0 < stats["off_mass"] <= 4


def test_random_numbers_act_with_the_number_itself(tiny_model_dir: Path) -> None:
    env = make_game("random_number", length=3, low=5, high=9)
    obs, _ = env.reset(seed=0)
    lm = agent(tiny_model_dir, prompt_format="completion")
    lm.reset(seed=0, game="random_number", kind="numbers", episode=0, role="solo",
             **env.context())
    said = []
    done = False
    while not done:
        decision = lm.decide(obs, env.action_space)
        assert decision.policy is not None and len(decision.policy) == 5
        said.append(decision.action)
        obs, _, done, _, _ = env.step(said[-1])
    assert all(5 <= v <= 9 for v in said) and lm.stats()["decisions"] == 3
    # the third number's prompt showed the first two
    assert lm.prompt_text().endswith(f"inclusive:\n1. {said[0]}\n2. {said[1]}\n3.")


@pytest.mark.parametrize("prompt_format", ["chat", "completion"])
def test_sample_mode_plays_legal_moves(tiny_model_dir: Path, prompt_format: str) -> None:
    lm = agent(tiny_model_dir, prompt_format=prompt_format, mode="sample", retries=1,
               max_new_tokens=4)
    recording = RecordingEngine(lm.engine)
    lm.engine = recording  # type: ignore[assignment]
    lm.reset(seed=7, **rps_context())
    action, policy = lm.decide(fresh(), None)
    assert policy is None  # sample mode has no exact distribution
    assert action in (0, 1, 2)
    stats = lm.stats()
    assert stats["decisions"] == 1 and "off_mass" not in stats
    assert stats["invalid"] == len(lm.invalid_answers)
    # every try saw the real prompt; the move is the first readable answer, else invalid
    assert recording.prompts and set(recording.prompts) == {lm.prompt_text()}
    parsed = [parse_choice(t, ["rock", "paper", "scissors"]) for t in recording.texts]
    readable = [i for i in parsed if i is not None]
    if readable:
        assert action == readable[0] and len(parsed) == parsed.index(action) + 1
        assert stats["invalid"] == 0
    else:
        assert len(parsed) == 2 and lm.invalid_answers == [
            {"decision": 1, "texts": recording.texts}]


class ScriptedEngine:
    """Answers from a script, for the invalid-answer tests only."""

    def __init__(self, answers: list[str]) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []

    def generate(self, prompt: Prompt, **_: Any) -> str:
        self.prompts.append(prompt.text)
        return self.answers.pop(0)

    def session(self) -> Uncached:
        return Uncached(self)


class ScriptedCodec:
    """Chat messages joined as they are, no special tokens."""

    def text(self, rendered: Any) -> str:
        return rendered if isinstance(rendered, str) else "\n".join(m["content"] for m in rendered)

    def prompt(self, rendered: Any) -> Prompt:
        return Prompt(self.text(rendered))

    def end_of_turn(self) -> str:
        return "<eot>"


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Any:
    def build(answers: list[str], **options: Any) -> HFAgent:
        engine = ScriptedEngine(answers)
        monkeypatch.setattr("agents.llm.agent.get_engine", lambda *a, **k: engine)
        monkeypatch.setattr("agents.llm.agent.get_codec", lambda *a, **k: ScriptedCodec())
        return HFAgent(name="lm", model="scripted", mode="sample", **options)

    return build


def test_junk_is_retried_then_counted_and_played_uniformly(scripted: Any) -> None:
    lm = scripted(["banana", "I like rocks", "Paper!", "???", "nope", "zzz"], retries=2)
    lm.reset(seed=0, **rps_context())
    assert lm.decide(fresh(), None) == Decision(1, None)  # the third try parses
    obs = fresh()
    obs[0] = (1, 2)
    assert lm.decide(obs, None).action in (0, 1, 2)  # three junk answers: uniform fall-back
    assert lm.stats() == {"decisions": 2.0, "invalid": 1.0,
                          "invalid_answers": ["???", "nope", "zzz"]}  # stored with the match
    assert lm.invalid_answers == [{"decision": 2, "texts": ["???", "nope", "zzz"]}]


def test_forfeit_fallback_gives_up_the_round_with_the_raw_text(scripted: Any) -> None:
    lm = scripted(["no idea", "still no idea", "Rock."], retries=1, fallback="forfeit")
    lm.reset(seed=0, **rps_context())
    with pytest.raises(RoundForfeit, match="still no idea") as raised:
        lm.decide(fresh(), None)
    assert isinstance(raised.value, InvalidAnswer)
    assert lm.invalid_answers == [{"decision": 1, "texts": ["no idea", "still no idea"]}]
    assert lm.stats() == {"decisions": 1.0, "invalid": 1.0,
                          "invalid_answers": ["no idea", "still no idea"]}
    obs = fresh()
    obs[0] = (2, 1)  # the engine played its worst move for it; the next round goes on
    assert lm.decide(obs, None) == Decision(0, None)
    assert lm.stats()["decisions"] == 2.0
    # the round given up is still a round of the history the model is shown
    assert "Round 1: you played scissors, your opponent played paper" in lm.prompt_text()


def test_a_solo_series_counts_decisions_and_forfeits_over_every_episode(scripted: Any) -> None:
    # two episodes of two numbers; the second and third decisions give up their round
    lm = scripted(["3", "no number", "none either", "7"], retries=0, fallback="forfeit")
    backend = lm.engine
    env = make_game("random_number", length=2, low=0, high=10)
    fixture = Fixture(key="numbers", index=0, game="random_number", agents=("lm",), seed=5,
                      episodes=2)
    result = play_match(env, [lm], game="random_number", seed=5, fixture=fixture)
    assert result.status == "finished", result.error
    assert result.rounds == 4
    assert [e.get("forfeited") for e in result.round_log] == [None, ["lm"], ["lm"], None]
    assert [e["actions"]["lm"] for e in result.round_log][::3] == [3, 7]
    assert result.stats["lm"] == {"decisions": 4.0, "invalid": 2.0, "round_forfeits": 2.0,
                                  "invalid_answers": ["no number", "none either"]}
    # decisions are numbered over the whole series, not per episode
    assert [a["decision"] for a in lm.invalid_answers] == [2, 3]
    # the second number's prompt showed the first; a new episode starts with no history
    assert "numbers so far are: 3." in backend.prompts[1]
    assert "no numbers yet" in backend.prompts[2]
    forfeited = result.round_log[2]["actions"]["lm"]
    assert f"numbers so far are: {forfeited}." in backend.prompts[3]


def test_creative_writing_always_samples_within_the_limit(tiny_model_dir: Path,
                                                          scripted: Any) -> None:
    ctx = {"game": "creative_writing", "kind": "text", "episode": 0, "role": "solo",
           "prompt": "A poem about rock.", "max_chars": 20}
    lm = agent(tiny_model_dir, prompt_format="completion", max_new_tokens=12)
    lm.reset(seed=0, **ctx)
    text, policy = lm.decide("A poem about rock.", None)
    assert policy is None  # writing samples even in distribution mode
    assert isinstance(text, str) and 0 < len(text) <= 20 and lm.stats()["invalid"] == 0
    long = scripted(["\n  " + "word " * 10], retries=0)
    long.reset(seed=0, **ctx)
    # stripped, then cut
    assert long.decide("A poem about rock.", None) == Decision("word word word word ", None)
    empty = scripted(["", "  ", "\n"], retries=2)
    empty.reset(seed=0, **ctx)
    assert empty.decide("A poem about rock.", None).action == ""
    assert empty.stats()["invalid"] == 1 and empty.stats()["decisions"] == 1


@pytest.mark.parametrize(("options", "message"), [
    ({"mode": "guess"}, "mode must be"),
    ({"prompt_format": "yaml"}, "prompt_format must be"),
    ({"fallback": "cry"}, "fallback must be"),
    ({"temperature": -1}, "temperature"),
    ({"model": ""}, "'model' is required"),
])
def test_bad_options_are_clear_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(RegistryError, match=message):
        make_agent("hf", name="lm", **{"model": "m", **options})


def test_hide_and_seek_in_both_roles_and_modes(tiny_model_dir: Path) -> None:
    exact = agent(tiny_model_dir)
    sampler = agent(tiny_model_dir, prompt_format="completion", mode="sample", retries=0,
                    max_new_tokens=4)
    play(exact, sampler, game="hide_and_seek", rounds=3, seed=1, search_radius=1)
    assert exact.context["role"] == "hider_0" and sampler.context["role"] == "seeker_0"
    assert "You are the hider" in exact.prompt_text()
    assert "I am the seeker." in sampler.prompt_text()
    assert exact.stats()["decisions"] == sampler.stats()["decisions"] == 3


def test_plays_every_game_with_a_template_and_no_other() -> None:
    for game_id in available_templates():
        assert HFAgent.can_play(get_game(game_id))
    assert not HFAgent.can_play(SimpleNamespace(id="chess"))


def test_bad_template_overrides_fail_when_the_agent_is_built(tiny_model_dir: Path) -> None:
    with pytest.raises(RegistryError, match="no prompt template for game 'chess'"):
        agent(tiny_model_dir, templates={"chess": {"user": "x"}})
    with pytest.raises(RegistryError, match="cannot read"):
        agent(tiny_model_dir, templates={"rps": "/nonexistent/template.yaml"})


def test_a_template_file_is_read_once_when_the_agent_is_built(tiny_model_dir: Path,
                                                              tmp_path: Path) -> None:
    path = tmp_path / "rps.yaml"
    path.write_text("completion: 'Go {round}:'\n")
    lm = agent(tiny_model_dir, prompt_format="completion", templates={"rps": str(path)})
    path.unlink()  # every later reset uses what was read then
    for seed in (0, 1):
        lm.reset(seed=seed, **rps_context())
        assert lm.prompt_text() == "<|endoftext|>Go 1:"
