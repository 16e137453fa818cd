"""Print pyproject.toml's runtime dependencies pinned to their lower bounds (``name==low``).

.ci/run installs profond with these as pip constraints, so the declared minimums are tested;
the dev tools (pytest, ...) resolve freely within their own ranges.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib

project = tomllib.loads(Path(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml").read_text())[
    "project"
]
# Starlette's TestClient is tied to the httpx of its time: the tests' httpx is pinned low too.
TIED_DEV_TOOLS = ("httpx",)
requirements = project["dependencies"] + [
    r for r in project["optional-dependencies"]["dev"] if r.split(">")[0] in TIED_DEV_TOOLS
]
for requirement in requirements:
    match = re.match(r"^([A-Za-z0-9_.\-\[\]]+)\s*(.*)$", requirement)
    name, spec = match.group(1), match.group(2)
    low = re.search(r">=\s*([0-9][^,\s]*)", spec)
    if low:
        print(f"{name.split('[')[0]}=={low.group(1)}")
