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
    # answers that choose among several names
    ("Since they played rock, I'll play paper.", RPS, 1),
    ("My move is **scissors**, not rock", RPS, 2),
    ("The correct move would be scissors", RPS, 2),
    ("A random number between 0 and 10 is 7.", NUMBERS, 7),
    ("Pick an integer from 0 to 10: 4", NUMBERS, 4),
    ("I pick 3, not 4", NUMBERS, 3),
    # no choice: the options listed back, or several named with none chosen
    ("rock, paper or scissors", RPS, None),
    ("You can only play rock, paper or scissors.", RPS, None),
    ("To start, I simply choose either rock, paper, or scissors.", RPS, None),
    ("Player 1 selects rock, then someone kills scissors.", RPS, None),
    ("We go one number at a time. In total there are 6 numbers,", NUMBERS, None),
    ("between 0 and 10", NUMBERS, None),
])
def test_parse_choice(text: str, names: list[str], expected: int | None) -> None:
    assert parse_choice(text, names) == expected


def test_longest_name_wins_at_the_same_position() -> None:
    assert parse_choice("hall way", ["hall", "hall way"]) == 1
    assert parse_choice("hall", ["hall", "hall way"]) == 0
