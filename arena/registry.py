"""The agent registry: a decorator, a lazy ``"module:Class"`` route and plugins.

Three ways to make an agent type known:

* ``@register_agent("name")`` on a class in a module of an agent package: a package
  named in the entry-point group ``arena.agent_packages`` (this project names
  ``agents``), whose every module is imported on first lookup;
* ``type: "package.module:ClassName"`` in a config, for a class anywhere importable,
  or ``type: "path/to/file.py:ClassName"`` for a class in any file (a relative path is
  read from the config file's folder); ``plugins: [path/to/file.py]`` in a config (or
  ``arena agents --plugin``) loads a file whose ``@register_agent`` names it then uses;
* an installed distribution declaring ``[project.entry-points."arena.agents"]``
  ``name = "package.module:ClassName"``.

The registry imports nothing from ``agents/`` by name: the built-in agents are found
through the project's own entry point, like anyone else's.

Construction is ``cls(name=..., **options)`` (or ``cls(**options)`` when the constructor
takes no ``name``); an option the class does not accept is an error naming it.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import importlib
import importlib.util
import inspect
import pkgutil
import sys
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

_REGISTRY: dict[str, type] = {}
_DISCOVERED = False
ENTRY_POINT_GROUP = "arena.agents"
PACKAGE_GROUP = "arena.agent_packages"


class RegistryError(ValueError):
    """An agent type or option that cannot be resolved; the message says which."""


def register_agent(name: str) -> Callable[[type], type]:
    """Class decorator: make ``cls`` available as ``type: name`` in configs."""

    def decorate(cls: type) -> type:
        existing = _REGISTRY.get(name)
        if existing is not None and existing is not cls and (
            existing.__module__, existing.__qualname__) != (cls.__module__, cls.__qualname__):
            raise RegistryError(f"agent type {name!r} is registered twice: "
                                f"{existing.__module__}.{existing.__qualname__} and "
                                f"{cls.__module__}.{cls.__qualname__}")
        _REGISTRY[name] = _check_agent_class(cls, repr(name))
        return cls

    return decorate


def _import_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except (Exception, SystemExit) as exc:  # a broken agent module must say which one it is
        raise RegistryError(f"cannot import agent module {name!r}: {_failure(exc)}") from exc


def _failure(exc: BaseException) -> str:
    """What went wrong importing agent code, in a few words. A module that calls
    ``sys.exit()`` while being imported would otherwise end the arena silently, with its
    exit code (0 looks like success)."""
    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r}) while being imported"
    return f"{type(exc).__name__}: {exc}"


def _discover() -> None:
    """Import every module of the agent packages and note the plugins (not imported yet)."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    for ep in metadata.entry_points(group=PACKAGE_GROUP):
        package = _import_module(ep.value)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
            # agents/llm is registered from agents/llm/__init__.py without importing torch
            _import_module(info.name)
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in _REGISTRY:
            _REGISTRY[ep.name] = _LazyEntryPoint(ep)  # type: ignore[assignment]
    # Only now: a failed import above is retried (and reported again) on the next lookup.
    _DISCOVERED = True


class _LazyEntryPoint:
    """Defers importing a plugin until its type is actually used."""

    def __init__(self, ep: metadata.EntryPoint) -> None:
        self.ep = ep

    def load(self) -> type:
        try:
            return _check_agent_class(self.ep.load(), f"plugin {self.ep.name!r} ({self.ep.value})")
        except RegistryError:
            raise
        except (Exception, SystemExit) as exc:
            raise RegistryError(f"plugin agent {self.ep.name!r} ({self.ep.value}) failed to "
                                f"load: {_failure(exc)}") from exc


def _check_agent_class(obj: Any, where: str) -> type:
    if not inspect.isclass(obj) or not all(callable(getattr(obj, m, None)) for m in ("reset", "act")):
        raise RegistryError(f"agent type {where} is not an agent class "
                            f"(a class with reset() and act())")
    # a match calls its agents plainly, one decision at a time; a model that wants to
    # batch does it inside its backend, where a call may block on a future
    for method in ("reset", "act", "decide", "policy"):
        if inspect.iscoroutinefunction(getattr(obj, method, None)):
            raise RegistryError(f"agent type {where}: {method}() is 'async def'; agents are "
                                "called synchronously (block inside the call instead)")
    return obj


#: modules loaded from a file path, by module name: a worker process loads them the same way
FILE_MODULES: dict[str, str] = {}


def is_file_path(module: str) -> bool:
    """Whether the module part of a ``type:`` names a file (``bots/mine.py``), not a module."""
    return module.endswith(".py") or "/" in module or "\\" in module


