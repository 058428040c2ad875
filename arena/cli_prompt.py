"""``arena prompt CONFIG AGENT``: the exact text a language-model agent sees.

Prints the raw prompt of round 1 (special tokens written out, nothing stripped), a line
``--- later round ---``, then the prompt of a later round after a made-up history. Each
of the two texts is followed by one newline for display, so the first prompt is exactly
the output before ``"\\n--- later round ---\\n"``. Only the tokenizer is loaded, never
the weights. ``--game`` picks the game when the config has several; ``--role`` the seat
in a two-player game (default: the first, e.g. ``player_0`` or ``hider_0``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

SEPARATOR = "--- later round ---"


def register(app: typer.Typer) -> None:
    """Add the ``prompt`` command to ``app``."""

    @app.command()
    def prompt(
        config: Annotated[str, typer.Argument(help="Tournament config (YAML).")],
        agent: Annotated[str, typer.Argument(help="Name of a language-model agent in it.")],
        game: Annotated[str | None, typer.Option(
            "--game", help="Game id, when the config has several games.")] = None,
        role: Annotated[str | None, typer.Option(
            "--role", help="Seat in a two-player game (default: the first).")] = None,
    ) -> None:
        """Print the exact prompt an LLM agent sees in round 1, then in a later round."""
        first, later = render_prompts(config, agent, game_id=game, role=role)
        print(first)
        print(SEPARATOR)
        print(later, flush=True)


def render_prompts(config_path: str, agent_name: str, *, game_id: str | None = None,
                   role: str | None = None) -> tuple[str, str]:
    """The raw round-1 prompt and a later-round prompt for one agent of a config."""
    from arena.config import load_config
    from arena.config_checks import agent_plays
    from arena.errors import ArenaError
    from arena.registry import RegistryError, make_agent

    config = load_config(config_path)
    names = [a.name for a in config.agents]
    if agent_name not in names:
        raise ArenaError(f"{config_path}: no agent named {agent_name!r} "
                         f"(agents: {', '.join(names)})")
    spec = config.agent(agent_name)
    ids = [g.id for g in config.games]
    if game_id is None:
        if len(ids) > 1:
            raise ArenaError(f"{config_path} has several games ({', '.join(ids)}); "
                             "choose one with --game")
        game_id = ids[0]
    if game_id not in ids:
        raise ArenaError(f"{config_path}: no game {game_id!r} (games: {', '.join(ids)})")
    if not agent_plays(config, agent_name, game_id):
        raise ArenaError(f"agent {agent_name!r} does not play {game_id!r}")
    game = next(g for g in config.games if g.id == game_id)
    context = _context(config, game, role)
    try:
        player = make_agent(spec.type, name=spec.name, **spec.options)
        if not callable(getattr(player, "prompt_text", None)):
            raise ArenaError(f"agent {agent_name!r} ({spec.type}) is not a language-model "
                             "agent; it has no prompt")
        player.reset(seed=0, **context)
        return player.prompt_text([]), player.prompt_text(_made_up_history(context))
    except (ArenaError, RegistryError):
        raise
    except (OSError, ImportError, ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArenaError(f"agent {agent_name!r}: cannot render its prompt: {first}") from None


def _context(config: Any, game: Any, role: str | None) -> dict[str, Any]:
    """The reset context the engine gives the agent in the first match of ``game``."""
    from arena.errors import ArenaError
    from arena.match import seat_context, start_episode
    from arena.seeds import series_seed
    from envs import get_game, make_game

    env = make_game(game.id, **game.args)
    spec = get_game(game.id)
    if spec.solo:
        # episode 0 as the engine seeds it, so a writing prompt is the real first one
        _, context = start_episode(env, game.id, spec.kind, series_seed(config.seed, game.id), 0)
        return context
    roles = list(env.possible_agents)
    seat = role or roles[0]
    if seat not in roles:
        raise ArenaError(f"game {game.id!r} has no role {seat!r} (roles: {', '.join(roles)})")
    return seat_context(game.id, env, seat)


def _made_up_history(context: dict[str, Any]) -> list[Any]:
    """A short, varied history: three rounds, or a few numbers of a sequence."""
    if context["kind"] == "text":
        return []
    if context["kind"] == "numbers":
        low, high = int(context["low"]), int(context["high"])
        span = high - low + 1
        steps = min(3, int(context.get("length", 1)) - 1)
        return [low + (7 * i + 3) % span for i in range(steps)]
    n = len(context["action_names"])
    return [(i % n, (2 * i + 1) % n) for i in range(3)]
