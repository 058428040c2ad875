"""The language-model agent's options, declared once: this table is what the agent's
signature, its documentation, ``arena agents`` and the config checks read.

The agent has one flat list of options (a config names them side by side). Each
option either shapes the agent's play (``engines`` empty: every engine) or is read by
some engines only, and an option given for the wrong engine is a config error naming
both, not an option silently ignored: ``device_map`` means nothing to a server, and
``base_url`` nothing to transformers. :func:`engine_options` turns the agent's options
into the plain, picklable options its engine is built from (:func:`agents.llm.engine.make_engine`).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from agents.llm.offline_models import resolve_model

ENGINE_NAMES = ("hf", "openai", "vllm")


@dataclass(frozen=True)
class Option:
    """One agent option: its default, its type as written in the signature, the engines
    that read it (empty: the agent's own), its engine keyword if another, and its doc."""

    name: str
    default: Any
    annotation: str
    doc: str
    engines: tuple[str, ...] = ()
    engine_name: str | None = None


_SERVED = ("openai", "vllm")
OPTIONS: tuple[Option, ...] = (
    Option("model", None, "str | None", "hub id, local path or ``offline:<name>`` (required; "
           "see :mod:`agents.llm.offline_models`); for ``openai`` the served name"),
    Option("engine", "hf", "str", "``hf`` (transformers in this process; the default), "
           "``openai`` (a server elsewhere) or ``vllm`` (a vLLM server the arena starts)"),
    Option("revision", None, "str | None", "hub revision (branch, tag or commit)",
           ("hf", "vllm")),
    Option("dtype", None, "str | None", "``auto``, ``float32``, ``bfloat16``, ``float16``",
           ("hf", "vllm")),
    Option("device_map", None, "str | dict[str, Any] | None",
           "passed to accelerate, e.g. ``auto`` to spread over every GPU", ("hf",)),
    Option("gguf_file", None, "str | None", "load from this GGUF file inside ``model``",
           ("hf",)),
    Option("trust_remote_code", None, "bool | None",
           "allow the model's own code from the hub (default false)", ("hf", "vllm")),
    Option("threads", None, "int | None",
           "torch threads for this model's forwards (default: the cores this process may "
           "use, shared among the models running at once; see :mod:`agents.llm.threads`)",
           ("hf",)),
    Option("gpus", None, "float | None", "on a Ray cluster (``arena run --ray``): GPUs each "
           "replica of the model takes (default 1 where the cluster has GPUs); more than one "
           "spreads it with ``device_map: auto``, on one node", ("hf",)),
    Option("replicas", None, "int | None", "on a Ray cluster: copies of the model, each "
           "with its own batcher; a match stays with one (default 1)", ("hf",)),
    Option("base_url", None, "str | None",
           "the server's OpenAI base URL, e.g. ``http://host:8000/v1``", ("openai",)),
    Option("api_key_env", None, "str | None", "the environment variable that holds the API "
           "key; the key itself is never in a config, a record or a log", ("openai",)),
    Option("tokenizer", None, "str | None", "hub id or path of the model's tokenizer, default "
           "``model``: prompts and token ids are made here, as for the hf engine; ``none`` "
           "for a chat API (sampled with messages)", _SERVED),
    Option("max_in_flight", None, "int | None",
           "requests to the server at once, per engine (default 16)", _SERVED),
    Option("request_timeout", None, "float | None",
           "seconds one request may take (default 300)", _SERVED),
    Option("request_retries", None, "int | None", "retries after a 429, a 5xx or a timeout "
           "(default 3); then the round is forfeited", _SERVED, "retries"),
    Option("unreachable_after", None, "float | None", "seconds a server may stay unreachable "
           "before the run stops, its matches unfinished for ``--resume`` (default 60)",
           _SERVED),
    Option("scoring", None, "str | None", "how a server scores: ``auto`` (the best it offers, "
           "found by a probe), ``branches`` (every token after a prefix in one request on the "
           "cached prompt), ``cached`` (one answer token a request), "
           "``prompt_logprobs``, ``echo`` or ``echo_text``", _SERVED),
    Option("vllm_python", None, "str | None", "the Python that runs vLLM (see "
           ":mod:`agents.llm.vllm_engine`)", ("vllm",)),
    Option("max_model_len", None, "int | None", "the managed server's context length",
           ("vllm",)),
    Option("enforce_eager", None, "bool | None", "no CUDA graphs (default true)", ("vllm",)),
    Option("server_args", None, "list[str] | None", "more command-line words for the server",
           ("vllm",)),
    Option("startup_timeout", None, "float | None", "seconds the server may take to start",
           ("vllm",)),
    Option("prompt_format", "chat", "str",
           "``chat`` (the tokenizer's chat template) or ``completion``"),
    Option("mode", None, "str | None", "``distribution`` (exact scoring) or ``sample`` "
           "(generate, parse); unset: distribution, or sample (said at start-up) on a server "
           "that gives no prompt log-probabilities"),
    Option("temperature", 1.0, "float", "applied to the legal log-probs, or to sampling; "
           "0 = argmax"),
    Option("history", None, "int | None", "how many past rounds the prompt shows; null = all"),
    Option("max_new_tokens", None, "int | None",
           "generation budget (default 16 for a move, 200 for writing)"),
    Option("retries", 2, "int", "extra tries after an unreadable answer (sample mode)"),
    Option("fallback", "uniform", "str",
           "after the last try: ``uniform`` move or ``forfeit`` the round"),
    Option("templates", None, "Mapping[str, Any] | None",
           "per-game template overrides: ``{game: {key: text}}`` (or a YAML path)"),
)
BY_NAME = {o.name: o for o in OPTIONS}
#: options read by engines (the rest shape the agent's play)
ENGINE_OPTIONS = tuple(o.name for o in OPTIONS if o.engines)


def signature() -> inspect.Signature:
    """The agent's signature: ``name`` and every option, keyword-only with its default."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter("name", keyword, default=None, annotation="str | None")]
    params += [inspect.Parameter(o.name, keyword, default=o.default, annotation=o.annotation)
               for o in OPTIONS]
    return inspect.Signature(params, return_annotation=None)


def docs() -> str:
    """The options as a reST list (appended to the agent's docstring)."""
    lines = []
    for o in OPTIONS:
        where = f" [{', '.join(o.engines)}]" if o.engines else ""
        lines.append(f"``{o.name}``\n    {o.doc}{where}")
    return "\n".join(lines)


def engine_options(engine: str, model: str, given: dict[str, Any]) -> dict[str, Any]:
    """The options ``engine`` is built from, given the agent's engine options (``None`` =
    not set). Raises ``ValueError`` for an unknown engine, an option of another engine or
    a missing ``base_url``."""
    if engine not in ENGINE_NAMES:
        raise ValueError(f"engine must be one of {', '.join(ENGINE_NAMES)}, not {engine!r}")
    for name, value in given.items():
        engines = BY_NAME[name].engines
        if value is not None and engine not in engines:
            raise ValueError(f"option {name!r} is for engine {' or '.join(engines)}, "
                             f"not {engine}")
    if engine == "hf":  # the record of an hf model keeps every key, set or not
        options = {"model": resolve_model(model), "revision": given.get("revision"),
                   "dtype": given.get("dtype") or "auto", "device_map": given.get("device_map"),
                   "gguf_file": given.get("gguf_file"),
                   "trust_remote_code": bool(given.get("trust_remote_code"))}
        if given.get("threads") is not None:
            threads = given["threads"]
            if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
                raise ValueError(f"threads must be a whole number >= 1, not {threads!r}")
            options["threads"] = threads
        return options
    if engine == "openai" and not given.get("base_url"):
        raise ValueError("engine openai needs option 'base_url' (the server's OpenAI base "
                         "URL, such as http://host:8000/v1)")
    options = {"model": model if engine == "openai" else resolve_model(model)}  # a served name
    for name, value in given.items():
        if value is None or engine not in BY_NAME[name].engines:
            continue
        if name == "tokenizer":
            value = value if value == "none" else resolve_model(value)
        elif name == "server_args":
            if isinstance(value, str) or not isinstance(value, (list, tuple)):
                raise ValueError("server_args must be a list of command-line words, e.g. "
                                 "['--tensor-parallel-size', '4']")
            value = [str(v) for v in value]
        options[BY_NAME[name].engine_name or name] = value
    return options


def codec_options(engine: str, options: dict[str, Any]) -> dict[str, Any]:
    """What the engine's prompt codec (:func:`agents.llm.codec.get_codec`) is built from:
    the tokenizer of the model (or the ``tokenizer`` option of a served engine)."""
    if engine == "hf":
        return {"tokenizer": options["model"], "revision": options.get("revision"),
                "trust_remote_code": bool(options.get("trust_remote_code")),
                "gguf_file": options.get("gguf_file")}
    found: dict[str, Any] = {"tokenizer": options.get("tokenizer") or options["model"]}
    if engine == "vllm":
        found.update(revision=options.get("revision"),
                     trust_remote_code=bool(options.get("trust_remote_code")))
    return found
