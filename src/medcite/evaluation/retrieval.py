"""`medcite eval retrieval`: lexical, dense and hybrid retrieval scored side by side on public benchmarks.

Datasets (any file in the same layout works — other splits are run with the same command):

- ``bioasq``: queries are JSON lines with ``id``, ``question``, ``pmids``; the corpus is JSON lines of
  snippets with ``id``, ``pmid``, ``text`` (``section`` optional). A retrieved passage is relevant when
  its snippet's pmid is one of the question's pmids (passage-level, binary gain).
- ``pubmedqa``: queries are JSON lines with ``pmid`` and ``question``; the corpus is the PubMedQA
  abstracts file (medcite's ``jsonl`` parser). The relevant document is the question's own pmid
  (document-level: passages are collapsed to their document, first occurrence wins).

The dataset's corpus is indexed once into a store under the cache folder, keyed by a fingerprint of
the corpus file and the chunker version, and reused by later runs.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from medcite.domain import Document, DocKind, Section
from medcite.errors import EvalError
from medcite.evaluation.metrics import hit_at, mrr_at, ndcg_at, percentile, recall_at
from medcite.ingest.chunking import CHUNKER_VERSION, chunk_document

RETRIEVERS = ("lexical", "dense", "hybrid")
KS = (1, 5, 10, 100)


@dataclass(frozen=True)
class EvalQuery:
    qid: str
    question: str
    relevant: frozenset[str]


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """JSON lines with line numbers; a malformed line is an EvalError naming the file and line."""
    try:
        fh = path.open(encoding="utf-8")
    except OSError as exc:
        raise EvalError(f"cannot read {path}: {exc.strerror or exc}", hint="check the --queries / --corpus path") from None
    with fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise EvalError(f"{path}: line {n} is not valid JSON ({exc.msg})", hint="fix or remove that line") from None
            if not isinstance(obj, dict):
                raise EvalError(f"{path}: line {n} is not a JSON object")
            yield n, obj


def load_queries(dataset: str, path: Path) -> list[EvalQuery]:
    out: list[EvalQuery] = []
    for n, obj in read_jsonl(path):
        q = obj.get("question")
        if not isinstance(q, str) or not q.strip():
            raise EvalError(f"{path}: line {n} has no 'question'")
        if dataset == "bioasq":
            pmids = obj.get("pmids")
            if not isinstance(pmids, list):
                raise EvalError(f"{path}: line {n} has no 'pmids' list (BioASQ layout)")
            out.append(EvalQuery(str(obj.get("id", n)), q, frozenset(str(p) for p in pmids)))
        elif dataset == "pubmedqa":
            pmid = obj.get("pmid")
            if pmid in (None, ""):
                raise EvalError(f"{path}: line {n} has no 'pmid' (PubMedQA layout)")
            out.append(EvalQuery(str(pmid), q, frozenset({str(pmid)})))
        else:
            raise EvalError(f"unknown dataset {dataset!r}", hint="use bioasq or pubmedqa")
    if not out:
        raise EvalError(f"{path} holds no queries")
    return out


def bioasq_documents(path: Path) -> Iterator[Document]:
    for n, obj in read_jsonl(path):
        text, pmid = obj.get("text"), obj.get("pmid")
        if not isinstance(text, str) or not text.strip() or pmid in (None, ""):
            raise EvalError(f"{path}: line {n} needs 'text' and 'pmid' (BioASQ snippet layout)")
        sid = str(obj.get("id", n))
        yield Document(
            doc_id=f"bioasq:{sid}", kind=DocKind.OTHER, title="",
            sections=(Section(str(obj.get("section") or "snippet"), " ".join(text.split())),),
            pmid=str(pmid),
        )


def corpus_fingerprint(path: Path) -> str:
    st = path.stat()
    raw = f"{path.resolve()}|{st.st_size}|{int(st.st_mtime)}|{CHUNKER_VERSION}"
    return hashlib.sha1(raw.encode()).hexdigest()[:12]


def build_store(dataset: str, corpus: Path, db: Path, progress: Callable[[int], None] | None = None) -> None:
    """Index a dataset's corpus into a fresh store at ``db`` (atomic: a crash leaves no half store)."""
    from medcite.ingest.pipeline import Ingestor
    from medcite.store.sqlite import Store

    tmp = db.with_suffix(".building.db")
    for suffix in ("", "-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    store = Store(tmp)
    try:
        if dataset == "bioasq":
            with store.transaction():
                for i, doc in enumerate(bioasq_documents(corpus), start=1):
                    store.upsert_document(doc, chunk_document, parser="bioasq-eval", origin=str(corpus))
                    if progress and i % 1000 == 0:
                        progress(1000)
        else:
            from medcite.domain import IngestReport

            report = IngestReport()
            Ingestor(store).ingest_file(corpus, report)
            if report.files_failed:
                raise EvalError(f"cannot index {corpus}: {report.errors[0]}")
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    tmp.replace(db)
    for suffix in ("-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)


@dataclass
class RunResult:
    name: str
    metrics: dict[str, float] = field(default_factory=dict)
    curve: list[float] = field(default_factory=list)          # recall@1..100
    run: list[tuple[str, str, int, float]] = field(default_factory=list)  # TREC rows


def evaluate(
    queries: list[EvalQuery],
    dataset: str,
    search: Callable[[str, str, int], list[tuple[str, str, float]]],
    passage_relevance: Callable[[EvalQuery], set[str]],
    retrievers: tuple[str, ...] = RETRIEVERS,
    k: int = 10,
) -> dict[str, RunResult]:
    """Score each retriever. ``search(mode, question, depth)`` returns ``(passage_id, pmid, score)`` best first."""
    depth = max(100, k)
    results: dict[str, RunResult] = {}
    for mode in retrievers:
        sums: dict[str, float] = {}
        curve = [0.0] * 100
        latencies: list[float] = []
        res = RunResult(mode)
        for q in queries:
            t = time.perf_counter()
            ranked = search(mode, q.question, depth)
            latencies.append((time.perf_counter() - t) * 1000)
            if dataset == "pubmedqa":
                keys: list[str] = []
                for _pid, pmid, score in ranked:
                    if pmid not in keys:
                        keys.append(pmid)
                        res.run.append((q.qid, pmid, len(keys), score))
                relevant = set(q.relevant)
                n_rel = len(relevant)
            else:
                keys = [pid for pid, _pmid, _s in ranked]
                res.run.extend((q.qid, pid, i, s) for i, (pid, _pm, s) in enumerate(ranked, start=1))
                relevant = passage_relevance(q)
                n_rel = len(relevant)
            for kk in KS:
                sums[f"recall@{kk}"] = sums.get(f"recall@{kk}", 0.0) + recall_at(keys, relevant, kk)
            sums["hit@10"] = sums.get("hit@10", 0.0) + hit_at(keys, relevant, 10)
            sums[f"mrr@{k}"] = sums.get(f"mrr@{k}", 0.0) + mrr_at(keys, relevant, k)
            sums[f"ndcg@{k}"] = sums.get(f"ndcg@{k}", 0.0) + ndcg_at(keys, relevant, k, n_rel)
            for i in range(100):
                curve[i] += recall_at(keys, relevant, i + 1)
        n = len(queries)
        res.metrics = {key: round(v / n, 4) for key, v in sums.items()}
        res.metrics["p50_ms"] = round(percentile(latencies, 50), 2)
        res.metrics["p95_ms"] = round(percentile(latencies, 95), 2)
        res.curve = [round(c / n, 4) for c in curve]
        results[mode] = res
    return results


def write_trec(results: dict[str, RunResult], path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for name, res in results.items():
            for qid, docid, rank, score in res.run:
                fh.write(f"{qid} Q0 {docid} {rank} {score:.6f} medcite-{name}\n")


def plot_curves(results: dict[str, RunResult], path: Path, title: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise EvalError("--plot needs matplotlib", hint="pip install 'medcite[eval]'") from None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, res in results.items():
        ax.plot(range(1, 101), res.curve, label=f"{name} (nDCG@10 {next(v for k, v in res.metrics.items() if k.startswith('ndcg'))})")
    ax.set_xscale("log")
    ax.set_xlabel("k")
    ax.set_ylabel("recall@k")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
