"""A fast start: `medcite --help` loads the command line only; each command imports the stacks it uses.

Timings are in benchmarks/bench_startup.py and docs/benchmarks.md; here, what is imported."""

from __future__ import annotations

import json
import subprocess
import sys

#: what `medcite --help` must not wait for: the service and everything behind it
HEAVY = ("medcite.service", "medcite.settings", "medcite.answer", "medcite.review", "medcite.index",
         "medcite.retrieve", "medcite.web", "medcite.ingest", "pydantic_settings", "numpy", "fastapi", "onnxruntime",
         "lxml", "tantivy", "wordfreq", "argon2")

SCRIPT = """
import json, sys
sys.argv = ["medcite", *sys.argv[1:]]
from medcite.cli import main
try:
    main()
except SystemExit:
    pass
print("MODULES " + json.dumps(sorted(sys.modules)))
"""


def _modules(*args: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, timeout=120)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("MODULES "))
    return set(json.loads(line[len("MODULES "):]))


def test_help_imports_no_heavy_stack() -> None:
    for args in (["--help"], ["search", "--help"], ["user", "--help"]):
        loaded = _modules(*args)
        heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY or any(m.startswith(h + ".") or m == h
                                                                          for h in HEAVY))
        assert heavy == [], (args, heavy)


def test_help_texts_list_the_review_roles() -> None:
    from medcite.cli import web
    from medcite.review import ROLES

    assert web.ROLES == ROLES
