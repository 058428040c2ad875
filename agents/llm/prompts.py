"""Prompts: one template per game (data in ``templates/<game>.yaml``) rendered with history.

A template is a mapping of strings formatted with :meth:`str.format` fields (each
YAML file lists its fields). Two formats use different keys:

``chat``        ``system`` and ``user`` become the system and user messages that the
                backend turns into text with the tokenizer's chat template (with the
                generation prompt); past rounds are ``round_chat`` lines.
``completion``  ``completion`` is a plain transcript that a base model continues; past
                rounds are ``round_completion`` blocks. It ends where the model's answer
                starts, so the answer is scored as ``" " + name + "\\n"``.

A key may have a variant: random numbers use ``user_single``/``user_sequence`` (one
number per episode or several), and role-dependent keys end in the role's kind
(``role_hider``, ``outcomes_seeker``). A config overrides any key with the agent
option ``templates: {<game>: {<key>: <text>}}`` (or ``{<game>: path/to/file.yaml}``);
literal braces in an override are written ``{{`` and ``}}``. Both are checked when the
agent is built and reset (so ``arena run`` and ``arena prompt`` refuse them in one line
before anything plays): a key that is not one of :data:`TEMPLATE_KEYS` (or a variant of
one, ``<key>_<variant>``) and a ``{field}`` that the key's text is not given.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

TEMPLATE_DIR = Path(__file__).with_name("templates")
Messages = list[dict[str, str]]
#: the keys a template may hold (each may also end in a variant or a role's kind:
#: ``user_single``, ``role_hider``, ``outcomes_completion_seeker``)
TEMPLATE_KEYS = ("system", "user", "completion", "round_chat", "round_completion",
                 "no_history_chat", "no_history_completion", "step_chat_intro",
                 "step_completion", "stop_chat", "stop_completion", "outcomes",
                 "outcomes_completion", "role", "role_completion")


def available_templates() -> list[str]:
    """Game ids that ship a template."""
    return sorted(p.stem for p in TEMPLATE_DIR.glob("*.yaml"))


@functools.cache
def _shipped(game: str) -> Mapping[str, Any]:
    # parsed once per process: a Prompter is built for every match and every episode
    path = TEMPLATE_DIR / f"{game}.yaml"
    if not path.exists():
        raise ValueError(f"no prompt template for game {game!r} "
                         f"(templates: {', '.join(available_templates())})")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_template(game: str, override: Mapping[str, Any] | str | None = None) -> dict[str, Any]:
    """The template for ``game``, with ``override`` (a mapping or a YAML path) on top."""
    data = dict(_shipped(game))
    if isinstance(override, str):
        try:
            override = yaml.safe_load(Path(override).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f"template override for {game!r}: cannot read {override}: "
                             f"{exc}") from None
    if override:
        if not isinstance(override, Mapping):
            raise ValueError(f"template override for {game!r} must be a mapping or a YAML path")
        for key in override:
            if not _known_key(key):
                close = difflib.get_close_matches(str(key), [*TEMPLATE_KEYS, *data], n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"template override for {game!r}: unknown key {key!r}"
                                 f"{hint} (keys: {', '.join(TEMPLATE_KEYS)})")
        data.update(override)
    return data


def _known_key(key: Any) -> bool:
    return isinstance(key, str) and any(key == k or key.startswith(k + "_")
                                        for k in TEMPLATE_KEYS)


def _format(game: str, key: str, text: Any, fields: Mapping[str, Any]) -> str:
    """``text`` with ``fields`` filled in; a field it is not given is a one-line error."""
    try:
        return str(text).format_map(fields)
    except KeyError as exc:
        raise ValueError(f"prompt template {game!r} key {key!r}: unknown field "
                         f"{{{exc.args[0]}}} (fields: {', '.join(sorted(fields))}; write a "
                         "literal brace as {{ or }})") from None
    except (IndexError, ValueError, AttributeError) as exc:
        raise ValueError(f"prompt template {game!r} key {key!r}: bad field ({exc}; write a "
                         "literal brace as {{ or }})") from None


class Prompter:
    """Renders the prompt for one player in one match (or episode) from its history.

    ``past`` is the list of rounds played so far: ``(own, opponent)`` action indices
    in two-player games, the numbers said so far in the random-number task, and
    empty for writing.
    """

    def __init__(self, context: Mapping[str, Any], *, prompt_format: str = "chat",
                 templates: Mapping[str, Any] | None = None, history: int | None = None) -> None:
        if prompt_format not in ("chat", "completion"):
            raise ValueError(f"prompt_format must be 'chat' or 'completion', not {prompt_format!r}")
        self.context = dict(context)
        self.game = str(context.get("game", ""))
        self.format = prompt_format
        self.window = history
        self.template = load_template(self.game, (templates or {}).get(self.game))
        self.names = [str(n) for n in context.get("action_names", [])]
        self.role_kind = str(context.get("role", "")).split("_")[0]
        self.kind = str(context.get("kind", "matrix"))  # matrix, numbers or text
        self.variant = ""
        if self.kind == "numbers":
            self.variant = "single" if int(context.get("length", 1)) == 1 else "sequence"
        self._try()

    def _try(self) -> None:
        """Render a first round and one with a past, so a template that names a field it
        is not given fails here, when the agent is reset, not in every decision."""
        try:
            self.render([])
            if self.kind == "matrix" and self.names:
                self.render([(0, len(self.names) - 1)])
            elif self.kind == "numbers" and "low" in self.context:
                self.render([self.context["low"]])
        except (TypeError, KeyError, IndexError, AttributeError) as exc:  # a value's shape
            raise ValueError(f"prompt template {self.game!r}: a key of the wrong kind "
                             f"({type(exc).__name__}: {exc})") from None

    # -- template lookups -------------------------------------------------------------
    def _get(self, key: str, default: Any = None) -> Any:
        for candidate in (f"{key}_{self.variant}" if self.variant else None,
                          f"{key}_{self.role_kind}" if self.role_kind else None, key):
            if candidate and candidate in self.template:
                return self.template[candidate]
        if default is not None:
            return default
        raise ValueError(f"prompt template for {self.game!r} has no key {key!r}")

    def _fill(self, key: str, fields: Mapping[str, Any]) -> str:
        return _format(self.game, key, self._get(key), fields)

    # -- rendering --------------------------------------------------------------------
    def render(self, past: Sequence[Any]) -> str | Messages:
        """Chat messages (chat format) or the transcript text (completion format)."""
        fields = self.fields(past)
        if self.format == "completion":
            return self._fill("completion", fields)
        messages: Messages = []
        system = self._get("system", "")
        if system:
            messages.append({"role": "system",
                             "content": _format(self.game, "system", system, fields)})
        messages.append({"role": "user", "content": self._fill("user", fields)})
        return messages

    def stop(self) -> list[str]:
        """Stop strings for free generation in this format."""
        default = ["\n"] if self.format == "completion" and self.kind != "text" else []
        return list(self._get(f"stop_{self.format}", default) or default)

    def fields(self, past: Sequence[Any]) -> dict[str, Any]:
        """Every field the game's template may use."""
        names = self.names
        fields: dict[str, Any] = {
            "actions": ", ".join(names),
            "actions_or": _join_or(names),
            "rounds": self.context.get("rounds", ""),
            "round": len(past) + 1,
        }
        if self.kind == "text":
            fields.update(prompt=self.context.get("prompt", ""),
                          max_chars=self.context.get("max_chars", ""))
        elif self.kind == "numbers":
            fields.update(self._number_fields(past))
        else:
            fields.update(self._matrix_fields(past))
        return fields

    def _shown(self, past: Sequence[Any]) -> list[tuple[int, Any]]:
        numbered = list(enumerate(past, start=1))
        if self.window is not None:
            numbered = numbered[max(0, len(numbered) - self.window):] if self.window > 0 else []
        return numbered

    def _number_fields(self, past: Sequence[Any]) -> dict[str, Any]:
        ctx = self.context
        shown = self._shown(past)
        fields: dict[str, Any] = {"low": ctx["low"], "high": ctx["high"],
                                  "length": ctx.get("length", 1), "step": len(past) + 1,
                                  "numbers": ", ".join(str(v) for _, v in shown)}
        if self.format == "completion":
            line = self._get("step_completion")
            history = "".join(_format(self.game, "step_completion", line, {"n": n, "number": v})
                              for n, v in shown)
            fields["history"] = history or self._get("no_history_completion", "")
        elif shown:
            fields["history"] = self._fill("step_chat_intro", fields)
        else:
            fields["history"] = self._get("no_history_chat", "")
        return fields

    def _matrix_fields(self, past: Sequence[Any]) -> dict[str, Any]:
        ctx = self.context
        payoff = np.asarray(ctx["payoff"], dtype=float) if "payoff" in ctx else None
        completion = self.format == "completion"
        outcomes = self._outcomes(completion)
        blocks = []
        key = "round_completion" if completion else "round_chat"
        for n, (own, opp) in self._shown(past):
            blocks.append(_format(self.game, key, self._get(key), {
                "n": n, "own": self.names[own], "opponent": self.names[opp],
                "outcome": outcomes[_outcome(payoff, own, opp)]}))
        empty = self._get("no_history_completion" if completion else "no_history_chat", "")
        history = ("" if completion else "\n").join(blocks) if blocks else empty
        score = 0.0 if payoff is None else sum(payoff[o, p] for o, p in past)
        fields: dict[str, Any] = {"history": history, "score": _signed(score),
                                  "rules": _rules(self.names, payoff)}
        if "graph" in ctx:
            radius = int(ctx.get("search_radius", 0))
            fields.update(rooms=_rooms(ctx["graph"]), search_radius=radius, reach=_reach(radius))
        fields["role_text"] = self.template.get(f"role_{self.role_kind}", "")
        fields["role_text_completion"] = self.template.get(f"role_completion_{self.role_kind}", "")
        return fields

    def _outcomes(self, completion: bool) -> Mapping[str, str]:
        keys = ([f"outcomes_completion_{self.role_kind}", "outcomes_completion"] if completion
                else []) + [f"outcomes_{self.role_kind}", "outcomes"]
        for key in keys:
            if key in self.template:
                return self.template[key]
        return {"win": "win", "loss": "loss", "draw": "draw"}


