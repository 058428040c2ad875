"""``arena prompt RUN_DIR --match KEY --round K``: the text the model really read, rebuilt.

Every decision the model makes is captured as it happens (the backend's ``score`` for the
distribution mode, ``generate`` for sampling), then the replayed prompt of every round
must be that very text: chat and completion formats, both seats, a two-player
hide-and-seek match of two models, a solo series counted across episodes, and the rounds
after a round given up. Through the CLI, standard output must be the prompt's bytes and
nothing else, and an independent forward pass on it must give the stored distribution.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents.llm.hf_engine import HFEngine
from arena.cli_prompt import replay_prompt
from arena.config import load_config
from arena.fixture import play_fixture
from arena.launch import probe_agents
from arena.schedule import build_schedule
from arena.seats import MatchState
from arena.store import Store
from tests.agents.llm import reference

RPS = ["rock", "paper", "scissors"]


def write_config(path: Path, model_dir: Path) -> Path:
    path.write_text(f"""name: replay
seed: 5
games:
  - {{id: rps, rounds: 6, format: {{type: gauntlet, opponents: [dice], matches: 1}}}}
  - {{id: hide_and_seek, graph: house, search_radius: 1, rounds: 4,
      format: {{type: round_robin, matches: 1}}}}
  - {{id: random_number, length: 3, format: {{type: solo, episodes: 2}}}}
agents:
  - {{name: chat, type: hf, model: "{model_dir}", temperature: 1.5, history: 3}}
  - {{name: base, type: hf, model: "{model_dir}", prompt_format: completion,
      games: [rps, hide_and_seek]}}
  - {{name: quitter, type: hf, model: "{model_dir}", prompt_format: completion, mode: sample,
      max_new_tokens: 2, retries: 0, fallback: forfeit, games: [rps]}}
  - {{name: dice, type: uniform_random, games: [rps]}}
""")
    return path


def _texts(value: Any) -> list[str]:
    """The prompt texts in what an engine is handed: a Prompt, or the pairs to score."""
    if hasattr(value, "text") and not isinstance(value, (list, tuple)):
        return [value.text]
    return [pair.prompt for pair in value]


def _engines() -> list[type]:
    """Every class through which the agent hands the model its prompt: the engine, and
    the per-match prompt cache where there is one."""
    classes: list[type] = [HFEngine]
    try:
        from agents.llm import prompt_cache
    except ImportError:
        return classes
    classes += [c for c in vars(prompt_cache).values()
                if isinstance(c, type) and c.__module__ == prompt_cache.__name__
                and callable(getattr(c, "score", None))]
    return classes


@pytest.fixture(scope="module")
def played(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A run stored as ``arena run`` stores it, match by match, with the prompt the model
    was given at each decision captured (whatever it scored or sampled from, through the
    backend or a prompt cache), in the order the decisions were made."""
    from agents.llm import HFAgent

    base = tmp_path_factory.mktemp("replay")
    config_path = write_config(base / "replay.yaml", tiny_model_dir)
    config = load_config(config_path)
    run = base / "run"
    store = Store.create(run, config=config.snapshot(), models=probe_agents(config, "cfg"))
    given: list[str] = []  # every text handed to the model
    seen: list[str] = []  # one per decision
    decide = HFAgent.decide

    def capture(method: Any) -> Any:
        def wrapper(self: Any, texts: Any, *args: Any, **kwargs: Any) -> Any:
            given.extend(_texts(texts))
            return method(self, texts, *args, **kwargs)
        return wrapper

    def deciding(self: Any, observation: Any, action_space: Any) -> Any:
        start = len(given)
        try:
            return decide(self, observation, action_space)
        finally:
            texts = set(given[start:])
            assert len(texts) == 1, texts  # one prompt per decision, every answer after it
            seen.append(texts.pop())

    prompts: dict[str, list[str]] = {}
    rows: dict[str, dict[str, Any]] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(HFAgent, "decide", deciding)
        for engine in _engines():
            for name in ("score", "generate"):
                if callable(getattr(engine, name, None)):
                    patch.setattr(engine, name, capture(getattr(engine, name)))
        for fixture in build_schedule(config).fixtures:
            seen.clear()
            result = play_fixture(config, fixture, state=MatchState())
            assert result.status == "finished", result.error
            store.save(result)
            prompts[fixture.key] = list(seen)
    with store:
        for key in prompts:
            rows[key] = store.result(key, rounds=True)
    return {"run": run, "prompts": prompts, "rows": rows, "config": config_path}


def language_models(row: dict[str, Any]) -> list[str]:
    return [n for n in row["agents"] if n != "dice"]


