"""The prompt codec: everything a language model's text goes through before an engine.

An engine (:mod:`agents.llm.engine`) only runs a model. A codec holds the model's
tokenizer and does the text work, so every engine sees the same prompts and the same
token ids:

- :meth:`TokenizerCodec.prompt` turns what a template rendered into a :class:`Prompt`:
  chat messages through the tokenizer's chat template (with the generation prompt), a
  completion transcript after the BOS the tokenizer would add (written out);
- :meth:`TokenizerCodec.end_of_turn`: the special token that closes an assistant turn;
- :meth:`TokenizerCodec.pairs`: each answer's :class:`Pair` of (context ids, answer
  ids), split by the lm-evaluation-harness rule: context and answer are encoded together
  and split at the encoded context's length. An answer whose encoding merges across
  that boundary keeps the context ids it was encoded with, so its pair's context differs
  from the others' and the engine scores it on its own.

Prompts are raw text with special tokens written out and are encoded without adding
special tokens, so the text ``arena prompt`` prints is exactly what the model reads.

A chat API without a public tokenizer (``tokenizer: none``) gets a
:class:`MessagesCodec`: its prompt is the messages themselves, sent as they are.

:func:`get_codec` shares one codec per tokenizer in a process; codecs are built from
plain options, so an engine in another process can build its own.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Messages = tuple[Mapping[str, str], ...]

_CACHE: dict[str, Any] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Prompt:
    """What a model reads: its ``text`` (special tokens written out; for a chat API the
    messages written as JSON, which is what ``arena prompt`` shows), its token ``ids``
    (``None`` without a tokenizer) and, for a chat API, the ``messages`` sent."""

    text: str
    ids: tuple[int, ...] | None = None
    messages: Messages | None = None


@dataclass(frozen=True)
class Pair:
    """One answer to score: the ids of its context and of the answer, and both as text
    (``prompt``, the text the model reads, and ``reply``; a server that takes text only
    is sent ``text``)."""

    context: tuple[int, ...]
    answer: tuple[int, ...]
    prompt: str
    reply: str

    @property
    def text(self) -> str:
        return self.prompt + self.reply


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """``text`` up to the first of the ``stop`` strings (the whole text if none occurs)."""
    cuts = [text.index(s) for s in stop if s and s in text]
    return text[:min(cuts)] if cuts else text


class TokenizerCodec:
    """A transformers tokenizer as a prompt codec (no weights are ever loaded here)."""

    def __init__(self, *, tokenizer: str, revision: str | None = None,
                 trust_remote_code: bool = False, gguf_file: str | None = None,
                 loaded: Any = None) -> None:
        self.name = tokenizer
        if loaded is None:
            loaded = _load_tokenizer(tokenizer, revision=revision,
                                     trust_remote_code=trust_remote_code, gguf_file=gguf_file)
        self.tokenizer = loaded
        self._lock = threading.RLock()  # fast tokenizers are not safe to share between threads
        self._eot: str | None = None
        self._prefix: str | None = None

    # -- token ids ----------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        """Token ids of raw text; special tokens written in the text are honoured, none added."""
        with self._lock:
            return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def decode(self, tokens: Sequence[int], *, skip_special: bool = True) -> str:
        """Text of token ids (special tokens dropped unless ``skip_special`` is false)."""
        with self._lock:
            return self.tokenizer.decode(list(tokens), skip_special_tokens=skip_special)

    def pairs(self, context: str, answers: Sequence[str]) -> list[Pair]:
        """Each answer after ``context`` as a :class:`Pair` (the lm-evaluation-harness split)."""
        ctx = self.encode(context)
        n = len(ctx)
        out = []
        for answer in answers:
            whole = self.encode(context + answer)
            if n == 0 or len(whole) <= n:
                raise ValueError(f"cannot score {answer!r} after a {n}-token context")
            out.append(Pair(tuple(whole[:n]), tuple(whole[n:]), context, answer))
        return out

    def stop_ids(self) -> set[int]:
        """Tokens that end an answer: the tokenizer's end of sequence and end of turn."""
        ids = {self.tokenizer.eos_token_id}
        eot = self.encode(self.end_of_turn()) if self.tokenizer.chat_template else []
        if len(eot) == 1:
            ids.add(eot[0])
        return {int(i) for i in ids if i is not None}

    def pad_id(self) -> int | None:
        """The tokenizer's padding (else end-of-sequence) token, if it has one."""
        for value in (getattr(self.tokenizer, "pad_token_id", None),
                      getattr(self.tokenizer, "eos_token_id", None)):
            if isinstance(value, int):
                return value
        return None

    # -- text -----------------------------------------------------------------------------
    def prompt(self, rendered: str | Sequence[Mapping[str, str]]) -> Prompt:
        """A rendered template as a :class:`Prompt` (its :meth:`text` and token ids)."""
        return self.text_prompt(self.text(rendered))

    def text(self, rendered: str | Sequence[Mapping[str, str]]) -> str:
        """A rendered template as the model's text: chat messages through the chat
        template, a completion transcript after the tokenizer's BOS."""
        if isinstance(rendered, str):
            return self.completion_prefix() + rendered
        return self.chat_prompt(rendered)

    def text_prompt(self, text: str) -> Prompt:
        """Raw text (special tokens written out) as a :class:`Prompt`."""
        return Prompt(text, tuple(self.encode(text)))

    def chat_prompt(self, messages: Sequence[Mapping[str, str]]) -> str:
        """The chat template's text for ``messages``, with the generation prompt."""
        if not self.tokenizer.chat_template:
            raise ValueError(f"model {self.name!r} has no chat template; "
                             "use prompt_format: completion")
        with self._lock:
            return self.tokenizer.apply_chat_template([dict(m) for m in messages],
                                                      tokenize=False, add_generation_prompt=True)

    def completion_prefix(self) -> str:
        """What the tokenizer adds before plain text (a BOS), written out as text."""
        if self._prefix is None:
            with self._lock:
                with_special = list(self.tokenizer("x")["input_ids"])
                plain = self.encode("x")
                added = len(with_special) - len(plain)
                self._prefix = ("" if added <= 0 or with_special[added:] != plain else
                                self.tokenizer.decode(with_special[:added],
                                                      skip_special_tokens=False))
        return self._prefix

    def end_of_turn(self) -> str:
        """The special token that closes an assistant turn, read off the chat template."""
        if self._eot is None:
            with self._lock:
                self._eot = self._find_end_of_turn()
        return self._eot

    def _find_end_of_turn(self) -> str:
        tok = self.tokenizer
        marker = "ARENA_MARKER_7c1e"
        try:
            text = tok.apply_chat_template(
                [{"role": "user", "content": "hi"}, {"role": "assistant", "content": marker}],
                tokenize=False)
        except Exception:  # noqa: BLE001 -- templates may refuse this conversation: eos
            text = ""
        after = text.split(marker, 1)[1] if marker in text else ""
        specials = sorted({str(t) for t in tok.all_special_tokens}
                          | {str(t) for t in tok.get_added_vocab()}, key=len, reverse=True)
        for special in specials:
            if special and after.startswith(special):
                return special
        if tok.eos_token is None:
            raise ValueError(f"model {self.name!r}: cannot tell its end-of-turn token")
        return str(tok.eos_token)


