"""Play one match of agent objects through the engine's own loop (no config, no store)."""

from __future__ import annotations

from typing import Any

from arena.match import play_match
from envs import make_game


def play(a: Any, b: Any, *, game: str = "rps", rounds: int = 1000, seed: int = 0,
         **game_kwargs: Any) -> dict[str, float]:
    """Play one match, seat a first; return mean reward per round by agent name."""
    env = make_game(game, rounds=rounds, **game_kwargs)
    result = play_match(env, [a, b], game=game, seed=seed)
    assert result.status == "finished", result.error
    return {name: score / rounds for name, score in result.scores.items()}


def quickstart_bots(*, games: tuple[str, ...] | None = None) -> dict[str, Any]:
    """``configs/quickstart.yaml`` as data without its language models (tests of the engine
    need not load them), keeping only ``games`` when given."""
    from pathlib import Path

    import yaml

    path = Path(__file__).resolve().parents[1] / "configs" / "quickstart.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["agents"] = [a for a in data["agents"] if a["type"] not in ("hf", "llm")]
    if games is not None:
        data["games"] = [g for g in data["games"] if g["id"] in games]
    return data


def as_result(record: dict[str, Any]) -> Any:
    """A plain match record (``leaderboards`` test data) as the engine's MatchResult."""
    from arena.records import MatchResult

    return MatchResult(**{k: v for k, v in record.items() if k in MatchResult.__dataclass_fields__})


def without_timing(record: dict[str, Any]) -> dict[str, Any]:
    """A match record without what measures time (``started_at``, ``finished_at``, each
    round's ``latency_ms``): what the same config and seed reproduce exactly, at any
    concurrency and after ``--resume``."""
    out = {k: v for k, v in record.items() if k not in ("started_at", "finished_at")}
    if isinstance(out.get("round_log"), list):
        out["round_log"] = [{k: v for k, v in entry.items() if k != "latency_ms"}
                            for entry in out["round_log"]]
    return out
