"""Load test of the web app: N concurrent clients on loopback against a server this script starts.

    .venv/bin/python benchmarks/bench_web.py [--db /tmp/medcite-full.db] [--seconds 120] [--clients 20]
                                             [--workers 2] [--mode phases|mixed] [--ask-share 0.2]

It copies the store (the benchmark adds users, an approved article and threads; the original is left alone),
publishes one article, starts ``uvicorn`` with ``--workers`` processes in a subprocess, then measures time to
first byte (TTFB: request sent → status line and headers received) and errors for

- ``article``: GET of the published article page (``/articles/{id}``), and
- ``ask``: ``POST /api/v1/ask`` with varied questions (``/work/shared/eval/kqa_dev.jsonl`` or ``--questions``).

``--mode phases`` (default) runs the article load and the ask load one after the other (half the time each);
``--mode mixed`` sends both at once (``--ask-share`` of the requests are questions). Targets: 0 errors,
p95 TTFB < 50 ms (article) and < 800 ms (fresh answer). The server is built by ``server_app`` below, which
turns the per-client ask rate limit off (every client is 127.0.0.1).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FALLBACK_QUESTIONS = [
    "How should hypertension be treated in pregnancy?", "Does aspirin prevent heart attacks?",
    "What are the side effects of metformin?", "When should statins be started?",
    "How is type 2 diabetes diagnosed?", "What is the treatment for community acquired pneumonia?",
    "Is screening for colorectal cancer recommended at age 45?", "What are the symptoms of asthma?",
]


def server_app() -> Any:
    """``uvicorn --factory bench_web:server_app``: the app from MEDCITE_* settings, ask rate limit off."""
    from medcite.settings import load_settings
    from medcite.web import create_app

    return create_app(load_settings(), ask_rate_per_minute=0, service_pool=int(os.environ.get("BENCH_POOL", "1")))


def load_questions(path: Path | None, n: int = 400) -> list[str]:
    path = path or ROOT.parent / "shared" / "eval" / "kqa_dev.jsonl"
    if not path.exists():
        print(f"note: {path} not found; using {len(FALLBACK_QUESTIONS)} built-in questions")
        return FALLBACK_QUESTIONS
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            q = str(obj.get("Question") or obj.get("question") or "").strip()
            if 10 <= len(q) <= 1500:
                out.append(q)
    return out[:n] or FALLBACK_QUESTIONS


def prepare(db: Path, questions: list[str]) -> str:
    """Users and one approved article in the copied store; returns the article id."""
    from medcite.review import SYSTEM
    from medcite.service import Medcite
    from medcite.settings import Settings

    svc = Medcite(Settings(db=db, progress=False))
    try:
        board = svc.editorial
        pw = "benchmark password"
        users = {}
        for name, role in (("bench-editor", "editor"), ("bench-reviewer", "reviewer")):
            try:
                users[name] = board.add_user(name, role, pw, actor=SYSTEM)
            except Exception:
                users[name] = board.get_user(name)
        for q in questions:
            answer = svc.ask(q, "clinician", remember=False)
            if not answer.insufficient_evidence:
                break
        art = board.submit(answer.model_dump(mode="json"), users["bench-editor"])
        art = board.take(art.id, users["bench-reviewer"])
        art = board.approve(art.id, users["bench-reviewer"], art.version)
        return art.id
    finally:
        svc.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: Path, port: int, workers: int, pool: int) -> subprocess.Popen:
    # the server runs this checkout's code (its src/ first), so that two checkouts can be compared on one venv
    path = os.pathsep.join([str(ROOT / "benchmarks"), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "MEDCITE_DB": str(db), "BENCH_POOL": str(pool), "PYTHONPATH": path.rstrip(os.pathsep)}
    # as `medcite serve --workers N` does: each worker embeds with cores ÷ N threads
    from medcite.settings import embed_threads_for

    env.setdefault("MEDCITE_EMBED_THREADS", str(embed_threads_for(workers)))
    cmd = [sys.executable, "-m", "uvicorn", "bench_web:server_app", "--factory", "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(cmd, env=env, cwd=str(ROOT))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/static/app.css")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start within 60 s")


class Client(threading.Thread):
    def __init__(self, port: int, article: str, questions: list[str], until: float, ask_share: float,
                 seed: int, results: dict[str, list[float]], errors: dict[str, int], lock: threading.Lock) -> None:
        super().__init__(daemon=True)
        self.port, self.article, self.questions, self.until = port, article, questions, until
        self.ask_share, self.rng = ask_share, random.Random(seed)
        self.results, self.errors, self.lock = results, errors, lock

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        while time.monotonic() < self.until:
            kind = "ask" if self.rng.random() < self.ask_share else "article"
            try:
                t0 = time.perf_counter()
                if kind == "ask":
                    body = json.dumps({"question": self.rng.choice(self.questions), "audience":
                                       self.rng.choice(["clinician", "patient"])})
                    conn.request("POST", "/api/v1/ask", body=body, headers={"content-type": "application/json"})
                else:
                    conn.request("GET", f"/articles/{self.article}")
                resp = conn.getresponse()
                ttfb = time.perf_counter() - t0
                resp.read()
                ok = resp.status == 200
            except (OSError, http.client.HTTPException):
                ok, ttfb = False, 0.0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            with self.lock:
                if ok:
                    self.results[kind].append(ttfb * 1000)
                else:
                    self.errors[kind] += 1
        conn.close()


def run_load(port: int, article: str, questions: list[str], clients: int, seconds: float,
             ask_share: float) -> tuple[dict[str, list[float]], dict[str, int]]:
    results: dict[str, list[float]] = {"article": [], "ask": []}
    errors = {"article": 0, "ask": 0}
    lock = threading.Lock()
    until = time.monotonic() + seconds
    threads = [Client(port, article, questions, until, ask_share, i, results, errors, lock) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def report(label: str, results: dict[str, list[float]], errors: dict[str, int], seconds: float) -> dict[str, Any]:
    out = {}
    for kind in ("article", "ask"):
        v = results[kind]
        if not v and not errors[kind]:
            continue
        row = {"requests": len(v), "errors": errors[kind], "rps": round(len(v) / seconds, 1),
               "p50_ms": round(pct(v, 50), 1), "p95_ms": round(pct(v, 95), 1), "max_ms": round(max(v or [0]), 1),
               "mean_ms": round(statistics.fmean(v), 1) if v else None}
        out[kind] = row
        print(f"{label:8} {kind:8} n={row['requests']:6} errors={row['errors']:3} {row['rps']:7} req/s  "
              f"p50={row['p50_ms']:8} ms  p95={row['p95_ms']:8} ms  max={row['max_ms']:8} ms")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, default=Path("/tmp/medcite-full.db"))
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--pool", type=int, default=1, help="services (concurrent questions) per worker process")
    ap.add_argument("--mode", choices=("phases", "mixed"), default="phases")
    ap.add_argument("--ask-share", type=float, default=0.2, help="share of questions in --mode mixed")
    ap.add_argument("--questions", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = ap.parse_args()
    if not args.db.exists():
        raise SystemExit(f"{args.db} not found: build it with `.venv/bin/medcite --db {args.db} demo`")
    questions = load_questions(args.questions)
    tmp = Path(tempfile.mkdtemp(prefix="bench-web-"))
    db = tmp / "bench.db"
    try:
        print(f"copying {args.db} → {db} …")
        shutil.copyfile(args.db, db)
        article = prepare(db, questions)
        port = free_port()
        proc = start_server(db, port, args.workers, args.pool)
        try:
            run_load(port, article, questions, min(args.clients, 4), 3, 0.5)  # warm every worker
            print(f"{args.clients} clients, {args.workers} workers, {args.seconds:g} s, mode {args.mode}, "
                  f"{os.cpu_count()} CPUs, article /articles/{article}")
            figures: dict[str, Any] = {"clients": args.clients, "workers": args.workers, "mode": args.mode}
            if args.mode == "phases":
                half = args.seconds / 2
                figures["article_phase"] = report("phase", *run_load(port, article, questions, args.clients, half, 0.0),
                                                  half)
                figures["ask_phase"] = report("phase", *run_load(port, article, questions, args.clients, half, 1.0),
                                              half)
            else:
                figures["mixed"] = report("mixed", *run_load(port, article, questions, args.clients, args.seconds,
                                                            args.ask_share), args.seconds)
            if args.json:
                args.json.write_text(json.dumps(figures, indent=2))
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
