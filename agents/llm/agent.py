"""The ``hf`` agent (also ``llm``): a language model playing, base or aligned.

The model runs on an ``engine``: ``hf`` (transformers, in this process), ``openai`` (any
OpenAI-compatible server: vLLM, SGLang, TGI, llama.cpp, a hosted API) or ``vllm`` (a
vLLM server the arena starts itself); the options each engine reads are listed on the
class. The agent's prompt codec (:mod:`agents.llm.codec`: the model's tokenizer and chat
template) makes every prompt and token id, whichever engine runs the model, so prompts
and distributions are the ``hf`` engine's everywhere.

Two ways to choose a move:

``mode: distribution`` (exact)
    Every legal action is scored as a *complete* answer in one batched forward pass:
    chat models score the name exactly as the prompt lists it followed by the
    tokenizer's end-of-turn token (``rock<|im_end|>``); base models score
    ``" " + name + "\\n"``. So "1" never collects the probability of "10". The
    legal log-probs, divided by ``temperature`` and renormalised, are the agent's
    ``policy``; the action is drawn from it with the agent's seeded RNG, so the model
    is asked once per decision. The mass outside the legal
    answers (1 minus their summed probability, before renormalising) is recorded
    per decision and reported as ``off_mass``.
``mode: sample``
    The model writes an answer; a tolerant parser reads a legal name or number from
    it. An unreadable answer is retried up to ``retries`` times, then counted as
    invalid (raw text kept in ``invalid_answers``) and ``fallback`` applies:
    ``uniform`` plays a uniformly random legal move, ``forfeit`` gives up the round
    (raises :class:`InvalidAnswer`, an :class:`arena.agent.RoundForfeit` quoting the
    raw text): the engine plays this agent's worst move for that round (in writing,
    the empty text) and the match goes on. ``policy`` is ``None`` in this mode.

Creative writing always samples, with ``max_new_tokens`` and the template's stop strings.
``stats()`` reports counts of ``decisions`` and ``invalid`` answers and, when measured,
``off_mass`` summed over decisions (the leaderboard divides both by ``decisions``), plus
``invalid_answers``, the raw text of every unreadable answer, which the match record keeps.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from agents.llm import options as table
from agents.llm.codec import Prompt, cut_at_stop, get_codec
from agents.llm.engine import Engine, Session, engine_key, get_engine
from agents.llm.parse import parse_choice
from agents.llm.prompts import Prompter, available_templates, load_template
from arena.agent import BaseAgent, Decision, RoundForfeit, normalised
from arena.registry import register_agent

_CHOICE_TOKENS = 16
_WRITING_TOKENS = 200


class InvalidAnswer(RoundForfeit):
    """The model gave no legal answer after every retry and the fall-back is ``forfeit``:
    this round is given up, not the match."""


@register_agent("llm")
@register_agent("hf")
class HFAgent(BaseAgent):
    """A language model (transformers, vLLM or an OpenAI-compatible server) playing from its exact move distribution.

    Registered as ``hf`` and as ``llm``: one agent. Its options are keyword-only and
    declared once, in :mod:`agents.llm.options` (listed below); the engines that read an
    option follow it in brackets, and an option given for another engine is a config error.
    """

    match_timeout = None  # minutes per match on a CPU is normal: no default limit
    isolate = False  # every match shares one loaded model: play in the run's own process

    def __init__(self, *, name: str | None = None, **options: Any) -> None:
        unknown = sorted(set(options) - set(table.BY_NAME))
        if unknown:
            raise TypeError(f"unexpected option {unknown[0]!r}")
        opts = {o.name: options.get(o.name, o.default) for o in table.OPTIONS}
        model, engine, mode = opts["model"], opts["engine"], opts["mode"]
        prompt_format, fallback = opts["prompt_format"], opts["fallback"]
        temperature, history = opts["temperature"], opts["history"]
        retries, max_new_tokens, templates = (opts["retries"], opts["max_new_tokens"],
                                              opts["templates"])
        if not model:
            raise ValueError("option 'model' is required (a hub id or a local path)")
        if prompt_format not in ("chat", "completion"):
            raise ValueError(f"prompt_format must be 'chat' or 'completion', not {prompt_format!r}")
        if mode not in (None, "distribution", "sample"):
            raise ValueError(f"mode must be 'distribution' or 'sample', not {mode!r}")
        if fallback not in ("uniform", "forfeit"):
            raise ValueError(f"fallback must be 'uniform' or 'forfeit', not {fallback!r}")
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, not {temperature}")
        if history is not None and history < 0:
            raise ValueError(f"history must be a number of rounds >= 0 or null, not {history}")
        if retries < 0 or (max_new_tokens is not None and max_new_tokens < 1):
            raise ValueError("retries must be >= 0 and max_new_tokens >= 1")
        if templates is not None and not isinstance(templates, Mapping):
            raise ValueError("templates must map a game id to template keys (or a YAML path)")
        super().__init__(name=name or "hf")
        self.engine_name = engine
        # what the engine is built from (plain data); offline:<name> becomes its
        # converted folder (converted on first use)
        self.load_options: dict[str, Any] = table.engine_options(
            engine, model, {k: opts[k] for k in table.ENGINE_OPTIONS})
        if opts["tokenizer"] == "none" and (mode == "distribution" or prompt_format != "chat"):
            raise ValueError("tokenizer: none (a chat API, sent messages) plays only in "
                             "mode: sample with prompt_format: chat")
        self.prompt_format = prompt_format
        self.requested_mode = mode
        # the hf engine always scores; whether a server can is known on its first use
        self._mode: str | None = mode or ("distribution" if engine == "hf" else None)
        self.temperature = float(temperature)
        self.history = history
        self.max_new_tokens = max_new_tokens
        self.retries = retries
        self.fallback = fallback
        # overrides read (a YAML path) and checked once, here: a bad one is a config error,
        # not a forfeit
        self.templates = {game: load_template(game, override)
                          for game, override in (templates or {}).items()}
        self.invalid_answers: list[dict[str, Any]] = []
        self.off_mass: list[float] = []
        self._earlier_decisions = 0  # in earlier episodes of a solo series
        self._prompter: Prompter | None = None
        self._past: list[Any] = []
        self._session: Session | None = None
        # the tokenizer now (shared, cheap after the first agent), the weights on first use:
        # a wrong model id or path is reported when the config is checked, not mid-run
        self.codec = get_codec(**table.codec_options(engine, self.load_options))
        self.engine: Engine = get_engine(engine, self.load_options, placement={
            "gpus": opts["gpus"], "replicas": opts["replicas"]})

    @classmethod
    def resident_models(cls, options: Mapping[str, Any]) -> list[str]:
        """The model an agent with ``options`` loads into the run's memory, by the key the
        run's model pool counts it under (:mod:`arena.model_pool`); a served engine's
        model lives in its server, not here."""
        if options.get("engine", "hf") != "hf" or not options.get("model"):
            return []
        given = {key: options.get(key) for key in table.ENGINE_OPTIONS}
        return [engine_key("hf", table.engine_options("hf", options["model"], given))]

    # -- lifecycle --------------------------------------------------------------------
    @property
    def mode(self) -> str:
        """``distribution`` or ``sample``: as configured; unset, distribution where the
        engine can score (a server is asked on first use, and one that cannot says so)."""
        if self._mode is None:
            can_score = self.engine.capabilities().scoring is not None
            self._mode = "distribution" if can_score else "sample"
        return self._mode

    @property
    def session(self) -> Session:
        """This match's view of the model (its prompt cache, where the engine keeps one)."""
        if self._session is None:
            self._session = self.engine.session()
        return self._session

    def close(self) -> None:
        """The match is over: free its prompt cache."""
        if self._session is not None:
            self._session.close()
            self._session = None

    @classmethod
    def can_play(cls, game: Any) -> bool:
        """Any game that ships a prompt template (``agents/llm/templates/<game>.yaml``)."""
        return game.id in available_templates()

    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        self._earlier_decisions += self.decisions_made
        super().reset(seed=seed, **context)
        self._prompter = Prompter(context, prompt_format=self.prompt_format,
                                  templates=self.templates, history=self.history)
        self._past = []

    def identity(self) -> dict[str, Any]:
        """Which model this agent plays with, as the run records it (``runs.models``;
        see :mod:`agents.llm.identity`)."""
        return self.engine.identity()

    @property
    def decisions(self) -> int:
        """Decisions over this agent's whole match or series."""
        return self._earlier_decisions + self.decisions_made

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {"decisions": float(self.decisions),
                               "invalid": float(len(self.invalid_answers))}
        if self.off_mass:
            out["off_mass"] = float(np.sum(self.off_mass))
        if self.invalid_answers:  # stored with the match, so the raw text outlives the run
            out["invalid_answers"] = [t for a in self.invalid_answers for t in a["texts"]]
        return out

    # -- prompts ----------------------------------------------------------------------
    @property
    def prompter(self) -> Prompter:
        if self._prompter is None:
            raise RuntimeError(f"agent {self.name!r}: reset() must come before a decision")
        return self._prompter

    def prompt(self, past: list[Any] | None = None) -> Prompt:
        """What the model reads after ``past`` rounds (default: the rounds seen so far)."""
        return self.codec.prompt(self.prompter.render(self._past if past is None else past))

    def prompt_text(self, past: list[Any] | None = None) -> str:
        """The raw text the model sees after ``past`` rounds (special tokens written out;
        for a chat API its messages as JSON)."""
        return self.codec.text(self.prompter.render(self._past if past is None else past))

    def continuation(self, name: str) -> str:
        """The exact text scored for one action: a complete answer, never a prefix."""
        if self.prompt_format == "chat":
            return name + self.codec.end_of_turn()
        return " " + name + "\n"

    # -- decisions --------------------------------------------------------------------
    def choose(self, observation: Any, action_space: Any) -> Decision:
        """One decision, returned whole: the action drawn from the exact distribution
        (distribution mode), or read from what the model wrote (sample mode, writing)."""
        self._observe(observation)
        if self.prompter.kind == "text":
            return Decision(self._write(), None)
        start = self._start(action_space)
        if self.mode == "distribution":
            probs = normalised(self._distribution())
            return Decision(start + int(self.rng.choice(len(probs), p=probs)), probs)
        return Decision(start + self._sample_choice(), None)

    def _start(self, action_space: Any) -> int:
        """The action of index 0: random numbers use Discrete(start=low), so the action is
        the number itself (``low`` from the context when no space is given)."""
        start = getattr(action_space, "start", None)
        if start is None:
            start = self.context.get("low", 0) if self.prompter.kind == "numbers" else 0
        return int(start)

    def _observe(self, observation: Any) -> None:
        step = self.decisions_made
        kind = self.prompter.kind
        if kind == "text" or observation is None:
            return
        obs = np.asarray(observation)
        if step == 0 or obs.shape[0] < step:
            return
        # only the newest entry is new to us: O(1) per round
        if kind == "matrix":
            own, opp = (int(v) for v in obs[step - 1][:2])
            if own >= 0 and opp >= 0:
                self._past.append((own, opp))
        else:
            self._past.append(int(obs[step - 1]))

    def _distribution(self) -> np.ndarray:
        names = self.prompter.names
        pairs = self.codec.pairs(self.prompt_text(), [self.continuation(n) for n in names])
        logprobs = self.session.score(pairs)
        self.off_mass.append(max(0.0, 1.0 - float(np.exp(logprobs).sum())))
        return tempered(logprobs, self.temperature)

    def _seed(self) -> int:
        return int(self.rng.integers(2**63 - 1))

    def _tries(self, tokens: int) -> Iterator[str]:
        """One sampled answer per try, up to ``retries + 1``, cut at the first stop string;
        the prompt is rendered once."""
        prompt, stop = self.prompt(), self.prompter.stop()
        for _ in range(self.retries + 1):
            text = self.session.generate(prompt, max_new_tokens=tokens, stop=stop,
                                         temperature=self.temperature, seed=self._seed())
            yield cut_at_stop(text, stop)

    def _sample_choice(self) -> int:
        names = self.prompter.names
        texts = []
        for text in self._tries(self.max_new_tokens or _CHOICE_TOKENS):
            index = parse_choice(text, names)
            if index is not None:
                return index
            texts.append(text)
        return self._invalid_answer(texts, lambda: int(self.rng.integers(len(names))))

    def _write(self) -> str:
        limit = int(self.context.get("max_chars") or 0)
        texts = []
        for text in self._tries(self.max_new_tokens or _WRITING_TOKENS):
            text = text.strip()
            text = text[:limit] if limit else text
            if text:
                return text
            texts.append(text)
        return self._invalid_answer(texts, lambda: "")

    def _invalid_answer(self, texts: list[str], uniform: Any) -> Any:
        self.invalid_answers.append({"decision": self.decisions + 1, "texts": texts})
        if self.fallback == "forfeit":
            raise InvalidAnswer(f"agent {self.name!r} gave no legal answer in "
                                f"{len(texts)} tries; last answer: {texts[-1]!r}")
        return uniform()


HFAgent.__signature__ = table.signature()  # type: ignore[attr-defined]
HFAgent.__doc__ = (HFAgent.__doc__ or "") + "\n" + table.docs()


def tempered(logprobs: np.ndarray, temperature: float) -> np.ndarray:
    """Renormalised distribution over the legal actions after temperature (0 = argmax)."""
    logprobs = np.asarray(logprobs, dtype=np.float64)
    if temperature <= 0:
        probs = np.zeros_like(logprobs)
        probs[int(np.argmax(logprobs))] = 1.0
        return probs
    z = logprobs / temperature
    z = np.exp(z - z.max())
    return z / z.sum()
