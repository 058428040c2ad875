"""Seeds: every match seed is a hash of the config seed and the match key.

So a match's outcome does not depend on when, or next to what, it is played; agents and
envs get seeds derived from the match seed and nothing else.
"""

from __future__ import annotations

import hashlib


def derive_seed(seed: int, key: str) -> int:
    """A 63-bit seed from the config seed and a key (stable across runs and platforms)."""
    digest = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def series_seed(seed: int, game_id: str) -> int:
    """The seed of every agent's series in a solo task: all agents see the same episodes."""
    return derive_seed(seed, f"{game_id}/episodes")
