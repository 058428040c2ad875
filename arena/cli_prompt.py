"""``arena prompt``: the exact text a language-model agent sees, before a run or after it.

``arena prompt CONFIG AGENT`` prints the raw prompt of round 1 (special tokens written
out, nothing stripped), a line ``--- later round ---``, then the prompt of a later round
after a made-up history. Each of the two texts is followed by one newline for display,
so the first prompt is exactly the output before ``"\\n--- later round ---\\n"``.
``--game`` picks the game when the config has several; ``--role`` the seat in a
two-player game (default: the first, e.g. ``player_0`` or ``hider_0``).

``arena prompt RUN_DIR --match KEY --round K [--agent NAME]`` prints the text the model
read at round K (counted from 1) of a stored match, and nothing else: no newline or
separator is added, so standard output is byte for byte the model's input (UTF-8) and
can be piped into a tokenizer. It is rebuilt, never stored: from the run's config
snapshot, the match's seed and roles, the engine's own reset context
(:func:`~arena.match.seat_context`, :func:`~arena.match.start_episode`) and the stored
moves of rounds 1 to K-1, which the env replays so that the agent reads the very
observations it read in play, through its own history mechanism (a round given up
appears as the engine played it). In a solo task K counts steps across the series'
episodes, as the stored rounds do (the ``round`` of the tidy export); the prompt is that
step's, within its episode. ``--agent`` is needed only when both seats are language models.

Either way only the tokenizer is loaded, never the weights. A mistake (no such run or
match, a round out of range, an agent that is no language model or did not play the
match) is one line and exit status 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

SEPARATOR = "--- later round ---"


def register(app: typer.Typer) -> None:
    """Add the ``prompt`` command to ``app``."""

    @app.command()
    def prompt(
        config: Annotated[str, typer.Argument(
            help="Tournament config (YAML), or a run directory with --match and --round.",
            metavar="CONFIG|RUN_DIR")],
        agent: Annotated[str | None, typer.Argument(
            help="Name of a language-model agent in the config.")] = None,
        game: Annotated[str | None, typer.Option(
            "--game", help="Game id, when the config has several games.")] = None,
        role: Annotated[str | None, typer.Option(
            "--role", help="Seat in a two-player game (default: the first).")] = None,
        match: Annotated[str | None, typer.Option(
            "--match", help="With a run directory: the key of a stored match.")] = None,
        round_: Annotated[int | None, typer.Option(
            "--round", help="With a run directory: the round, from 1 (solo tasks: the step, "
            "counted across episodes).")] = None,
        agent_name: Annotated[str | None, typer.Option(
            "--agent", help="With a run directory: the agent, when both seats are language "
            "models.")] = None,
    ) -> None:
        """Print the exact prompt an LLM agent sees in round 1, then in a later round; with
        a run directory, the exact text it read at round K of a stored match, and nothing
        else."""
        from arena.errors import ArenaError

        if match is not None or round_ is not None or Path(config).is_dir():
            if game is not None or role is not None:
                raise ArenaError("--game and --role belong to `arena prompt CONFIG AGENT`; a "
                                 "stored match already has its game and seats")
            if agent is not None and agent_name is not None and agent != agent_name:
                raise ArenaError(f"two agents named: {agent!r} and --agent {agent_name!r}")
            if match is None or round_ is None:
                raise ArenaError("a stored match's prompt needs a run directory, --match KEY "
                                 "and --round K (e.g. arena prompt RUN_DIR --match "
                                 "rps/a-vs-b/0 --round 1)")
            text = replay_prompt(config, match, round_, agent=agent_name or agent)
            _write_exact(text)
            return
        if agent is None:
            agent = agent_name
        if agent is None:
            raise ArenaError("name the agent: arena prompt CONFIG AGENT (or a run directory "
                             "with --match KEY --round K)")
        first, later = render_prompts(config, agent, game_id=game, role=role)
        print(first)
        print(SEPARATOR)
        print(later, flush=True)


def _write_exact(text: str) -> None:
    """``text`` on standard output as UTF-8 bytes, whatever the locale, with nothing added."""
    data = text.encode("utf-8")
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # a text-only stream (captured in tests): the text as it is
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    sys.stdout.flush()
    buffer.write(data)
    buffer.flush()


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
    game = config.game(game_id)
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
    from arena.game_facts import game_facts
    from arena.match import seat_context, start_episode
    from arena.seeds import series_seed
    from envs import make_game

    facts = game_facts(game)
    roles = list(facts.roles)
    seat = role or roles[0]
    if not facts.solo and seat not in roles:
        raise ArenaError(f"game {game.id!r} has no role {seat!r} (roles: {', '.join(roles)})")
    # the context is what the env says at reset: built here as the engine builds it
    env = make_game(game.id, **game.args)
    try:
        if facts.solo:
            # episode 0 as the engine seeds it, so a writing prompt is the real first one
            _, context = start_episode(env, game.id, facts.kind,
                                       series_seed(config.seed, game.id), 0)
            return context
        return seat_context(game.id, env, seat)
    finally:
        env.close()


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


# -- a stored match ----------------------------------------------------------------------

def replay_prompt(run_dir: str | Path, key: str, number: int, *,
                  agent: str | None = None) -> str:
    """The exact text the language-model agent read at round ``number`` (from 1) of the
    stored match ``key`` in ``run_dir``: see the module docstring."""
    import difflib

    from arena.config import parse_config
    from arena.errors import ArenaError, ConfigError
    from arena.store import Store

    with Store.open(run_dir) as store:
        info = store.run_info()
        record = store.result(key, rounds=True)
        keys = sorted(store.finished_keys()) if record is None else []
    if record is None:
        close = difflib.get_close_matches(key, keys, n=3, cutoff=0.5)
        hint = (f"; did you mean {', '.join(repr(k) for k in close)}?" if close else
                f" ({len(keys)} matches, e.g. {keys[0]!r}: see arena export {run_dir})"
                if keys else " (it holds no match yet)")
        raise ArenaError(f"{run_dir}: no match {key!r}{hint}")
    try:
        config = parse_config(info["config"], source=f"{run_dir} (its stored config)")
    except ConfigError as exc:
        raise ArenaError(f"the config stored in {run_dir} no longer loads: {exc}") from None
    names: list[str] = list(record["agents"])
    name = _prompted_agent(config, record, agent)
    log = record["round_log"]
    what = "steps" if record["roles"] == ["solo"] else "rounds"
    if not 1 <= number <= len(log):
        span = f" (1 to {len(log)})" if log else ""
        raise ArenaError(f"round {number} is out of range: match {key!r} has {len(log)} "
                         f"{what}{span}")
    spec = config.agent(name)
    try:
        game = config.game(record["game"])
    except KeyError:
        raise ArenaError(f"{run_dir}: match {key!r} is of game {record['game']!r}, which its "
                         "stored config does not hold") from None
    try:
        from arena.registry import make_agent

        player = make_agent(spec.type, name=spec.name, **spec.options)
        if record["roles"] == ["solo"]:
            return _solo_prompt(player, game, record, number)
        return _match_prompt(player, game, record, names.index(name), number)
    except ArenaError:
        raise
    except Exception as exc:  # noqa: BLE001 -- a model that is gone, an env that changed
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArenaError(f"agent {name!r}: cannot rebuild its prompt at round {number} of "
                         f"{key!r}: {first}") from None


def _is_language_model(type_name: str) -> bool:
    from arena.registry import get_agent_class

    try:
        return callable(getattr(get_agent_class(type_name), "prompt_text", None))
    except Exception:  # noqa: BLE001 -- a type that no longer resolves has no prompt here
        return False


def _prompted_agent(config: Any, record: dict[str, Any], agent: str | None) -> str:
    """The language-model agent of the match whose prompt is asked for."""
    from arena.errors import ArenaError

    names: list[str] = list(record["agents"])
    types = {a.name: a.type for a in config.agents}
    key = record["key"]
    if agent is not None:
        if agent not in names:
            raise ArenaError(f"agent {agent!r} did not play in match {key!r} (its agents: "
                             f"{', '.join(names)})")
        if agent not in types:
            raise ArenaError(f"agent {agent!r} is not in the run's stored config")
        if not _is_language_model(types[agent]):
            raise ArenaError(f"agent {agent!r} ({types[agent]}) is not a language-model "
                             "agent; it has no prompt")
        return agent
    models = [n for n in names if n in types and _is_language_model(types[n])]
    if not models:
        raise ArenaError(f"match {key!r} has no language-model agent ({', '.join(names)}); "
                         "no prompt to show")
    if len(models) > 1:
        raise ArenaError(f"both agents of match {key!r} are language models "
                         f"({', '.join(models)}): choose one with --agent")
    return models[0]


def _reset(player: Any, seed: int, context: dict[str, Any]) -> None:
    from arena.seats import accepted_context

    if getattr(player, "white_box", False):
        context = {**context, "opponent_policy": lambda: None}
    player.reset(**accepted_context(player.reset, {"seed": seed, **context}))


def _read(player: Any, observation: Any, decision: int) -> bool:
    """Show ``player`` the observation of its decision number ``decision`` (from 0) as its
    own ``decide`` does before it renders a prompt; ``False`` for an agent without that
    mechanism (it is given the rounds so far through ``prompt_text(past)`` instead)."""
    observe = getattr(player, "_observe", None)
    if not (callable(observe) and hasattr(player, "decisions_made")):
        return False
    player.decisions_made = decision
    observe(observation)
    return True


def _text(player: Any, observed: bool, past: list[Any]) -> str:
    return player.prompt_text() if observed else player.prompt_text(past)


def _match_prompt(player: Any, game: Any, record: dict[str, Any], seat: int,
                  number: int) -> str:
    """Two players: the env reset with the match seed and stepped with the stored moves."""
    from arena.match import seat_context
    from arena.seeds import derive_seed
    from envs import get_game

    names, roles = list(record["agents"]), list(record["roles"])
    env = get_game(game.id).make(**game.args)
    obs, _ = env.reset(seed=record["seed"])
    role = roles[seat]
    _reset(player, derive_seed(record["seed"], f"seat{seat}"), seat_context(game.id, env, role))
    log = record["round_log"]
    observed = True
    for decision in range(number):
        if decision:
            moves = log[decision - 1]["actions"]
            obs, *_ = env.step({r: moves[n] for r, n in zip(roles, names, strict=True)})
        observed = _read(player, obs[role], decision)
    env.close()
    me, other = names[seat], names[1 - seat]
    past = [(e["actions"][me], e["actions"][other]) for e in log[:number - 1]]
    return _text(player, observed, past)


def _solo_prompt(player: Any, game: Any, record: dict[str, Any], number: int) -> str:
    """A solo series: the step's episode started as the engine starts it, then its earlier
    steps replayed with the stored actions."""
    from arena.errors import ArenaError
    from arena.match import start_episode
    from arena.seeds import derive_seed
    from envs import get_game

    spec = get_game(game.id)
    name = record["agents"][0]
    log = record["round_log"]
    entry = log[number - 1]
    episode, step = entry.get("episode"), entry.get("step")
    first = number - 1 - (step if isinstance(step, int) else -1)
    if not (isinstance(episode, int) and isinstance(step, int) and first >= 0
            and all(log[first + s].get("episode") == episode and log[first + s].get("step") == s
                    for s in range(step + 1))):
        raise ArenaError(f"match {record['key']!r}: the stored steps of round {number} do not "
                         "follow one another; its episode cannot be replayed")
    env = spec.make(**game.args)
    obs, context = start_episode(env, game.id, spec.kind, record["seed"], episode)
    _reset(player, derive_seed(record["seed"], f"agent/episode{episode}"), context)
    observed = True
    for decision in range(step + 1):
        if decision:
            obs, *_ = env.step(log[first + decision - 1]["actions"][name])
        observed = _read(player, obs, decision)
    env.close()
    past = [] if spec.kind == "text" else [log[first + s]["actions"][name] for s in range(step)]
    return _text(player, observed, past)
