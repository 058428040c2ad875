"""Agent options checked against the types their constructor declares, where YAML
commonly misleads: ``true`` is the number 1 to Python, never to a config, so an option
declared as a number (``max_in_flight: int | None``) refuses a boolean when the config
loads, for every agent type alike, instead of playing with 1.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any

from arena.config_model import takes_number_not_bool


def option_type_problem(cls: type, options: dict[str, Any]) -> tuple[str, str] | None:
    """The first of ``options`` whose value is a boolean where ``cls``'s constructor
    declares a number, with the message saying so; ``None`` when there is none (or the
    constructor's hints cannot be read: a plugin's own business)."""
    try:
        hints = dict(typing.get_type_hints(cls.__init__))  # type: ignore[misc]
    except Exception:  # noqa: BLE001 -- unreadable hints: nothing to check against
        return None
    hints.update(_signature_hints(cls, skip=hints))
    for option, value in options.items():
        if isinstance(value, bool) and option in hints \
                and takes_number_not_bool(hints[option]):
            return option, f"must be a number, not {str(value).lower()}"
    return None


def _signature_hints(cls: type, *, skip: dict[str, Any]) -> dict[str, Any]:
    """The types a class's own ``__signature__`` declares for options its ``__init__``
    takes as ``**options`` (an agent whose options are a table): written as text there,
    read here; one that cannot be read is left unchecked."""
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return {}
    found: dict[str, Any] = {}
    for name, param in params.items():
        annotation = param.annotation
        if name in skip or annotation is inspect.Parameter.empty:
            continue
        if isinstance(annotation, str):
            try:
                annotation = eval(annotation, {**vars(typing), "Any": Any})  # noqa: S307
            except Exception:  # noqa: BLE001 -- a plugin's own business
                continue
        found[name] = annotation
    return found
