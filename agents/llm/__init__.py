"""Language-model agents: the ``hf`` agent, its prompts (data) and model backends.

Importing this package registers ``hf`` and imports neither torch nor transformers:
only building a backend does (see :mod:`agents.llm.backend`), so ``arena --help`` and
``arena agents`` stay fast.
"""

from agents.llm.agent import HFAgent, InvalidAnswer

__all__ = ["HFAgent", "InvalidAnswer"]
