"""A language model's identity, as a run records it: what exactly was played.

Only files are read, never the weights loaded; a part that cannot be found is left out.
"""

from __future__ import annotations

import functools
import hashlib
import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any


@functools.lru_cache(maxsize=32)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    """A GGUF file is gigabytes: hashed once per process and file state."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_identity(load_options: dict[str, Any]) -> dict[str, Any]:
    """Which model this agent plays with, as the run records it (``runs.models``).

    ``engine`` (``hf``); ``model`` as configured and, for a local directory, its
    absolute ``path``; ``revision`` as configured and the hub ``commit`` the files were
    read from (when the hub cache has them); with ``gguf_file``, the ``sha256`` of that
    file; for a local directory without one, ``files_sha256``: the SHA-256 of its
    ``config.json`` contents and the names and sizes of its weight files (weights are
    not read: a checkpoint is many gigabytes); ``dtype`` as configured and the
    ``config_dtype`` its ``config.json`` names; ``trust_remote_code``; and the
    ``versions`` of torch, transformers, tokenizers (and gguf). Only files are read,
    never the weights loaded; a part that cannot be found is left out.
    """
    import hashlib
    opts = load_options
    model, revision, gguf = str(opts["model"]), opts.get("revision"), opts.get("gguf_file")
    found: dict[str, Any] = {"engine": "hf", "model": model}
    local = Path(model).is_dir()

    def hub_file(name: str) -> Path | None:
        return _hub_file(model, name, revision)

    def sha256(path: Path) -> str:
        state = path.stat()
        return _file_sha256(str(path.resolve()), state.st_size, state.st_mtime_ns)

    if local:
        found["path"] = str(Path(model).resolve())
    found["revision"] = revision
    config = Path(model) / "config.json" if local else hub_file("config.json")
    if not local:
        snapshot = hub_file(gguf) if gguf else config or hub_file("tokenizer_config.json")
        if snapshot is not None and snapshot.parent.parent.name == "snapshots":
            found["commit"] = snapshot.parent.name
    if gguf:
        found["gguf_file"] = gguf
        path = Path(model) / gguf if local else hub_file(gguf)
        try:
            if path is not None:
                found["sha256"] = sha256(path)
        except OSError:
            pass
    elif local:
        weights = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack",
                   ".index.json")
        digest = hashlib.sha256()
        try:
            digest.update(Path(model, "config.json").read_bytes())
            for item in sorted(Path(model).iterdir()):
                if item.is_file() and item.name.endswith(weights):
                    digest.update(f"\n{item.name}\t{item.stat().st_size}".encode())
            found["files_sha256"] = digest.hexdigest()
        except OSError:
            pass
    found["dtype"] = opts.get("dtype")
    try:
        if config is not None and config.is_file():
            data = json.loads(config.read_text(encoding="utf-8"))
            found["config_dtype"] = data.get("torch_dtype") or data.get("dtype")
    except (OSError, ValueError, AttributeError):
        pass
    found["trust_remote_code"] = bool(opts.get("trust_remote_code"))
    found["versions"] = _versions("torch", "transformers", "tokenizers",
                                  *(("gguf",) if gguf else ()))
    return found


def _versions(*packages: str) -> dict[str, str]:
    """The installed version of each of ``packages`` (those not installed left out)."""
    found = {}
    for package in packages:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def _hub_file(repo: str, name: str, revision: str | None = None) -> Path | None:
    """Where the hub cache holds ``name`` of ``repo``, or None (not a hub id, not cached)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        hit = try_to_load_from_cache(repo, name, revision=revision)
    except Exception:  # noqa: BLE001 -- not a hub id, no cache: nothing to record
        return None
    return Path(hit) if isinstance(hit, str) else None


_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                    "chat_template.jinja", "chat_template.json", "tokenizer.model",
                    "vocab.json", "merges.txt", "added_tokens.json")