class MessagesCodec:
    """A chat API's codec (``tokenizer: none``): the server applies the chat template, so a
    prompt is its messages; nothing is tokenized and nothing can be scored."""

    name = "none"

    def prompt(self, rendered: str | Sequence[Mapping[str, str]]) -> Prompt:
        if isinstance(rendered, str):
            raise ValueError("tokenizer: none (a chat API) takes chat prompts only")
        messages = tuple({"role": m["role"], "content": m["content"]} for m in rendered)
        return Prompt(json.dumps(list(messages), ensure_ascii=False, indent=1),
                      messages=messages)

    def text(self, rendered: str | Sequence[Mapping[str, str]]) -> str:
        return self.prompt(rendered).text

    def completion_prefix(self) -> str:
        return ""

    def end_of_turn(self) -> str:
        return ""

    def pairs(self, context: str, answers: Sequence[str]) -> list[Pair]:
        raise ValueError("tokenizer: none (a chat API) cannot score answers; use mode: sample")


def _load_tokenizer(name: str, *, revision: str | None, trust_remote_code: bool,
                    gguf_file: str | None) -> Any:
    """The tokenizer of ``name``; without a reachable hub, from the local cache only, and
    one line naming the offline models when it is not there."""
    from agents.llm import hub, threads

    threads.quiet_waiting()  # transformers imports torch, which reads it when it loads
    why = hub.unreachable(name)
    if why is not None and not hub.cached(name, revision):
        raise hub.not_cached(name, why)  # before transformers is even imported
    from transformers import AutoTokenizer

    options: dict[str, Any] = {"revision": revision, "trust_remote_code": trust_remote_code}
    if gguf_file:
        options["gguf_file"] = gguf_file
    if why is not None:
        options["local_files_only"] = True
    try:
        return AutoTokenizer.from_pretrained(name, **options)
    except OSError:
        if why is None:
            raise
        raise hub.not_cached(name, why) from None


def get_codec(*, tokenizer: str, revision: str | None = None, trust_remote_code: bool = False,
              gguf_file: str | None = None) -> TokenizerCodec | MessagesCodec:
    """The process's shared codec for a tokenizer (``none``: a chat API's)."""
    if tokenizer == "none":
        return MessagesCodec()
    key = json.dumps([tokenizer, revision, bool(trust_remote_code), gguf_file])
    with _LOCK:
        codec = _CACHE.get(key)
        if codec is None:
            codec = _CACHE[key] = TokenizerCodec(
                tokenizer=tokenizer, revision=revision,
                trust_remote_code=bool(trust_remote_code), gguf_file=gguf_file)
        return codec
