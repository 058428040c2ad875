"""The prompt cache: every decision of a long match gives the distribution a full
recomputation gives (within 1e-5 in float32), while encoding only its new tokens."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agents.llm.agent import HFAgent, tempered
from arena.match import play_match
from arena.registry import make_agent
from envs import make_game


def played(model_dir: Path, *, rounds: int, prompt_format: str, game: str = "rps",
           opponent: str = "humanlike", **game_args) -> tuple[HFAgent, list[dict]]:
    lm = HFAgent(name="lm", model=str(model_dir), dtype="float32", prompt_format=prompt_format)
    seen: list[int] = []
    score = type(lm.session).score

    def spy(session, pairs):  # how much of each prompt was new
        out = score(session, pairs)
        seen.append(len(session.ids) - session.reused)
        return out

    env = make_game(game, rounds=rounds, **game_args)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(lm.session), "score", spy)
        result = play_match(env, [lm, make_agent(opponent, name="bot")], game=game, seed=5)
    assert result.status == "finished", result.error
    assert lm._session is None  # the match ended: its cache is freed
    return lm, [{"log": result.round_log, "fed": seen}]


def recomputed(lm: HFAgent, round_log: list[dict], k: int) -> np.ndarray:
    """Round k's distribution from scratch: its prompt, every answer in a fresh pass."""
    past = [(e["actions"]["lm"], e["actions"]["bot"]) for e in round_log[:k]]
    names = lm.prompter.names
    logprobs = lm.engine.score(lm.codec.pairs(lm.prompt_text(past),
                                              [lm.continuation(n) for n in names]))
    return tempered(logprobs, lm.temperature)


# the first ten rounds, every fourth after them and the last five: a full recomputation
# of all 100 was four fifths of the test's time, and the cache does the same thing each
# round once the prompt's head is settled
CHECKED_ROUNDS = sorted({*range(10), *range(10, 95, 4), *range(95, 100)})


@pytest.mark.parametrize("prompt_format", ["chat", "completion"])
def test_rounds_of_a_100_round_match_match_a_full_recomputation(tiny_model_dir: Path,
                                                                prompt_format: str):
    lm, [run] = played(tiny_model_dir, rounds=100, prompt_format=prompt_format)
    log = run["log"]
    assert len(log) == 100
    worst = max(np.abs(np.asarray(log[k]["probabilities"]["lm"]) - recomputed(lm, log, k)).max()
                for k in CHECKED_ROUNDS)
    assert worst < 1e-5, worst
    prompt_tokens = len(lm.codec.encode(lm.prompt_text(
        [(e["actions"]["lm"], e["actions"]["bot"]) for e in log[:99]])))
    # round 1 encodes its whole prompt; a later round only what follows its new history
    # line, which does not grow with the match
    fed = run["fed"]
    assert fed[0] > 100 and max(fed[1:]) < prompt_tokens / 4
    assert max(fed[50:]) <= max(fed[1:10]) + 5


def test_hide_and_seek_roles_and_a_history_window_keep_the_cache_exact(tiny_model_dir: Path):
    lm = HFAgent(name="lm", model=str(tiny_model_dir), dtype="float32", history=5)
    env = make_game("hide_and_seek", rounds=30, graph="house", search_radius=1)
    result = play_match(env, [make_agent("frequency", name="bot"), lm], game="hide_and_seek",
                        seed=2)
    log = result.round_log
    for k in range(30):
        past = [(e["actions"]["lm"], e["actions"]["bot"]) for e in log[:k]]
        names = lm.prompter.names
        want = tempered(lm.engine.score(lm.codec.pairs(
            lm.prompt_text(past), [lm.continuation(n) for n in names])), 1.0)
        assert np.abs(np.asarray(log[k]["probabilities"]["lm"]) - want).max() < 1e-5


def test_sampling_from_the_cache_writes_what_a_fresh_pass_writes(tiny_model_dir: Path):
    lm = HFAgent(name="lm", model=str(tiny_model_dir), dtype="float32")
    session = lm.engine.session()
    texts = ["<|im_start|>user\nSay a move.<|im_end|>\n<|im_start|>assistant\n",
             "<|im_start|>user\nSay a move. Then another.<|im_end|>\n<|im_start|>assistant\n"]
    for text in texts + texts[:1]:  # grow, then shrink back: the cache follows
        prompt = lm.codec.text_prompt(text)
        for temperature, seed in ((0.0, 0), (1.0, 3), (1.0, 4)):
            cached = session.generate(prompt, max_new_tokens=8, stop=["\n"],
                                      temperature=temperature, seed=seed)
            fresh = lm.engine.generate(prompt, max_new_tokens=8, stop=["\n"],
                                       temperature=temperature, seed=seed)
            assert cached == fresh
        assert session.cached == len(lm.codec.encode(text))
    session.close()
    assert session.kv is None and session.cached == 0


@pytest.mark.slow
@pytest.mark.real_model
def test_smollm2_rounds_match_a_full_recomputation(smollm2_dir: Path):
    lm, [run] = played(smollm2_dir, rounds=12, prompt_format="chat")
    log = run["log"]
    worst = max(np.abs(np.asarray(log[k]["probabilities"]["lm"]) - recomputed(lm, log, k)).max()
                for k in range(12))
    assert worst < 1e-5, worst
