"""Print a pip constraints file that pins every direct dependency of the project (its
``dependencies`` and the ``dev`` extra) to the lower bound ``pyproject.toml`` declares.

``make test-lowest`` installs with it, so the suite runs against the oldest versions the
project claims to support (what ``uv pip install --resolution lowest-direct`` does, but
through pip, which also sees the CPU build of torch installed beforehand). torch is left
out: the Makefile installs its CPU build at the floor first (``torch==2.13.0``, the
``+cpu`` build), and a constraint on it would make pip look for the PyPI build. Needs
Python 3.11 (``tomllib``).

    python .ci/lowest_constraints.py [pyproject.toml] > lowest.txt
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib

SKIP = {"torch"}
_FLOOR = re.compile(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*>=\s*([^,;\s]+)")


def floors(pyproject: Path) -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    pins = []
    for requirement in [*project["dependencies"],
                        *project.get("optional-dependencies", {}).get("dev", [])]:
        found = _FLOOR.match(requirement)
        if found is None:
            raise SystemExit(f"{pyproject}: {requirement!r} declares no lower bound (>=)")
        name, version = found.groups()
        if name.lower() not in SKIP:
            pins.append(f"{name}=={version}")
    return pins


if __name__ == "__main__":
    print("\n".join(floors(Path(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml"))))
