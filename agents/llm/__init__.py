"""Language-model agents: the ``hf`` agent, its prompts (data), its prompt codec and the
engines that run models (:mod:`agents.llm.engine`).

Importing this package imports nothing else: the registry imports ``agent.py`` (which
registers ``hf``) like any other module here, and ``HFAgent`` is loaded on first access.
So an engine module (``agents.llm.hf_engine``) can be used on its own, on a machine
with only torch and transformers, and ``arena --help`` stays fast.
"""

from __future__ import annotations

from typing import Any

__all__ = ["HFAgent", "InvalidAnswer"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from agents.llm import agent

        return getattr(agent, name)
    raise AttributeError(f"module 'agents.llm' has no attribute {name!r}")
