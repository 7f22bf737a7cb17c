"""Helpers for the fault tests: a synthetic corpus, the CLI in a child process, process trees, leftovers."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"

_WORDS = (
    "asthma inhaled corticosteroid dose adults children trial placebo randomised outcome risk hypertension "
    "pregnancy labetalol nifedipine screening colorectal cancer colonoscopy statin cholesterol aspirin bleeding "
    "diabetes metformin insulin glucose kidney renal failure dialysis heart failure beta blocker infection "
    "antibiotic amoxicillin pneumonia fever vaccine influenza elderly fracture osteoporosis vitamin calcium "
    "depression sertraline therapy anxiety sleep pain opioid morphine ibuprofen migraine stroke warfarin "
    "anticoagulation atrial fibrillation guideline recommendation evidence moderate strong weak benefit harm"
).split()


def write_corpus(folder: Path, docs: int, *, seed: int = 7, name: str = "corpus.jsonl",
                 sections: int = 4, words: int = 120) -> Path:
    """A medcite-format JSONL file of ``docs`` made-up documents (deterministic for a seed)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with path.open("w", encoding="utf-8") as fh:
        for i in range(docs):
            def sentence() -> str:
                return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 20))).capitalize() + "."
            secs = [{"heading": f"Section {j}", "text": " ".join(sentence() for _ in range(words // 12))}
                    for j in range(sections)]
            record = {"medcite": 1, "id": f"local:{name}-{i}", "kind": rng.choice(["guideline", "randomized_trial", "review"]),
                      "title": " ".join(rng.choice(_WORDS) for _ in range(6)).capitalize(),
                      "source": rng.choice(["Task Force", "Journal A", "Journal B"]),
                      "year": 2000 + i % 24, "sections": secs}
            fh.write(json.dumps(record) + "\n")
    return path


def env(tmp: Path, **extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("MEDCITE_")}
    out.update(MEDCITE_PROGRESS="false", MEDCITE_EMBEDDER="none", MEDCITE_CACHE_DIR=str(tmp / "cache"),
               MEDCITE_QUERY_EXPANSION="false", PYTHONDONTWRITEBYTECODE="1")
    out.update(extra)
    return out


def cli(db: Path, *args: str, environ: dict[str, str], **kw: Any) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "medcite", "--db", str(db), *args], env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def run(db: Path, *args: str, environ: dict[str, str], timeout: float = 300, **kw: Any) -> tuple[int, str, str]:
    proc = cli(db, *args, environ=environ, **kw)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def snapshot(db: Path, environ: dict[str, str], queries: tuple[str, ...]) -> dict[str, Any]:
    """What a user sees of a store: ``medcite stats`` and the top hits of a few searches."""
    rc, out, err = run(db, "stats", "--json", environ=environ)
    assert rc == 0, err
    stats = json.loads(out)
    stats.pop("db", None)
    hits = {}
    for q in queries:
        rc, out, err = run(db, "search", q, "--k", "5", "--json", environ=environ)
        assert rc == 0, err
        hits[q] = [[h["passage_id"], round(float(h["score"]), 4)] for h in json.loads(out)]
    return {"stats": stats, "hits": hits}


def _ppid_and_state(pid: int) -> tuple[int, str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            tail = fh.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return int(tail[1]), tail[0].decode()


def descendants(pid: int) -> list[int]:
    """Live (not zombie) processes below ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = _ppid_and_state(int(entry))
            if info is not None:
                children.setdefault(info[0], []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def alive(pid: int) -> bool:
    info = _ppid_and_state(pid)
    return info is not None and info[1] != "Z"


def wait_gone(pids: list[int], seconds: float) -> list[int]:
    """The pids still running (zombies count as gone) after up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        left = [p for p in pids if alive(p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def leftovers(folder: Path) -> list[str]:
    """Side folders and temp files a killed build or save would leave."""
    names = []
    for p in folder.iterdir():
        n = p.name
        if ".building-" in n or ".old-" in n or n.endswith(".tmp"):
            names.append(n)
    return sorted(names)


def read_only_report(db: Path, environ: dict[str, str], queries: tuple[str, ...]) -> dict[str, Any]:
    """What reads and writes do on a store that cannot be written: the snapshot, and each command's rc and stderr."""
    report: dict[str, Any] = {"snapshot": snapshot(db, environ, queries)}
    for name, args in (("ask", ["ask", "what is the dose of inhaled corticosteroid in asthma"]),
                       ("ingest", ["ingest", str(FIXTURES / "answers" / "corpus.jsonl")]),
                       ("reindex", ["reindex"])):
        rc, _, err = run(db, *args, environ=environ)
        report[name] = {"rc": rc, "err": " ".join(err.split())}
    return report


if __name__ == "__main__":  # `faultlib.py ro-report DB QUERY...`: run inside a read-only mount namespace
    if sys.argv[1] == "ro-report":
        print(json.dumps(read_only_report(Path(sys.argv[2]), dict(os.environ), tuple(sys.argv[3:]))))
