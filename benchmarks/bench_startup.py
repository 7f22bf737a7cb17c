"""How fast the command line starts: `medcite --help` and one `medcite ask` per process, hyperfine-style.

    python benchmarks/bench_startup.py [--db medcite.db] [--runs 10] [--warmup 2]

Each command runs ``--warmup`` times unmeasured (a warm disk cache), then ``--runs`` times; for each run the wall
time and the CPU time (user + system, from the child's rusage) are recorded. One more run with ``python -X
importtime`` says how much of the time is spent importing. The load average before and after is printed: on a
shared machine the CPU figures are the steadier ones. Results: benchmarks/out/startup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, ROOT, machine  # noqa: E402

QUESTION = "At what age should average-risk adults start colorectal cancer screening?"


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def time_command(argv: list[str], runs: int, warmup: int) -> dict[str, float]:
    walls, cpus = [], []
    for i in range(warmup + runs):
        cpu0, t0 = _children_cpu(), time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True)
        wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        if i >= warmup:
            walls.append(wall)
            cpus.append(cpu)
    return {"wall_min_s": round(min(walls), 3), "wall_median_s": round(statistics.median(walls), 3),
            "cpu_min_s": round(min(cpus), 3), "cpu_median_s": round(statistics.median(cpus), 3), "runs": runs}


def import_seconds(python: str, args: list[str]) -> float:
    """Seconds spent importing (top-level modules' cumulative times from ``-X importtime``)."""
    proc = subprocess.run([python, "-X", "importtime", "-m", "medcite", *args], capture_output=True, text=True)
    total = 0
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        _, cumulative, name = line[len("import time:"):].split("|")
        if not name.startswith("  "):  # a top-level import: its cumulative time includes its children
            total += int(cumulative)
    return round(total / 1e6, 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=ROOT / "medcite.db", help="store for `medcite ask` (make demo's)")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    args = ap.parse_args()
    if not args.db.exists():
        raise SystemExit(f"{args.db} does not exist: run `make demo` first, or pass --db")
    bindir = Path(sys.executable).parent
    medcite = str(bindir / "medcite")
    commands = {
        "medcite --help": [medcite, "--help"],
        "medcite ask QUESTION": [medcite, "--db", str(args.db), "ask", QUESTION],
    }
    load_before = os.getloadavg()
    results: dict[str, dict[str, float]] = {}
    for name, argv in commands.items():
        results[name] = time_command(argv, args.runs, args.warmup)
        results[name]["import_s"] = import_seconds(sys.executable, argv[1:])
        r = results[name]
        print(f"{name:24s} wall min {r['wall_min_s']:.3f} s  median {r['wall_median_s']:.3f} s · "
              f"cpu min {r['cpu_min_s']:.3f} s  median {r['cpu_median_s']:.3f} s · imports {r['import_s']:.3f} s")
    load_after = os.getloadavg()
    print(f"{machine()} · load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "startup.json").write_text(json.dumps({"machine": machine(), "load_before": load_before,
                                                  "load_after": load_after, "db": str(args.db),
                                                  "results": results}, indent=2))


if __name__ == "__main__":
    main()
