"""What ``arena run`` does, start to finish: config, run directory, schedule, play, rate.

Kept apart from the Typer layer so tests and scripts can start a run in-process.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from arena.config import Config, load_config
from arena.errors import ArenaError, ConfigError, StoreError
from arena.model_plan import ModelGate
from arena.probe import probe_agents
from arena.runner import Runner, RunOutcome
from arena.schedule import build_schedule
from arena.store import Store
from arena.store_files import LOCK_NAME

#: the packages whose versions a run records
VERSIONED = ("unpredictability-arena", "numpy", "pettingzoo", "gymnasium", "trueskill",
             "pydantic", "torch", "transformers")
#: config keys that change how a run is played, never what it produces (``memory``, the
#: model budget, changes only the order of play)
RUN_ONLY_KEYS = ("concurrency", "timeout", "memory")


def default_out(config: Config, *, root: Path = Path("runs")) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = root / f"{config.name}-{stamp}"
    n = 2
    while out.exists():
        out = root / f"{config.name}-{stamp}-{n}"
        n += 1
    return out


def _differs(old: Any, new: Any, path: str = "") -> str | None:
    """The first key path where two config snapshots differ, or None."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            if not path and key in RUN_ONLY_KEYS:
                continue
            found = _differs(old.get(key), new.get(key), f"{path}.{key}" if path else key)
            if found:
                return found
        return None
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            found = _differs(a, b, f"{path}[{i}]")
            if found:
                return found
        return None
    # the snapshot files game arguments and agent options under "args"/"options";
    # the user wrote them at the block's top level
    shown = path.replace(".args.", ".").replace(".options.", ".")
    return None if old == new else (shown or "(top level)")


def refuse_existing(out: Path) -> None:
    """A new run never goes into a directory that already holds anything."""
    if out.exists() and (not out.is_dir() or any(p.name != LOCK_NAME for p in out.iterdir())):
        hint = " (it holds a run: add --resume to continue it)" if Store.holds_run(out) else ""
        raise ArenaError(f"{out} already exists{hint}; choose another --out, nothing was "
                         "overwritten")


def open_store(config: Config, out: Path, *, resume: bool,
               models: dict[str, Any] | None = None) -> Store:
    """The run's store: a new one, or (with ``resume``) the existing one if configs agree.

    Resuming a directory that holds no run yet (killed before its first commit, or never
    started) simply starts it, so "run with --resume until done" loops just work. A damaged
    database, or one that is not an arena run, is refused and left as it is. ``models``
    (agent name -> model identity, from :func:`probe_agents`) is recorded with a new run;
    a resumed run keeps the identities it recorded and says which agents' models differ.
    """
    state = Store.state(out)  # raises, touching nothing, for a damaged or foreign arena.db
    if resume and state == "run":
        store = Store.open(out, write=True)
        info = store.run_info()
        changed = _differs(info["config"], config.snapshot())
        if changed:
            store.close()
            raise ArenaError(f"{out} was run with a different config (at {changed}); resume "
                             "with the same config and --set options")
        recorded = info.get("models") or {}
        moved = [name for name, found in (models or {}).items()
                 if name in recorded and recorded[name] != found]
        if moved:
            print(f"note: the model of {', '.join(moved)} is not the one {out} recorded "
                  "(a file, a revision or a package version changed; the run keeps the "
                  "record it made: arena export --provenance)", flush=True)
        return store
    if resume:
        print(f"note: nothing to resume in {out}; starting a new run there", flush=True)
    else:
        refuse_existing(out)
    return Store.create(out, config=config.snapshot(), versions=run_versions(),
                        models=models)


def run_versions() -> dict[str, str]:
    """What made the run: the arena's version (and its git commit when run from a
    checkout), Python's and the packages' (:func:`package_versions`)."""
    import subprocess

    from arena import __version__

    versions = {"arena": __version__}
    source = Path(__file__).resolve().parent.parent
    if (source / ".git").exists():
        try:
            commit = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"],
                                    capture_output=True, text=True, timeout=5)
            dirty = subprocess.run(["git", "-C", str(source), "status", "--porcelain",
                                    "--untracked-files=no"], capture_output=True, text=True,
                                   timeout=5)
            if commit.returncode == 0:
                versions["arena_commit"] = (commit.stdout.strip()
                                            + ("+dirty" if dirty.stdout.strip() else ""))
        except (OSError, subprocess.SubprocessError):
            pass
    return {**versions, **package_versions()}


def package_versions() -> dict[str, str]:
    """Python's version and those of :data:`VERSIONED` that are installed."""
    import platform
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def make_observer(config: Config, *, live: bool) -> Any:
    """The live view in a terminal (rating as the final tables do), plain lines otherwise."""
    from arena.live import LiveObserver, PlainObserver

    if live and sys.stdout.isatty():
        return LiveObserver(draw_probability=config.rating.draw_probability,
                            margin_sd=config.rating.margin_sd,
                            game_args={g.id: dict(g.args) for g in config.games})
    return PlainObserver()


def print_leaderboards(store: Store, *, draw_probability: float, file: Any = None) -> None:
    """The final leaderboards, one per game, rated in schedule order."""
    from rich.console import Console

    from arena.cli_views import game_board, game_records
    from leaderboards.table import literal

    console = Console(file=file or sys.stdout)
    for game in store.games():
        records = game_records(store, game)
        if not records:
            continue
        console.print()
        console.print(literal(f"Leaderboard: {game}", style="bold"))
        console.print(game_board(records, game, draw_probability=draw_probability))


