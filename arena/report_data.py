"""The data the analysis reads: one or more run directories, merged, plus what the games know.

:func:`load_runs` opens each run (read-only use of :class:`arena.store.Store`), takes every
record with its round log and each agent's config entry (type, options and the tags
``family``, ``aligned``, ``stage`` and ``benchmarks``), and merges them:

* an agent that appears in several runs with the same type, options and tags is one
  agent; with a different type, options or tag (``family: base`` in one run, ``family:
  chat`` in another) it becomes ``<run directory name>/<agent>`` in the runs where it
  differs, so both are shown (agent names cannot contain ``/``, so this cannot clash);
  a tag that one run leaves unset is taken from the run that sets it;
* a game played with the same arguments in every run is one section, keyed by its id;
  otherwise each variant is keyed ``<id> (<run directory name>)``;
* runs with the same config and seed (the same config hash) hold the same matches: each
  match is counted once (a run named twice, too), and :attr:`Loaded.notes` says so;
* with several runs, match keys and groups get the run's position as a prefix
  (``0:``, ``1:``...) and indices are offset, so ratings never pair matches of
  different runs.

:func:`matrix_info` gives a game's action names, each role's payoff matrix and
equilibrium value and, for hide-and-seek, the equilibrium of ``nash()``, from the game's
cached facts (:mod:`arena.game_facts`).
:func:`replay_writing` re-scores the stored answers of a creative-writing series with the
env's own scorer (the components are not stored), in the order they were written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arena.config_model import AGENT_TAGS
from arena.errors import ArenaError


@dataclass
class RunInfo:
    directory: str
    label: str  # the directory's name, used to tell runs apart
    name: str
    created: float
    matches: int


@dataclass
class Section:
    """One game's records across the runs that played it with the same arguments."""

    key: str
    game: str
    args: dict[str, Any]
    runs: list[str] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    draw_probability: float = 0.1


@dataclass
class Loaded:
    runs: list[RunInfo]
    agents: dict[str, dict[str, Any]]  # name -> type, options, the tags, runs
    sections: dict[str, Section]
    notes: list[str] = field(default_factory=list)  # one line each, for the reader


def _rename(record: dict[str, Any], names: dict[str, str]) -> None:
    """Apply ``names`` (old -> new) to every place a record names an agent."""
    def fix(mapping: dict[str, Any]) -> dict[str, Any]:
        return {names.get(k, k): v for k, v in mapping.items()}

    record["agents"] = [names.get(a, a) for a in record["agents"]]
    record["scores"] = fix(record.get("scores") or {})
    record["stats"] = fix(record.get("stats") or {})
    if record.get("forfeited_by") in names:
        record["forfeited_by"] = names[record["forfeited_by"]]
    for entry in record.get("round_log") or ():
        for key in ("actions", "probabilities", "rewards"):
            if key in entry:
                entry[key] = fix(entry[key])
        if "forfeited" in entry:
            entry["forfeited"] = [names.get(a, a) for a in entry["forfeited"]]


def _same_agent(known: dict[str, Any], identity: dict[str, Any],
                tags: dict[str, Any]) -> bool:
    """Whether a run's agent is one already seen: the same type and options, and no tag
    set to another value (a tag one run leaves unset is taken from the other)."""
    if {"type": known["type"], "options": known["options"]} != identity:
        return False
    return all(value is None or known.get(tag) is None or known[tag] == value
               for tag, value in tags.items())


def _labels(directories: list[Path]) -> list[str]:
    labels = [d.resolve().name or str(d) for d in directories]
    return [label if labels.count(label) == 1 else f"{label}#{i + 1}"
            for i, label in enumerate(labels)]


def load_runs(directories: list[str | Path]) -> Loaded:
    """Every record of every run in ``directories``, merged (see the module docstring)."""
    from arena.store import Store

    if not directories:
        raise ArenaError("name at least one run directory")
    paths = list({Path(d).resolve(): Path(d) for d in directories}.values())
    notes = [] if len(paths) == len(directories) else \
        ["a run directory named twice is counted once"]
    same: dict[str, tuple[str, set[str]]] = {}  # config hash -> first run's label, its keys
    runs: list[RunInfo] = []
    agents: dict[str, dict[str, Any]] = {}
    sections: dict[str, Section] = {}
    variants: dict[str, list[dict[str, Any]]] = {}
    offset = 0
    for position, (path, label) in enumerate(zip(paths, _labels(paths), strict=True)):
        with Store.open(path) as store:
            info = store.run_info()
            records = store.results(rounds=True)
        config = info.get("config") or {}
        records = _once(records, config, label, same, notes)
        runs.append(RunInfo(str(path), label, str(info.get("name")), float(info["created"]),
                            len(records)))
        renamed: dict[str, str] = {}
        for entry in config.get("agents") or ():
            name = entry["name"]
            identity = {"type": entry.get("type"), "options": entry.get("options") or {}}
            tags = {tag: entry.get(tag) for tag in AGENT_TAGS}
            known = agents.get(name)
            if known is not None and not _same_agent(known, identity, tags):
                renamed[name] = name = f"{label}/{name}"
            known = agents.setdefault(name, {**identity, **tags, "runs": []})
            for tag, value in tags.items():
                if known.get(tag) is None:
                    known[tag] = value
            known["runs"].append(label)
        rating = config.get("rating") or {}
        games = {g["id"]: g.get("args") or {} for g in config.get("games") or ()}
        top = max((int(r["index"]) for r in records), default=-1)
        for record in records:
            if renamed:
                _rename(record, renamed)
            if len(paths) > 1:
                record["key"] = f"{position}:{record['key']}"
                if record.get("group") is not None:
                    record["group"] = f"{position}:{record['group']}"
            record["index"] = int(record["index"]) + offset
            args = games.get(record["game"], {})
            section = _section(sections, variants, record["game"], args, label)
            section.draw_probability = float(rating.get("draw_probability", 0.1))
            if label not in section.runs:
                section.runs.append(label)
            section.records.append(record)
        offset += top + 1
    return Loaded(runs, agents, sections, notes)


