"""The ``arena`` command line: run tournaments, export results, list agents.

``leaderboard``, ``matrix`` and ``graph`` come from :mod:`arena.cli_views`, ``prompt``
from :mod:`arena.cli_prompt`, ``analyze`` and ``report`` from :mod:`arena.cli_analysis`;
``rate`` from :mod:`arena.cli_rate`; each registers its commands on :data:`app`.

Start-up stays light (``arena --help`` must be quick): the engine, the envs and anything
heavy are imported inside the commands. A user error anywhere prints one line,
``arena: error: ...``, and exits with status 2.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from arena import cli_analysis, cli_prompt, cli_rate, cli_views, compare
from arena.errors import ArenaError

app = typer.Typer(
    name="arena",
    help="Tournaments of games that need unpredictability: bots, exploiters and language models.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from arena import __version__

        print(f"arena {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Tournaments of games that need unpredictability: bots, exploiters and language models."""


@app.command()
def run(
    config: Annotated[str, typer.Argument(help="Tournament config (YAML).")],
    out: Annotated[str | None, typer.Option(
        "--out", help="Run directory (default: runs/<name>-<timestamp>/).")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue the run in --out: keep finished matches, play the rest.")
    ] = False,
    no_live: Annotated[bool, typer.Option(
        "--no-live", help="Plain lines instead of the live view.")] = False,
    concurrency: Annotated[int | None, typer.Option(
        "--concurrency", min=1, help="Matches in flight at once (overrides the config).")
    ] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a config value: key.path=value (YAML value). Repeatable.")
    ] = None,
    timeout: Annotated[float | None, typer.Option(
        "--timeout", min=0.001, help="Seconds per match before it is forfeited.")] = None,
    retry_forfeits: Annotated[bool, typer.Option(
        "--retry-forfeits", help="With --resume: play again the matches forfeited because "
        "they were stopped from outside (timed out, process ended).")] = False,
) -> None:
    """Play a tournament: schedule, play, store every round, then print the leaderboard."""
    from arena.launch import run_command

    code = run_command(config, out=out, resume=resume, live=not no_live,
                       concurrency=concurrency, overrides=list(set_ or ()), timeout=timeout,
                       retry_forfeits=retry_forfeits)
    raise typer.Exit(code)


@app.command()
def export(
    directory: Annotated[str, typer.Argument(help="Run directory.")],
    format_: Annotated[str, typer.Option(
        "--format", help="jsonl or csv: one row per finished match.")] = "jsonl",
    rounds: Annotated[bool, typer.Option(
        "--rounds", help="Add round_log: actions, probabilities, rewards and latencies "
        "(ms) per round.")
    ] = False,
    out: Annotated[str | None, typer.Option(
        "--out", help="Write to FILE instead of standard output.")] = None,
    tidy: Annotated[bool, typer.Option(
        "--tidy", help="One flat row per decision (action names, one column per action "
        "probability), ready for pandas.")] = False,
    provenance: Annotated[bool, typer.Option(
        "--provenance", help="Instead of rows: what made the run (arena and package "
        "versions, the resolved config and its hash), as one JSON object.")] = False,
) -> None:
    """Export a run's matches as JSON lines or CSV."""
    from arena.export import export_command

    count = export_command(directory, out=out, fmt=format_, rounds=rounds, tidy=tidy,
                           with_provenance=provenance)
    if out is not None:
        what = "the run's provenance" if provenance else f"{count} rows"
        print(f"{what} written to {out}", file=sys.stderr)


@app.command()
def agents(
    plugin: Annotated[list[str] | None, typer.Option(
        "--plugin", help="A Python file whose @register_agent types to list too. Repeatable.")
    ] = None,
) -> None:
    """List every registered agent type, the games it plays, what it does and its options."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from arena.registry import RegistryError, can_play, describe, load_file, registered
    from envs import GAMES

    for path in plugin or ():
        try:
            load_file(path)
        except RegistryError as exc:
            raise ArenaError(f"--plugin {path}: {exc}") from None

    table = Table(title="Agent types", title_justify="left")
    table.add_column("type", style="bold")
    table.add_column("games")
    table.add_column("description and options")
    for name, cls in registered().items():
        games = [g for g in GAMES if can_play(cls, g)]
        text = Text(describe(cls))
        text.append("\noptions: " + (agent_options(cls) or "none"), style="dim")
        table.add_row(name, "all" if len(games) == len(GAMES) else ", ".join(games) or "none",
                      text)
    Console().print(table)


def agent_options(cls: type) -> str:
    """An agent type's options with their defaults, read from its constructor's signature
    (where the config's options are checked), e.g. ``window=None, decay=None``."""
    import inspect

    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return "?"
    shown = []
    for p in params:
        if p.name == "name" or p.kind in (p.POSITIONAL_ONLY, p.VAR_POSITIONAL):
            continue
        if p.kind is p.VAR_KEYWORD:
            shown.append(f"**{p.name}")
        else:
            shown.append(p.name if p.default is p.empty else f"{p.name}={p.default!r}")
    return ", ".join(shown)


cli_views.register(app)
cli_prompt.register(app)
cli_analysis.register(app)
cli_rate.register(app)
compare.register(app)


def fail(message: str) -> None:
    """Print one error line and exit 2. The message may quote a name or what a plugin
    raised: it is escaped like every name shown (no terminal escape reaches the screen)."""
    from leaderboards.table import visible

    print(f"arena: error: {visible(message)}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def _kinds(exc: BaseException) -> set[str]:
    """Class names in ``exc``'s hierarchy: Typer may vendor click, so match click's by name."""
    return {cls.__name__ for cls in type(exc).__mro__}


def main() -> None:
    """Console-script entry point: every user error is one line and exit status 2."""
    try:
        code = _main()
    except SystemExit as exc:
        _settle(exc.code if isinstance(exc.code, int) else 1)
        raise
    _settle(code)
    raise SystemExit(code)


#: how long ``arena`` waits at exit for match threads stopped in the middle of a decision
SETTLE_SECONDS = 2.0


def _settle(code: int) -> None:
    """Exit now, with ``code``, if a match thread stopped at a timeout or a signal is
    still deciding after :data:`SETTLE_SECONDS`: it may be inside a model's native code
    (a forward pass), and tearing the interpreter down under it aborts the process
    ("terminate called without an active exception"). Everything saved is committed;
    the exit handlers still run (managed servers stop there)."""
    threads = sys.modules.get("arena.slot_thread")
    if threads is None or threads.wait_for_abandoned(SETTLE_SECONDS):
        return
    import atexit

    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    os._exit(code)


def _main() -> int:
    from arena.registry import RegistryError

    # like `python -m`, let configs name agent classes in the working directory
    # ("mybots:MyBot"); appended, so nothing there shadows an installed module
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    try:
        code = app(standalone_mode=False)
    except (ArenaError, RegistryError) as exc:
        fail(" ".join(str(exc).split()))
    except KeyboardInterrupt:
        print("arena: interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:  # `arena export DIR | head`: the reader left, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    except Exception as exc:
        kinds = _kinds(exc)
        ctx = getattr(exc, "ctx", None)
        if "NoArgsIsHelpError" in kinds:  # a bare `arena`: show the commands
            print(ctx.get_help() if ctx else "usage: arena --help")
            code = 0
        elif "Abort" in kinds:
            print("arena: interrupted", file=sys.stderr)
            code = 130
        elif "ClickException" in kinds:
            hint = f" (see '{ctx.command_path} --help')" if "UsageError" in kinds and ctx else ""
            fail(" ".join(exc.format_message().split()) + hint)  # type: ignore[attr-defined]
        else:
            raise
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    main()