def _outcome(payoff: np.ndarray | None, own: int, opp: int) -> str:
    value = 0.0 if payoff is None else float(payoff[own, opp])
    return "win" if value > 0 else "loss" if value < 0 else "draw"


def _signed(value: float) -> str:
    value = int(value) if float(value).is_integer() else round(float(value), 2)
    return f"+{value}" if value > 0 else str(value)


def _join_or(names: Sequence[str]) -> str:
    if len(names) <= 2:
        return " or ".join(names)
    return ", ".join(names[:-1]) + " or " + names[-1]


def _rules(names: Sequence[str], payoff: np.ndarray | None) -> str:
    if payoff is None:
        return ""
    beats = []
    for i, name in enumerate(names):
        losers = [names[j] for j in range(len(names)) if payoff[i, j] > 0]
        if losers:
            beats.append(f"{name} beats {' and '.join(losers)}")
    return (_capitalise("; ".join(beats)) + ".") if beats else ""


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _rooms(graph: Any) -> str:
    lines = []
    for node in sorted(graph.nodes):
        name = graph.nodes[node].get("name", str(node))
        near = [graph.nodes[m].get("name", str(m)) for m in sorted(graph.neighbors(node))]
        lines.append(f"- {name} (next to: {', '.join(near) or 'nothing'})")
    return "\n".join(lines)


def _reach(radius: int) -> str:
    if radius <= 0:
        return "only the searched room"
    if radius == 1:
        return "the searched room and every room next to it"
    return f"every room within {radius} steps of the searched room"