def _once(records: list[dict[str, Any]], config: dict[str, Any], label: str,
          same: dict[str, tuple[str, set[str]]], notes: list[str]) -> list[dict[str, Any]]:
    """``records`` less the matches an earlier run with the same config hash already gave
    (the same config and seed: the same matches, never counted twice)."""
    from arena.export import config_sha256

    first, keys = same.setdefault(config_sha256(config), (label, set()))
    if first != label:
        notes.append(f"{first} and {label} have the same config and seed, so they hold the "
                     "same matches: each is counted once")
    kept = [r for r in records if r["key"] not in keys]
    keys.update(r["key"] for r in kept)
    return kept


def _section(sections: dict[str, Section], variants: dict[str, list[dict[str, Any]]],
             game: str, args: dict[str, Any], label: str) -> Section:
    """The section for ``game`` played with ``args``; a second variant renames both."""
    seen = variants.setdefault(game, [])
    for section in sections.values():
        if section.game == game and section.args == args:
            return section
    seen.append(args)
    if len(seen) == 1:
        key = game
    else:
        first = sections.pop(game, None)
        if first is not None:
            first.key = f"{game} ({first.runs[0]})"
            sections[first.key] = first
        key = f"{game} ({label})"
    sections[key] = Section(key, game, dict(args))
    return sections[key]


def matrix_info(game: str, args: dict[str, Any]) -> dict[str, Any]:
    """Action names, each role's payoff matrix and own equilibrium value, and for
    hide-and-seek the equilibrium strategies and find rate."""
    from arena.game_facts import facts_of
    from envs.zero_sum import equilibrium

    facts = facts_of(game, args)
    roles = list(facts.roles)
    payoffs = {r: facts.payoff(r) for r in roles}
    out: dict[str, Any] = {"action_names": list(facts.action_names), "roles": roles,
                           "payoffs": payoffs,
                           "values": {r: equilibrium(payoffs[r])[1] for r in roles}}
    if facts.nash is not None:
        from leaderboards.analysis_games import equilibrium_find_rate

        hider, seeker, value = facts.nash
        seeker_role = next(r for r in roles if r.startswith("seeker"))
        out["nash"] = {"hider": hider.tolist(), "seeker": seeker.tolist(),
                       "seeker_value": float(value),
                       "find_rate": equilibrium_find_rate(seeker, hider, payoffs[seeker_role])}
        out["seeker_role"] = seeker_role
        out["hider_role"] = next(r for r in roles if r.startswith("hider"))
    return out


def replay_writing(section: Section) -> tuple[list[dict[str, Any]], int]:
    """Every stored answer re-scored (agent, episode, prompt, text, components...) and
    how many scores differ from the stored reward by more than 1e-9."""
    from arena.match import start_episode
    from envs import make_game

    answers: list[dict[str, Any]] = []
    mismatches = 0
    for record in section.records:
        agent = record["agents"][0]
        env = make_game(section.game, **section.args)
        try:
            for entry in record.get("round_log") or ():
                _, context = start_episode(env, section.game, "text", int(record["seed"]),
                                           int(entry.get("episode", 0)))
                text = entry["actions"][agent]
                _, reward, _, _, info = env.step(str(text))
                stored = entry["rewards"].get(agent)
                if stored is not None and abs(float(stored) - float(reward)) > 1e-9:
                    mismatches += 1
                answers.append({"agent": agent, "episode": entry.get("episode", 0),
                                "prompt": context["prompt"], "text": info["text"],
                                "originality": float(info["originality"]),
                                "quality": float(info["quality"]),
                                "penalty": float(info["penalty"]),
                                "components": dict(info["components"]),
                                "reward": stored})
        finally:
            env.close()
    return answers, mismatches
