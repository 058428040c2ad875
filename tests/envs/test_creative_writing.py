"""CreativeWritingEnv: API checks, originality ordering, archive, cleaning and errors."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers arena/CreativeWriting-v0)
from envs.creative_writing import CHARSET, CreativeWritingEnv, clean_text, load_prompts

ORIGINAL = (
    "Beneath the harbour lamps the tide keeps counting stones, slow and patient, while gulls "
    "argue over a drowned lantern. I walk the seawall in my father's coat, listening for the "
    "ferry that stopped running years ago, and the dark water answers with a hush."
)


def answer(env: CreativeWritingEnv, text: str, *, index: int = 0) -> tuple[float, dict]:
    env.reset(seed=0, options={"prompt_index": index})
    _, reward, terminated, truncated, info = env.step(text)
    assert terminated and not truncated and 0.0 <= reward <= 1.0
    return reward, info


def test_check_env() -> None:
    check_env(CreativeWritingEnv(semantic=False))


def test_check_env_through_gymnasium_make() -> None:
    env = gymnasium.make("arena/CreativeWriting-v0", semantic=False)
    check_env(env.unwrapped)
    assert env.unwrapped.spec.nondeterministic  # the archive makes rewards history-dependent
    env.close()


def test_same_text_twice_scores_lower() -> None:
    env = CreativeWritingEnv(semantic=False)
    first, _ = answer(env, ORIGINAL)
    second, info = answer(env, ORIGINAL)
    assert first - second >= 0.2
    assert info["components"]["lexical_novelty"] == 0.0 and info["archive_size"] == 1
    other, _ = answer(env, ORIGINAL, index=1)  # the archive is per prompt
    assert other == pytest.approx(first)


def test_original_beats_echo_and_random_characters() -> None:
    assert len(ORIGINAL.split()) >= 40
    env = CreativeWritingEnv(semantic=False)
    prompt = env.prompts[0]
    rng = np.random.default_rng(0)
    printable = [chr(c) for c in range(0x20, 0x7F)]
    letters = list("abcdefghijklmnopqrstuvwxyz     ")
    original, info = answer(env, ORIGINAL)
    assert original > 0.8 and info["penalty"] == pytest.approx(1.0)
    assert answer(env, prompt)[0] < original - 0.5
    assert answer(env, f"{prompt} {prompt}")[0] < original - 0.5
    for alphabet in (printable, letters):
        noise = "".join(rng.choice(alphabet, size=len(ORIGINAL)))
        reward, info = answer(env, noise)
        assert reward < original - 0.5 and info["components"]["gibberish"] < 0.5


def test_degenerate_texts() -> None:
    env = CreativeWritingEnv(semantic=False)
    assert answer(env, "")[0] == 0.0
    assert answer(env, "   \n ")[0] == 0.0
    loop = "the sea is calm " * 15
    reward, info = answer(env, loop)
    assert reward < 0.2 and info["components"]["repetition"] < 0.2
    short, _ = answer(env, "Moon.", index=2)
    assert short < 0.3


def test_prompt_choice_is_seeded() -> None:
    env = CreativeWritingEnv(semantic=False)
    assert len(env.prompts) >= 20 and env.prompts == load_prompts()
    firsts = [env.reset(seed=s)[0] for s in range(10)]
    assert firsts == [env.reset(seed=s)[0] for s in range(10)]
    assert len(set(firsts)) > 3
    custom = CreativeWritingEnv(prompts=["Write about glass."], semantic=False)
    assert custom.reset(seed=3)[0] == "Write about glass."
    assert custom.context() == {"prompt": "Write about glass.", "max_chars": 2000}


def test_text_is_cleaned_not_rejected() -> None:
    env = CreativeWritingEnv(max_chars=60, semantic=False)
    _, info = answer(env, "Café\tdéjà vu “quoted” — ﬁne 🌊 end")
    assert info["text"] == "Café déjà vu “quoted” — fine ? end"
    assert info["replaced_chars"] == 2 and not info["truncated"]
    assert env.action_space.contains(info["text"])
    _, info = answer(env, "word " * 40)
    assert info["truncated"] and len(info["text"]) == 60
    assert clean_text("ō")[0] == "o" and set(clean_text("\x00\x07")[0]) == {"?"}
    assert set("éñ—…“”").issubset(CHARSET)


def test_forget_option_clears_archive() -> None:
    env = CreativeWritingEnv(semantic=False)
    first, _ = answer(env, ORIGINAL)
    env.reset(seed=0, options={"forget": True, "prompt_index": 0})
    assert env.archive == {}
    assert env.step(ORIGINAL)[1] == pytest.approx(first)


def test_archive_round_trip(tmp_path: Path) -> None:
    env = CreativeWritingEnv(semantic=False)
    first, _ = answer(env, ORIGINAL)
    answer(env, "Un café à minuit, la mer chante doucement.", index=3)
    path = tmp_path / "archive.json"
    env.save_archive(path)
    fresh = CreativeWritingEnv(semantic=False)
    fresh.load_archive(path)
    assert fresh.archive == env.archive
    assert answer(fresh, ORIGINAL)[0] <= first - 0.2
    assert json.loads(path.read_text(encoding="utf-8"))["version"] == 1


def test_bad_archive_files(tmp_path: Path) -> None:
    env = CreativeWritingEnv(semantic=False)
    with pytest.raises(ValueError, match="cannot read archive"):
        env.load_archive(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"archive": {"p": "not a list"}}), encoding="utf-8")
    with pytest.raises(ValueError, match="not a creative-writing archive"):
        env.load_archive(bad)


@pytest.mark.parametrize("action", [None, 42, b"bytes", ["a", "list"]])
def test_non_text_action(action: object) -> None:
    env = CreativeWritingEnv(semantic=False)
    env.reset(seed=0)
    with pytest.raises(TypeError, match="action must be a str"):
        env.step(action)


def test_step_order_errors() -> None:
    env = CreativeWritingEnv(semantic=False)
    with pytest.raises(RuntimeError, match="reset"):
        env.step("too early")
    with pytest.raises(RuntimeError, match="reset"):
        env.context()
    env.reset(seed=0)
    env.step("a first answer")
    with pytest.raises(RuntimeError, match="one answer"):
        env.step("a second answer")


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"max_chars": 0}, ValueError, "max_chars"),
    ({"max_chars": "100"}, ValueError, "max_chars"),
    ({"prompts": []}, ValueError, "prompts"),
    ({"prompts": "one prompt"}, ValueError, "prompts"),
    ({"prompts": ["ok", ""]}, ValueError, "prompts"),
    ({"render_mode": "rgb_array"}, ValueError, "render_mode"),
    ({"scorer": object()}, TypeError, "scorer"),
])
def test_bad_arguments(kwargs: dict, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        CreativeWritingEnv(**kwargs)


def test_bad_reset_options() -> None:
    env = CreativeWritingEnv(semantic=False)
    with pytest.raises(ValueError, match="prompt_index"):
        env.reset(options={"prompt_index": 99})
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(options={"prompt": 1})


def test_render_ansi() -> None:
    env = CreativeWritingEnv(semantic=False, render_mode="ansi")
    env.reset(seed=0, options={"prompt_index": 0})
    env.step(ORIGINAL)
    text = env.render()
    assert text.startswith(f"Prompt: {env.prompts[0]}") and "Originality: " in text
