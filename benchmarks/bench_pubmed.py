"""PubMed XML parse + index throughput and peak memory on a generated file.

    python benchmarks/bench_pubmed.py [--n 100000] [--gz]

Generates a PubmedArticleSet of N records by repeating the real baseline records of the shared
corpus with new PMIDs, then ingests it into a fresh store in a child process and reports
abstracts/s (documents stored, lexical index included) and the child's peak resident memory.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import SHARED, machine

_RECORD = re.compile(rb"<PubmedArticle>.*?</PubmedArticle>", re.S)
_PMID = re.compile(rb'(<PMID Version="\d+">)(\d+)(</PMID>)')


def generate(target: Path, n: int, gz: bool) -> int:
    source = SHARED / "corpus" / "pubmed" / "baseline"
    records = []
    for f in sorted(source.glob("*.xml.gz")):
        records += _RECORD.findall(gzip.decompress(f.read_bytes()))
    opener = gzip.open if gz else open
    with opener(target, "wb") as out:
        out.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<PubmedArticleSet>\n')
        for i in range(n):
            rec = records[i % len(records)]
            pmid = str(90_000_000 + i).encode()
            rec = _PMID.sub(lambda m: m.group(1) + pmid + m.group(3), rec, count=1)
            out.write(rec + b"\n")
        out.write(b"</PubmedArticleSet>\n")
    return target.stat().st_size


CHILD = r"""
import json, resource, sys, time
from medcite.service import Medcite
from medcite.settings import Settings
svc = Medcite(Settings(db=sys.argv[2], progress=False, embedder="none", lexical_engine=sys.argv[3]))
t = time.perf_counter()
report = svc.ingest([sys.argv[1]])
ingest_s = time.perf_counter() - t
t = time.perf_counter()
svc.sync_lexical()
sync_s = time.perf_counter() - t
print(json.dumps({"documents": report.added, "errors": len(report.errors), "ingest_s": ingest_s,
                  "lexical_sync_s": sync_s,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--gz", action="store_true")
    ap.add_argument("--engine", default="tantivy", choices=["tantivy", "fts5"])
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    xml = tmp / ("big.xml.gz" if args.gz else "big.xml")
    t = time.perf_counter()
    size = generate(xml, args.n, args.gz)
    gen_s = time.perf_counter() - t
    out = subprocess.run([sys.executable, "-c", CHILD, str(xml), str(tmp / "bench.db"), args.engine],
                         capture_output=True, text=True, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res.update({
        "machine": machine(),
        "records": args.n,
        "file_mb": round(size / 1e6, 1),
        "generate_s": round(gen_s, 1),
        "abstracts_per_s_ingest": round(res["documents"] / res["ingest_s"]),
        "abstracts_per_s_with_lexical_sync": round(res["documents"] / (res["ingest_s"] + res["lexical_sync_s"])),
    })
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
