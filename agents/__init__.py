"""Built-in agents: one module per agent family, each registered with ``@register_agent``.

Modules here are imported on the first registry lookup, so a new agent is one new
file with one decorator. Nothing heavy (torch, transformers) may be imported at
module level: ``agents/llm`` imports those only when a model is built.
"""
