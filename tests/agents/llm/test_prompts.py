"""Prompt templates: every game, both formats, history windows and config overrides."""

from __future__ import annotations

from typing import Any

import pytest

from agents.llm.prompts import Prompter, available_templates, load_template
from arena.match import seat_context, start_episode
from envs import get_game, make_game


def two_player_context(game: str, role: str, **args: Any) -> dict[str, Any]:
    """The reset context the engine gives the seat ``role`` (kind ``matrix``)."""
    return seat_context(game, make_game(game, **args), role)


def test_every_game_has_a_template() -> None:
    assert set(available_templates()) >= {"rps", "hide_and_seek", "random_number",
                                           "creative_writing"}


@pytest.mark.parametrize("game", ["rps", "hide_and_seek", "random_number", "creative_writing"])
def test_the_kind_of_prompt_is_the_kind_the_engine_names(game: str) -> None:
    env = make_game(game)
    spec = get_game(game)
    if spec.solo:
        _, ctx = start_episode(env, game, spec.kind, 0, 0)
    else:
        ctx = seat_context(game, env, env.possible_agents[0])
    assert Prompter(ctx, prompt_format="chat").kind == spec.kind == ctx["kind"]


def test_rps_chat_shows_rules_history_and_score() -> None:
    p = Prompter(two_player_context("rps", "player_0", rounds=10), prompt_format="chat")
    system, user = p.render([(0, 1), (2, 1)])
    assert system["role"] == "system" and user["role"] == "user"
    text = user["content"]
    assert "Rock beats scissors" in text and "rock, paper or scissors" in text
    assert "Round 1: you played rock, your opponent played paper. You lose." in text
    assert "Round 2: you played scissors, your opponent played paper. You win." in text
    assert "Round 3 of 10" in text and "score so far: 0" in text


def test_rps_completion_ends_where_the_answer_starts() -> None:
    p = Prompter(two_player_context("rps", "player_1", rounds=10), prompt_format="completion")
    text = p.render([(1, 1)])
    assert isinstance(text, str)
    assert text.endswith("Round 1\nMe: paper\nOpponent: paper\nResult: Draw.\n\nRound 2\nMe:")
    assert p.stop() == ["\n"]


def test_history_window_shows_only_the_last_rounds() -> None:
    ctx = two_player_context("rps", "player_0", rounds=10)
    past = [(0, 1), (1, 2), (2, 0)]
    text = Prompter(ctx, prompt_format="chat", history=1).render(past)[1]["content"]
    assert "Round 3: you played scissors" in text and "Round 2:" not in text
    assert "Round 4 of 10" in text and "score so far: -3" in text  # the score counts all rounds
    assert "Round 1" not in Prompter(ctx, prompt_format="completion", history=0).render(past)


def test_a_window_wider_than_the_history_shows_every_round() -> None:
    ctx = two_player_context("rps", "player_0", rounds=10)
    text = Prompter(ctx, prompt_format="chat", history=3).render([(0, 1), (1, 2)])[1]["content"]
    assert "Round 1: you played rock" in text and "Round 2: you played paper" in text


def test_five_move_rps_rules_come_from_the_payoff() -> None:
    ctx = two_player_context("rps", "player_0", rounds=5, n_actions=5)
    text = Prompter(ctx, prompt_format="chat").render([])[1]["content"]
    for name in ("spock", "lizard"):
        assert name in text
    assert text.count(" beats ") == 5


@pytest.mark.parametrize("role", ["hider_0", "seeker_0"])
def test_hide_and_seek_explains_rooms_and_role(role: str) -> None:
    ctx = two_player_context("hide_and_seek", role, rounds=5, search_radius=1)
    text = Prompter(ctx, prompt_format="chat").render([(0, 3)])[1]["content"]
    kind = role.split("_")[0]
    assert f"You are the {kind}" in text
    for name in ctx["action_names"]:
        assert f"- {name} (next to:" in text
    assert "every room next to it" in text
    assert ("You found the hider." if kind == "seeker" else "You were found.") in text
    completion = Prompter(ctx, prompt_format="completion").render([])
    assert f"I am the {kind}." in completion and completion.endswith("Round 1\nMe:")


