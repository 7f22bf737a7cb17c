"""Schemathesis against the JSON API, every check, anonymous and with an API token (docs/benchmarks.md).

    .venv/bin/python benchmarks/run_schemathesis.py [--max-examples 100] [--seed 1] [--phases examples,coverage,fuzzing,stateful]

It ingests the small web test corpus (tests/fixtures/web) into a temporary store, creates an admin and an editor
with API tokens and one published article, starts ``medcite serve``'s server (uvicorn with medcite's protocol and
options) on a free loopback port in a thread, and runs ``st run …/api/v1/openapi.json --checks all`` twice: with no
credentials, then with ``Authorization: Bearer <admin token>``. The ask rate limit is off (every request comes from
127.0.0.1), everything else is as served. It prints one JSON object (cases run and failures per run, from the
schemathesis NDJSON event stream) and exits non-zero when a run has failures; each run's report (JUnit XML and
the event stream) is kept under ``benchmarks/out/schemathesis/``. Needs the dev extra (``pip install -e '.[dev]'``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
OUT = ROOT / "benchmarks" / "out" / "schemathesis"


def start_server(root: Path) -> tuple[Any, threading.Thread, str, dict[str, str]]:
    from medcite.settings import Settings
    from medcite.web import server_options
    from web_fixtures import QUESTION, build_env, serve_in_thread  # noqa: E402

    env = build_env(root, ask_rate_per_minute=0)
    art = env.submitted(QUESTION, "ed")  # one article of each kind of state the anonymous run can see
    board = env.svc.editorial
    art = board.take(art.id, env.users["rita"])
    board.approve(art.id, env.users["rob"], art.version, "")
    server, thread, base = serve_in_thread(env.app, wait_s=30, log_level="error", **server_options(Settings()))
    return server, thread, base, env.tokens


def count(output: str) -> dict[str, int]:
    """Cases generated and failures, from the closing lines of ``st run``."""
    import re

    generated = re.search(r"(\d+) generated", output)
    failures = sum(int(n) for n in re.findall(r"❌ ST\d+ [^:\n]*: (\d+)", output))
    return {"cases": int(generated.group(1)) if generated else 0, "failures": failures}


def run(base: str, name: str, headers: list[str], args: argparse.Namespace) -> dict[str, Any]:
    out = OUT / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    cmd = [str(Path(sys.executable).with_name("st")), "--config-file", str(Path(__file__).with_name("schemathesis.toml")),
           "run", f"{base}/api/v1/openapi.json", "--checks", "all",
           "--max-examples", str(args.max_examples), "--seed", str(args.seed), "--phases", args.phases,
           "--workers", "1", "--report", "junit,ndjson", "--report-dir", str(out), "--request-timeout", "30",
           "--output-truncate", "false", "--suppress-health-check", "all"]
    for header in headers:
        cmd += ["-H", header]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env={"NO_COLOR": "1", "PATH": "/usr/bin"})
    seconds = time.perf_counter() - started
    (out / "output.txt").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    counts = count(proc.stdout)
    summary = [line for line in proc.stdout.splitlines() if "passed" in line or "failed" in line or "error" in line]
    return {"run": name, "exit_code": proc.returncode, "seconds": round(seconds, 1), **counts,
            "summary": summary[-3:], "report": str(out.relative_to(ROOT))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-examples", type=int, default=100, help="test cases per operation and phase")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="medcite-st-") as tmp:
        server, thread, base, tokens = start_server(Path(tmp))
        try:
            results = [run(base, "anonymous", [], args),
                       run(base, "admin-token", [f"Authorization: Bearer {tokens['ada']}"], args)]
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    print(json.dumps({"max_examples": args.max_examples, "seed": args.seed, "phases": args.phases,
                      "runs": results}, indent=2))
    return 0 if all(r["exit_code"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
