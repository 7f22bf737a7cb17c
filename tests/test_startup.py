"""A fast start: `medcite --help` loads the command line only; each command imports the stacks it uses.

Timings are in benchmarks/bench_startup.py and docs/benchmarks.md; here, what is imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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


#: what `medcite ask` (lexical retrieval, terminal view) must not wait for: typer's pydantic adapters (the CLI's
#: str, list[str] and Path parameters are coerced without them), lxml (only markup in a passage needs it), the
#: ingest stack, the embedding stack
ASK_HEAVY = ("typer._adapters", "lxml", "numpy", "onnxruntime", "tokenizers", "fastapi", "uvicorn", "jinja2", "argon2",
             "medcite.web", "medcite.review", "medcite.llm.client", "medcite.index.dense", "medcite.index.embedders",
             "medcite.ingest.base", "medcite.ingest.pipeline", "medcite.ingest.pubmed", "medcite.sync",
             "rich._emoji_codes")  # (the terminal view prints Text, never markup strings)


def test_ask_imports_no_heavy_stack_and_scans_no_pydantic_plugins(tmp_path) -> None:
    from medcite.service import Medcite
    from medcite.settings import Settings

    corpus = Path(__file__).resolve().parent / "fixtures" / "answers" / "corpus.jsonl"
    db = tmp_path / "medcite.db"
    svc = Medcite(Settings(db=db, cache_dir=tmp_path / "cache", progress=False, embedder="none"))
    svc.ingest([corpus])
    svc.close()
    script = SCRIPT.replace('print("MODULES "', 'import pydantic.plugin._loader as pl\n'
                                                 'print("PLUGINS", pl._plugins is None)\nprint("MODULES "')
    proc = subprocess.run([sys.executable, "-c", script, "--db", str(db), "ask",
                           "Should adults take aspirin to prevent heart attacks?"],
                          capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"})
    assert "Bottom line" in proc.stdout, proc.stdout + proc.stderr
    loaded = set(json.loads(next(ln for ln in proc.stdout.splitlines() if ln.startswith("MODULES "))[8:]))
    heavy = sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in ASK_HEAVY))
    assert heavy == []
    assert "PLUGINS True" in proc.stdout  # no entry-point scan for pydantic plugins


def test_plain_parameters_are_coerced_as_typer_would() -> None:
    """The CLI's str / list[str] / Path parameters skip typer's pydantic adapters (medcite.cli.common._PlainParam)
    and give what they give; other types and odd values still go to typer."""
    from typer._coercion import build_runtime_param

    from medcite.cli import app
    from medcite.cli.common import _PlainParam
    import typer.main

    command = typer.main.get_command(app)
    ctx = command.make_context("medcite", ["ask", "x"], resilient_parsing=True)
    seen = 0
    for sub in [command, *command.commands.values()]:
        for param in getattr(sub, "params", []):
            plain = param.get_runtime_param() if hasattr(param, "get_runtime_param") else None
            if not isinstance(plain, _PlainParam) or plain.kind == "other":
                continue
            typer_param = build_runtime_param(param.type_descriptor)
            values = {"str": ["", "x", "naïve text"], "strs": [(), ("a",), ["a", "b"]],
                      "path": ["medcite.db", "-", "/tmp"]}[plain.kind]
            for value in values:
                try:
                    want = typer_param.coerce(value, param=param, ctx=ctx)
                except Exception as exc:  # noqa: BLE001 - the same error, then
                    with pytest.raises(type(exc)):
                        plain.coerce(value, param=param, ctx=ctx)
                    continue
                got = plain.coerce(value, param=param, ctx=ctx)
                assert (type(got), got) == (type(want), want), (sub.name, param.name, value)
                seen += 1
            assert plain.coerce(None, param=param, ctx=ctx) == typer_param.coerce(None, param=param, ctx=ctx)
    assert seen > 20


def test_ask_and_blob_loads_leave_the_garbage_collector_as_they_found_it(tmp_path) -> None:
    """`medcite ask` pauses the cyclic collector while it imports and answers, and so does a marshal blob load;
    both turn it back on, also after an error (CliRunner runs the command in this process)."""
    import gc

    from typer.testing import CliRunner

    from medcite import blobcache
    from medcite.cli import app

    assert gc.isenabled()
    res = CliRunner().invoke(app, ["--db", str(tmp_path / "none.db"), "ask", "Is aspirin safe in pregnancy?"])
    assert res.exit_code != 0 and gc.isenabled()
    bad = tmp_path / "bad.marshal"
    bad.write_bytes(b"\x00not marshal")
    assert blobcache.load(bad) is None and gc.isenabled()
    gc.disable()
    try:
        blobcache.load(bad)
        assert not gc.isenabled()  # left off when it was off
    finally:
        gc.enable()
