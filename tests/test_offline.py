"""Nothing phones home: a full ingest → embed → ask run in a fresh process writes nothing under ~/.cache/Microsoft
(ONNX Runtime's telemetry store and device id) and opens no socket to a non-loopback address.

The run is a subprocess so that ONNX Runtime initialises in it for the first time, with HOME pointing into
tmp_path and without the variables that would switch telemetry off for us (CI, ORT_*).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"

SCRIPT = r"""
import ipaddress, json, socket, sys

attempts = []
_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex


def _guard(sock, address):
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return  # unix sockets, socketpairs
    host = str(address[0]).split("%")[0]
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        attempts.append(repr(address))
        raise OSError(f"test: medcite tried to connect to {address!r}")


def connect(self, address):
    _guard(self, address)
    return _connect(self, address)


def connect_ex(self, address):
    _guard(self, address)
    return _connect_ex(self, address)


socket.socket.connect, socket.socket.connect_ex = connect, connect_ex

from typer.testing import CliRunner
from medcite.cli import app

db, corpus = sys.argv[1], sys.argv[2]
runs = []
for args in (["ingest", corpus, "--no-embed"], ["embed"],
             ["ask", "At what age should colorectal cancer screening start?", "--json"]):
    res = CliRunner().invoke(app, ["--db", db, *args])
    runs.append({"args": args, "exit_code": res.exit_code, "output": res.output[-800:],
                 "exception": repr(res.exception) if res.exit_code else None})
print("RESULT " + json.dumps({"attempts": attempts, "runs": runs}))
"""


def test_ingest_embed_ask_writes_no_telemetry_and_opens_no_outside_socket(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from medcite.index.embedders import find_source
    from medcite.errors import EmbeddingError

    try:
        find_source()
    except EmbeddingError as exc:
        pytest.skip(f"the embedding model is not installed: {exc}")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k != "CI" and not k.startswith(("ORT_", "MEDCITE_", "XDG_"))}
    env["HOME"] = str(home)
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "medcite.db"),
                           str(FIXTURES / "answers" / "corpus.jsonl")],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(lines[-1][len("RESULT "):])
    for run in result["runs"]:
        assert run["exit_code"] == 0, run
    assert "embedded" in result["runs"][1]["output"]  # the dense index was built: ONNX Runtime ran
    assert result["attempts"] == []
    assert (home / ".cache" / "medcite").is_dir()  # the run did use this HOME (the prepared model lives there)
    assert not (home / ".cache" / "Microsoft").exists(), sorted(
        str(p.relative_to(home)) for p in (home / ".cache" / "Microsoft").rglob("*"))
