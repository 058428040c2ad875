"""Which of the language-model agent's options each engine takes, and what it is built from.

The agent has one flat list of options (a config names them side by side); each engine
reads only some. An option given for the wrong engine is a config error naming both,
not an option silently ignored: ``device_map`` means nothing to a server, and
``base_url`` nothing to transformers.
"""

from __future__ import annotations

from typing import Any

from agents.llm.offline_models import resolve_model

#: agent option -> the engines that read it (``model`` is everyone's)
ENGINE_OF: dict[str, tuple[str, ...]] = {
    "revision": ("hf", "vllm"),
    "dtype": ("hf", "vllm"),
    "device_map": ("hf",),
    "gguf_file": ("hf",),
    "trust_remote_code": ("hf", "vllm"),
    "base_url": ("openai",),
    "api_key_env": ("openai",),
    "tokenizer": ("openai", "vllm"),
    "max_in_flight": ("openai", "vllm"),
    "request_timeout": ("openai", "vllm"),
    "request_retries": ("openai", "vllm"),
    "unreachable_after": ("openai", "vllm"),
    "vllm_python": ("vllm",),
    "max_model_len": ("vllm",),
    "enforce_eager": ("vllm",),
    "server_args": ("vllm",),
    "startup_timeout": ("vllm",),
}
#: agent option -> the backend's keyword, where they differ (the agent's own ``retries``
#: counts unreadable answers)
_BACKEND_NAME = {"request_retries": "retries"}
ENGINE_NAMES = ("hf", "openai", "vllm")


def engine_options(engine: str, model: str, given: dict[str, Any]) -> dict[str, Any]:
    """The options ``engine``'s backend is built from, given the agent's (``None`` =
    not set). Raises ``ValueError`` for an unknown engine, an option of another engine or
    a missing ``base_url``."""
    if engine not in ENGINE_NAMES:
        raise ValueError(f"engine must be one of {', '.join(ENGINE_NAMES)}, not {engine!r}")
    for option, value in given.items():
        engines = ENGINE_OF[option]
        if value is not None and engine not in engines:
            raise ValueError(f"option {option!r} is for engine {' or '.join(engines)}, "
                             f"not {engine}")
    if engine == "hf":  # the record of an hf model keeps every key, set or not
        return {"model": resolve_model(model), "revision": given.get("revision"),
                "dtype": given.get("dtype") or "auto", "device_map": given.get("device_map"),
                "gguf_file": given.get("gguf_file"),
                "trust_remote_code": bool(given.get("trust_remote_code"))}
    if engine == "openai" and not given.get("base_url"):
        raise ValueError("engine openai needs option 'base_url' (the server's OpenAI base "
                         "URL, such as http://host:8000/v1)")
    options: dict[str, Any] = {
        "model": model if engine == "openai" else resolve_model(model)}  # a served name
    for option, value in given.items():
        if value is None or engine not in ENGINE_OF[option]:
            continue
        if option == "tokenizer":
            value = value if value == "none" else resolve_model(value)
        elif option == "server_args":
            if isinstance(value, str) or not isinstance(value, (list, tuple)):
                raise ValueError("server_args must be a list of command-line words, e.g. "
                                 "['--tensor-parallel-size', '4']")
            value = [str(v) for v in value]
        options[_BACKEND_NAME.get(option, option)] = value
    return options