def test_every_round_of_every_match_replays_the_prompt_the_model_read(
        played: dict[str, Any]) -> None:
    checked = 0
    for key, seen in played["prompts"].items():
        row = played["rows"][key]
        models = language_models(row)
        assert len(seen) == len(models) * row["rounds"]  # one prompt per decision
        for k in range(1, row["rounds"] + 1):
            for i, name in enumerate(models):
                # two models in one match decide in seat order, round after round
                want = seen[(k - 1) * len(models) + i]
                agent = name if len(models) > 1 else None
                assert replay_prompt(played["run"], key, k, agent=agent) == want, (key, k, name)
                checked += 1
    assert checked == 6 * 6 + 2 * 2 * 4 + 6  # rps matches, hide-and-seek pair, the series


def test_both_formats_and_both_seats_are_replayed(played: dict[str, Any]) -> None:
    prompts = played["prompts"]
    chat = prompts["rps/chat-vs-dice/0"][3]
    assert chat.startswith("<|im_start|>system\n") and chat.endswith("<|im_start|>assistant\n")
    assert "Round 1: you played" in chat and "Round 4 of 6" in chat
    late = prompts["rps/chat-vs-dice/0"][5]  # history: 3 shows only the last three rounds
    assert "Round 1: you played" not in late and "Round 5: you played" in late
    completion = prompts["rps/dice-vs-base/0"][2]
    assert completion.startswith("<|endoftext|>") and completion.endswith("Round 3\nMe:")
    row = played["rows"]["rps/dice-vs-base/0"]
    first = row["round_log"][0]["actions"]
    assert f"Me: {RPS[first['base']]}\nOpponent: {RPS[first['dice']]}" in completion


