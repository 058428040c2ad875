"""The tolerant answer parser."""

import pytest

from agents.llm.parse import parse_choice

RPS = ["rock", "paper", "scissors"]
NUMBERS = [str(v) for v in range(0, 11)]
ROOMS = ["kitchen", "living room", "hall"]


@pytest.mark.parametrize(("text", "names", "expected"), [
    ("rock", RPS, 0),
    ("  Paper.\n", RPS, 1),
    ("**scissors**", RPS, 2),
    ("I choose paper!", RPS, 1),
    ("Rock, then paper", RPS, 0),
    ("rocks", RPS, None),
    ("banana", RPS, None),
    ("", RPS, None),
    ("10", NUMBERS, 10),
    ("1", NUMBERS, 1),
    ("My number is 10.", NUMBERS, 10),
    ("seven", NUMBERS, 7),
    ("Seven.", NUMBERS, 7),
    ("12", NUMBERS, None),
    ("I hide in the living room", ROOMS, 1),
    ("living_room", ROOMS, 1),
    ("Living-Room", ROOMS, 1),
])
def test_parse_choice(text: str, names: list[str], expected: int | None) -> None:
    assert parse_choice(text, names) == expected


def test_longest_name_wins_at_the_same_position() -> None:
    assert parse_choice("hall way", ["hall", "hall way"]) == 1
    assert parse_choice("hall", ["hall", "hall way"]) == 0