def number_context(length: int) -> dict[str, Any]:
    return {"game": "random_number", "kind": "numbers", "episode": 0, "role": "solo",
            "low": 0, "high": 10, "length": length,
            "action_names": [str(v) for v in range(11)]}


def test_random_number_single_and_sequence() -> None:
    single = Prompter(number_context(1), prompt_format="completion").render([])
    assert single.endswith("between 0 and 10 inclusive.\nA:")
    seq = Prompter(number_context(10), prompt_format="completion").render([4, 9])
    assert seq.endswith("inclusive:\n1. 4\n2. 9\n3.")
    chat = Prompter(number_context(10), prompt_format="chat").render([4, 9])[1]["content"]
    assert "numbers so far are: 4, 9." in chat and "number 3 of 10" in chat
    first = Prompter(number_context(10), prompt_format="chat").render([])[1]["content"]
    assert "no numbers yet" in first


def test_creative_writing_prompt_and_stops() -> None:
    ctx = {"game": "creative_writing", "kind": "text", "episode": 0, "role": "solo",
           "prompt": "A poem about the sea.", "max_chars": 400}
    p = Prompter(ctx, prompt_format="completion")
    assert "A poem about the sea." in p.render([]) and "400 characters" in p.render([])
    assert "\n\n\n" in p.stop()
    assert Prompter(ctx, prompt_format="chat").stop() == []


def test_config_overrides_replace_template_keys(tmp_path: Any) -> None:
    ctx = two_player_context("rps", "player_0", rounds=3)
    over = {"rps": {"user": "Choose {actions_or}. Round {round}.", "system": ""}}
    messages = Prompter(ctx, prompt_format="chat", templates=over).render([])
    assert messages == [{"role": "user", "content": "Choose rock, paper or scissors. Round 1."}]
    path = tmp_path / "mine.yaml"
    path.write_text("completion: 'Go {round}:'\n")
    assert Prompter(ctx, prompt_format="completion",
                    templates={"rps": str(path)}).render([]) == "Go 1:"


def test_template_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="no prompt template for game 'chess'"):
        load_template("chess")
    ctx = two_player_context("rps", "player_0", rounds=3)
    with pytest.raises(ValueError, match=r"key 'user': unknown field \{nonsense\} \(fields: "):
        Prompter(ctx, prompt_format="chat", templates={"rps": {"user": "{nonsense}"}})


@pytest.mark.parametrize(("override", "message"), [
    ({"system": "You play {gmae}."}, r"key 'system': unknown field \{gmae\}"),
    ({"round_chat": "Round {n}: {mine}"}, r"key 'round_chat': unknown field \{mine\}"),
    ({"round_chat": "Round {0}"}, r"key 'round_chat': bad field"),
    ({"user": "{history.x}"}, r"key 'user': bad field"),
    ({"user": "unclosed {"}, r"key 'user': bad field"),
    ({"outcomes": "win"}, r"a key of the wrong kind"),
])
def test_a_field_a_template_is_not_given_fails_when_built(override: dict[str, str],
                                                          message: str) -> None:
    """Every key the game reads is tried once, past rounds included, before play."""
    ctx = two_player_context("rps", "player_0", rounds=3)
    with pytest.raises(ValueError, match=message):
        Prompter(ctx, prompt_format="chat", templates={"rps": override})


def test_an_unknown_template_key_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown key 'sytem'; did you mean 'system'"):
        load_template("rps", {"sytem": "You play."})
    assert load_template("hide_and_seek", {"user_hider": "x"})["user_hider"] == "x"
    assert load_template("rps", {"outcomes_completion": {"win": "W"}})