def test_a_solo_series_counts_rounds_across_episodes(played: dict[str, Any]) -> None:
    key = "random_number/chat"
    row, seen = played["rows"][key], played["prompts"][key]
    assert [(e["episode"], e["step"]) for e in row["round_log"]] == [
        (0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    said = [e["actions"]["chat"] for e in row["round_log"]]
    assert replay_prompt(played["run"], key, 4) == seen[3]  # episode 1 starts afresh
    assert replay_prompt(played["run"], key, 3) == seen[2]
    assert f"so far are: {said[0]}." in seen[1]  # the number said at step 0
    assert f"so far are: {said[3]}." in replay_prompt(played["run"], key, 5)


def test_the_round_after_a_round_given_up_shows_the_move_the_engine_played(
        played: dict[str, Any]) -> None:
    after = []
    for key in ("rps/quitter-vs-dice/0", "rps/dice-vs-quitter/0"):
        row, seen = played["rows"][key], played["prompts"][key]
        log = row["round_log"]
        for k, entry in enumerate(log[:-1], 1):
            if "quitter" in entry.get("forfeited", ()):
                text = replay_prompt(played["run"], key, k + 1)
                assert text == seen[k]
                own, opp = RPS[entry["actions"]["quitter"]], RPS[entry["actions"]["dice"]]
                assert f"Round {k}\nMe: {own}\nOpponent: {opp}\n" in text
                after.append((key, k + 1))
    assert after, "the tiny model gave up no round before the last: nothing was tested"


@pytest.mark.slow
def test_the_cli_prints_the_prompt_bytes_and_nothing_else(played: dict[str, Any],
                                                          tiny_model_dir: Path) -> None:
    key = "rps/dice-vs-chat/0"
    row, seen = played["rows"][key], played["prompts"][key]
    for k in (1, 4, 6):
        done = subprocess.run([sys.executable, "-m", "arena.cli", "prompt", str(played["run"]),
                               "--match", key, "--round", str(k)], capture_output=True,
                              timeout=300, env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"})
        assert done.returncode == 0, done.stderr
        assert done.stdout == seen[k - 1].encode("utf-8") and done.stderr == b""
        # what a check of its own recomputes from the printed text: the stored policy
        want, _ = reference.distribution(tiny_model_dir, done.stdout.decode("utf-8"), RPS,
                                         chat=True, temperature=1.5)
        stored = row["round_log"][k - 1]["probabilities"]["chat"]
        np.testing.assert_allclose(stored, want, rtol=0, atol=1e-5)
    # two models in one match: --agent picks the seat
    pair = "hide_and_seek/chat-vs-base/0/chat-hides"
    done = subprocess.run([sys.executable, "-m", "arena.cli", "prompt", str(played["run"]),
                           "--match", pair, "--round", "2", "--agent", "base"],
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode("utf-8") == played["prompts"][pair][3]


@pytest.mark.parametrize(("args", "message"), [
    (("--match", "rps/chat-vs-dice/9", "--round", "1"),
     "no match 'rps/chat-vs-dice/9'; did you mean"),
    (("--match", "rps/chat-vs-dice/0", "--round", "0"), "round 0 is out of range"),
    (("--match", "rps/chat-vs-dice/0", "--round", "7"), "has 6 rounds (1 to 6)"),
    (("--match", "random_number/chat", "--round", "7"), "has 6 steps"),
    (("--match", "rps/chat-vs-dice/0", "--round", "1", "--agent", "dice"),
     "'dice' (uniform_random) is not a language-model agent"),
    (("--match", "rps/chat-vs-dice/0", "--round", "1", "--agent", "base"),
     "agent 'base' did not play in match 'rps/chat-vs-dice/0'"),
    (("--match", "hide_and_seek/chat-vs-base/0/chat-hides", "--round", "1"),
     "are language models (chat, base): choose one with --agent"),
    (("--match", "rps/chat-vs-dice/0"), "needs a run directory, --match KEY and --round K"),
    (("--match", "rps/chat-vs-dice/0", "--round", "1", "--game", "rps"),
     "--game and --role belong to"),
])
def test_mistakes_are_one_line_and_exit_2(played: dict[str, Any], args: tuple[str, ...],
                                          message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "arena.cli", "prompt", str(played["run"]),
                           *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("arena: error:") and message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and done.stdout == ""


def test_a_config_is_still_the_config_form(played: dict[str, Any]) -> None:
    done = subprocess.run([sys.executable, "-m", "arena.cli", "prompt", str(played["config"]),
                           "--match", "rps/chat-vs-dice/0", "--round", "1"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "not a run directory" in done.stderr


def test_the_run_records_each_model_identity(played: dict[str, Any],
                                            tiny_model_dir: Path) -> None:
    with Store.open(played["run"]) as store:
        models = store.run_info()["models"]
    assert set(models) == {"chat", "base", "quitter"}  # the bot has no identity()
    chat = models["chat"]
    assert chat["engine"] == "hf" and chat["model"] == str(tiny_model_dir)
    assert chat["path"] == str(tiny_model_dir.resolve()) and chat["dtype"] == "auto"
    assert len(chat["files_sha256"]) == 64 and chat["config_dtype"] == "float32"
    assert {"torch", "transformers"} <= set(chat["versions"])
    assert models["base"] == chat  # one model, whatever the prompt format


def test_the_identity_follows_the_weight_files(tiny_model_dir: Path, tmp_path: Path) -> None:
    import shutil

    from arena.registry import make_agent

    copy = shutil.copytree(tiny_model_dir, tmp_path / "copy")
    same = make_agent("hf", name="a", model=str(copy)).identity()
    assert same["files_sha256"] == make_agent("hf", name="b",
                                              model=str(tiny_model_dir)).identity()["files_sha256"]
    weights = next(copy.glob("*.safetensors"))
    with open(weights, "ab") as handle:
        handle.write(b"\0")
    grown = make_agent("hf", name="c", model=str(copy)).identity()
    assert grown["files_sha256"] != same["files_sha256"]


def test_a_gguf_identity_is_the_file_hash(tmp_path: Path, tiny_model_dir: Path) -> None:
    import hashlib

    from agents.llm.hf_engine import HFEngine

    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF" + bytes(range(256)) * 10)
    engine = HFEngine.__new__(HFEngine)  # the tokenizer of a real GGUF is not needed here
    engine.options = {"model": str(tmp_path), "revision": None, "dtype": "float32",
                      "device_map": None, "gguf_file": "model.gguf",
                      "trust_remote_code": False}
    found = engine.identity()
    assert found["sha256"] == hashlib.sha256(gguf.read_bytes()).hexdigest()
    assert found["gguf_file"] == "model.gguf" and "files_sha256" not in found
    assert found["dtype"] == "float32" and found["revision"] is None
    gguf.write_bytes(b"GGUF" + bytes(255))  # another file: another hash, never a stale one
    assert engine.identity()["sha256"] == hashlib.sha256(gguf.read_bytes()).hexdigest()


def test_export_provenance_names_the_models(played: dict[str, Any]) -> None:
    done = subprocess.run([sys.executable, "-m", "arena.cli", "export", str(played["run"]),
                           "--provenance"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert set(record["models"]) == {"chat", "base", "quitter"}


def test_a_hub_model_records_the_commit_its_files_came_from(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    from agents.llm.hf_engine import HFEngine

    snapshot = tmp_path / "models--org--m" / "snapshots" / ("c0ffee" * 6 + "beef")
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text('{"torch_dtype": "bfloat16"}')
    asked = []

    def cached(repo_id: str, filename: str, revision: str | None = None, **_: Any) -> Any:
        asked.append((repo_id, filename, revision))
        path = snapshot / filename
        return str(path) if path.exists() else None

    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", cached)
    engine = HFEngine.__new__(HFEngine)  # no tokenizer needed to say what plays
    engine.options = {"model": "org/m", "revision": "main", "dtype": "bfloat16",
                      "device_map": "auto", "gguf_file": None, "trust_remote_code": False}
    found = engine.identity()
    assert found["model"] == "org/m" and found["revision"] == "main" and "path" not in found
    assert found["commit"] == snapshot.name and found["config_dtype"] == "bfloat16"
    assert "sha256" not in found and "files_sha256" not in found  # the weights are not read
    assert ("org/m", "config.json", "main") in asked