def run_command(config_path: str, *, out: str | None = None, resume: bool = False,
                live: bool = True, concurrency: int | None = None,
                overrides: list[str] | tuple[str, ...] = (), timeout: float | None = None,
                retry_forfeits: bool = False) -> int:
    """``arena run``; returns the exit code (0; 3 when a service the agents need went
    down; or 128 + the signal that stopped it)."""
    config = load_config(config_path, overrides=overrides)
    if out is None and resume:
        raise ArenaError("--resume needs --out DIR: the run directory to continue")
    if retry_forfeits and not resume:
        raise ArenaError("--retry-forfeits replays forfeits of an existing run: add --resume")
    try:
        schedule = build_schedule(config)
    except ConfigError as exc:  # e.g. two matches with one key: name the file it came from
        raise ConfigError(exc.problem, file=config_path, path=exc.path) from None
    models = probe_agents(config, config_path)
    # a match seating more language models than memory.max_models: refused before the
    # run directory exists
    try:
        ModelGate.of(config).order(schedule.fixtures)
    except ArenaError as exc:
        raise ConfigError(str(exc), file=config_path, path="memory.max_models") from None
    directory = Path(out) if out is not None else default_out(config)
    if not resume:
        refuse_existing(directory)  # before the lock file would make it non-empty
    lock = _lock(directory)
    try:
        code = _play(config, config_path, directory, schedule, resume=resume, live=live,
                     concurrency=concurrency, overrides=overrides, timeout=timeout,
                     retry_forfeits=retry_forfeits, models=models)
    finally:
        lock.release()
    if code:
        return code
    print(f"\nResults: {directory}\nLeaderboard: arena leaderboard {shlex.quote(str(directory))}"
          f"\nExport: arena export {shlex.quote(str(directory))} --format jsonl", flush=True)
    _where_next(config, directory)
    return 0


def _where_next(config: Config, directory: Path) -> None:
    """The report, and the page where people judge the texts (README, "Judging texts")."""
    from envs import get_game

    where = shlex.quote(str(directory))
    texts = any(get_game(g.id).kind == "text" for g in config.games)
    print(f"Report: arena report {where}\nJudge texts: arena rate serve {where}"
          + ("" if texts else "  (for a run with a creative-writing game, e.g. "
             "configs/examples/creative_writing.yaml)"), flush=True)


def _play(config: Config, config_path: str, directory: Path, schedule: Any, *, resume: bool,
          live: bool, concurrency: int | None, overrides: Any, timeout: float | None,
          retry_forfeits: bool = False, models: dict[str, Any] | None = None) -> int:
    store = open_store(config, directory, resume=resume, models=models)
    print(f"Run directory: {directory}", flush=True)
    if retry_forfeits:
        replayed = store.forget_retryable()
        print(f"Replaying {len(replayed)} forfeited matches (timed out or process ended)",
              flush=True)
    try:
        observer = make_observer(config, live=live)
        runner = Runner(config, store, observer, fixtures=schedule.fixtures,
                        notices=schedule.notices, concurrency=concurrency, timeout=timeout)
        try:
            outcome: RunOutcome = runner.run()
        except StoreError as exc:  # a full disk, say: the matches saved so far stay saved
            raise StoreError(f"{exc}; resume with: "
                             f"{_resume_command(config_path, directory, overrides)}") from None
        if outcome.failure is not None:
            from leaderboards.table import visible  # a server's log may hold escapes

            resume_cmd = _resume_command(config_path, directory, overrides)
            print(f"\narena: stopped: {visible(outcome.failure)}\n{store.count()} of {outcome.total} "
                  f"matches are saved in {directory}; the rest are unplayed.\n"
                  f"Resume with: {resume_cmd}", file=sys.stderr, flush=True)
            return 3
        if outcome.signal is not None:
            resume_cmd = _resume_command(config_path, directory, overrides)
            print(f"\nInterrupted: {store.count()} of {outcome.total} matches are saved in "
                  f"{directory}.\nResume with: {resume_cmd}", flush=True)
            return 128 + outcome.signal  # 130 for SIGINT, 143 for SIGTERM
        print_leaderboards(store, draw_probability=config.rating.draw_probability)
    finally:
        store.close()
    return 0


def _lock(directory: Path) -> Any:
    """Hold the run directory for this process (released by the OS if it is killed)."""
    from filelock import FileLock, Timeout

    if directory.exists() and not directory.is_dir():
        raise ArenaError(f"{directory} is a file, not a run directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # under a file, read-only, no permission
        raise ArenaError(f"cannot create the run directory {directory}: "
                         f"{exc.strerror or exc}") from None
    lock = FileLock(str(directory / LOCK_NAME))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        held = directory / LOCK_NAME
        if not os.access(directory, os.W_OK) or (held.exists() and not os.access(held, os.W_OK)):
            raise ArenaError(f"cannot write in the run directory {directory} (permission "
                             "denied); a run needs a writable directory") from None
        raise ArenaError(f"{directory} is in use by another arena run") from None
    except OSError as exc:  # a read-only run directory, or one we may not write in
        raise ArenaError(f"cannot write in the run directory {directory} ({exc.strerror or exc})"
                         f"; a run needs a writable directory: to continue a read-only run, "
                         f"copy it (cp -r {shlex.quote(str(directory))} NEW) and resume the "
                         "copy with --out NEW --resume") from None
    return lock


def _resume_command(config_path: str, directory: Path, overrides: Any) -> str:
    parts = ["arena", "run", config_path, "--out", str(directory), "--resume"]
    for override in overrides:
        parts += ["--set", override]
    return " ".join(shlex.quote(p) for p in parts)