def tokenizer_identity(tokenizer: str) -> dict[str, Any]:
    """Which tokenizer makes a served model's prompts: the id or path as configured; for
    a local directory its absolute ``path`` and ``files_sha256`` (the SHA-256 of its
    tokenizer files' names and contents); for a hub id the cached ``commit``."""
    found: dict[str, Any] = {"tokenizer": tokenizer}
    folder = Path(tokenizer)
    if folder.is_dir():
        found["path"] = str(folder.resolve())
        digest = hashlib.sha256()
        try:
            for name in _TOKENIZER_FILES:
                if (folder / name).is_file():
                    digest.update(f"\n{name}\n".encode() + (folder / name).read_bytes())
            found["files_sha256"] = digest.hexdigest()
        except OSError:
            pass
        return found
    hit = _hub_file(tokenizer, "tokenizer_config.json")
    if hit is not None and hit.parent.parent.name == "snapshots":
        found["commit"] = hit.parent.name
    return found


def served_identity(engine: str, load_options: dict[str, Any], backend: Any) -> dict[str, Any]:
    """A served model's identity (``engine`` ``openai`` or ``vllm``), as the run records it.

    ``engine``; ``model`` (the served name; for ``vllm`` also what :func:`model_identity`
    reads of the model's files); ``tokenizer`` (:func:`tokenizer_identity`); ``server``:
    for ``openai`` its URL (without credentials), the entry ``/v1/models`` gives for the
    model, the ``version`` from ``/version`` where the server has one, and ``scoring``,
    how it gives prompt log-probabilities (``None``: it cannot, so an agent without a
    ``mode`` samples); for ``vllm`` the Python that runs it, vLLM's version there and the
    server's arguments. The API key is never part of it: only the variable's name.
    Served results can differ from run to run (the server batches as it likes), so this
    record is what says which server produced them.
    """
    found: dict[str, Any] = {"engine": engine, "model": load_options["model"]}
    if engine == "vllm":
        local = model_identity({"model": load_options["model"],
                                "revision": load_options.get("revision"),
                                "dtype": load_options.get("dtype", "auto"),
                                "trust_remote_code": load_options.get("trust_remote_code")})
        found.update({k: v for k, v in local.items() if k not in ("engine", "model")})
    if load_options.get("api_key_env"):
        found["api_key_env"] = load_options["api_key_env"]
    tokenizer = load_options.get("tokenizer") or load_options["model"]
    found["tokenizer"] = tokenizer_identity(str(tokenizer))
    try:
        found["server"] = backend.server_identity()
    except Exception as exc:  # noqa: BLE001 -- what is known stays, the error beside it
        found["server"] = {"error": " ".join(f"{type(exc).__name__}: {exc}".split())[:300]}
    found["versions"] = _versions("transformers", "tokenizers")
    return found


#: what a ``/v1/models`` entry says of a model that the run records ("created" is left
#: out: servers stamp it with the time of the answer)
_SERVED_KEYS = ("id", "owned_by", "root", "parent", "max_model_len")


def listed_model(listed: Any, model: str) -> tuple[dict[str, Any] | None, str | None]:
    """``model``'s entry in a ``/v1/models`` answer (its recorded keys) and what is
    wrong with the list, if anything: entries that are not objects are passed over and
    said, so what the list does tell is kept."""
    entries = listed.get("data") if isinstance(listed, dict) else None
    if not isinstance(entries, list):
        return None, "the server's /v1/models answer holds no list of models"
    objects = [e for e in entries if isinstance(e, dict)]
    entry = next((e for e in objects if e.get("id") == model), None)
    problems = []
    if len(objects) < len(entries):
        problems.append(f"{len(entries) - len(objects)} of its {len(entries)} /v1/models "
                        "entries are not objects")
    if entry is None:
        names = ", ".join(" ".join(str(e.get("id"))[:80].split()) for e in objects[:10])
        problems.append(f"the server lists no model {model!r} (it lists {names or 'none'})")
    kept = None if entry is None else {k: entry[k] for k in _SERVED_KEYS if k in entry}
    return kept, "; ".join(problems) or None