def load_file(path: str) -> Any:
    """Import the Python file at ``path`` (once per process) and return the module; its
    ``@register_agent`` classes are registered. Configs run code: this is where."""
    resolved = str(Path(path).expanduser().resolve())
    name = f"arena_file_{hashlib.blake2b(resolved.encode(), digest_size=6).hexdigest()}"
    module = sys.modules.get(name)
    if module is not None:
        return module
    if not Path(resolved).is_file():
        raise RegistryError(f"no such file {path!r}")
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise RegistryError(f"{path!r} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        del sys.modules[name]
        raise RegistryError(f"cannot load {path!r}: {_failure(exc)}") from exc
    FILE_MODULES[name] = resolved
    return module


def _load_path(path: str) -> type:
    module_name, _, attr = path.rpartition(":")
    if not module_name or not attr:
        raise RegistryError(f"agent type {path!r} must look like 'package.module:ClassName' "
                            "or 'path/to/file.py:ClassName'")
    try:
        module = (load_file(module_name) if is_file_path(module_name)
                  else importlib.import_module(module_name))
    except ImportError as exc:
        raise RegistryError(f"agent type {path!r}: cannot import module {module_name!r} ({exc})") from None
    except RegistryError:
        raise
    except (Exception, SystemExit) as exc:
        raise RegistryError(f"agent type {path!r}: cannot import module {module_name!r}: "
                            f"{_failure(exc)}") from None
    try:
        obj: Any = module
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise RegistryError(f"agent type {path!r}: module {module_name!r} has no attribute {attr!r}") from None
    return _check_agent_class(obj, repr(path))


def get_agent_class(type_name: str) -> type:
    """Resolve a config ``type:`` to a class, with a "did you mean" on a miss."""
    if ":" in type_name:
        return _load_path(type_name)
    _discover()
    entry = _REGISTRY.get(type_name)
    if entry is None:
        close = difflib.get_close_matches(type_name, sorted(_REGISTRY), n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        if not close and "." in type_name:
            hint = "; a class outside agents/ is written 'package.module:ClassName'"
        raise RegistryError(f"unknown agent type {type_name!r}{hint} (see `arena agents`)")
    if isinstance(entry, _LazyEntryPoint):
        entry = entry.load()
        _REGISTRY[type_name] = entry
    return entry


def adopt_class(type_name: str, path: str) -> None:
    """Register ``type_name`` as the class at ``path`` (``module:Qualname``) unless it is
    known already: how a worker process learns the agent types of the run."""
    if ":" not in type_name and type_name not in _REGISTRY:
        _REGISTRY[type_name] = _load_path(path)


def accepted_options(fn: Callable[..., Any]) -> set[str] | None:
    """Keyword names ``fn`` (a class or a function) accepts, or ``None`` if it takes
    ``**kwargs``. Raises ``TypeError``/``ValueError`` where Python has no signature."""
    params = inspect.signature(fn).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}


def option_problem(type_name: str, cls: type, options: Iterable[str]) -> tuple[str, str] | None:
    """The first of ``options`` that ``cls`` does not take, with the message saying so."""
    accepted = accepted_options(cls)
    if accepted is None:
        return None
    for option in options:
        if option not in accepted:
            allowed = ", ".join(sorted(accepted - {"name"})) or "none"
            return option, (f"agent type {type_name!r} has no option {option!r} "
                            f"(options: {allowed})")
    return None


def check_options(type_name: str, options: dict[str, Any]) -> type:
    """Resolve ``type_name`` and check ``options`` against its signature."""
    cls = get_agent_class(type_name)
    problem = option_problem(type_name, cls, options)
    if problem is not None:
        raise RegistryError(problem[1])
    return cls


def make_agent(type_name: str, *, name: str, **options: Any) -> Any:
    """Build an agent as ``cls(name=name, **options)``.

    A class whose constructor takes no ``name`` (a bare bot from outside the project) is
    built as ``cls(**options)`` and gets ``name`` as an attribute instead.
    """
    cls = check_options(type_name, options)
    accepted = accepted_options(cls)
    takes_name = accepted is None or "name" in accepted
    try:
        agent = cls(name=name, **options) if takes_name else cls(**options)
    except (TypeError, ValueError) as exc:
        raise RegistryError(f"agent {name!r} ({type_name}): {exc}") from None
    if not takes_name:
        with contextlib.suppress(AttributeError):  # read-only or slotted: the engine has it
            agent.name = name
    return agent


def registered() -> dict[str, type]:
    """Every registered agent type, plugins included (loaded)."""
    _discover()
    for key in list(_REGISTRY):
        get_agent_class(key)
    return dict(sorted(_REGISTRY.items()))


def declared_timeout(cls: type) -> float | None:
    """The match time limit an agent class asks for under ``timeout: auto``: its
    ``match_timeout`` (``None``: no limit), else :class:`arena.agent.BaseAgent`'s."""
    from arena.agent import BaseAgent

    return getattr(cls, "match_timeout", BaseAgent.match_timeout)


def describe(cls: type) -> str:
    """First line of the class docstring, with reST literal markup dropped for the terminal."""
    doc = inspect.cleandoc(cls.__dict__.get("__doc__") or "")  # its own, not BaseAgent's
    return doc.splitlines()[0].replace("``", "") if doc else ""


def can_play(cls: type, game_id: str) -> bool:
    """Whether agent class ``cls`` can play ``game_id``: its ``can_play(spec)`` if it has
    one, else its ``kinds`` (see :mod:`arena.agent`); a class that declares neither
    plays every game."""
    from envs import get_game

    spec = get_game(game_id)
    decide = getattr(cls, "can_play", None)
    if callable(decide):
        return bool(decide(spec))
    kinds = getattr(cls, "kinds", None)
    return kinds is None or spec.kind in kinds
