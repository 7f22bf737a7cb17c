"""The evaluation harness: `eval retrieval` on tiny BioASQ- and PubMedQA-layout files, its cache, TREC run files
and plots, malformed input, the ranking metrics on hand-computed examples, and `eval answers`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medcite.errors import EvalError, QueryError
from medcite.evaluation import metrics as m
from medcite.evaluation import retrieval as ev
from medcite.service import Medcite
from medcite.settings import Settings

CORPUS = Path(__file__).resolve().parent / "fixtures" / "answers" / "corpus.jsonl"
RETRIEVERS = ("lexical", "dense", "hybrid")

SNIPPETS = [
    ("s0", "1001", "title", "Colonoscopy screening reduces colorectal cancer incidence in average-risk adults."),
    ("s1", "1001", "abstract", "Screening colonoscopy every ten years lowered colorectal cancer mortality in a large cohort."),
    ("s2", "1002", "title", "Fecal immunochemical testing for colorectal cancer screening: accuracy in primary care."),
    ("s3", "1003", "title", "Statin therapy and all-cause mortality in primary prevention: a meta-analysis."),
    ("s4", "1003", "abstract", "Statins reduced major cardiovascular events by a quarter in people without heart disease."),
    ("s5", "1004", "title", "Selective laser trabeculoplasty as first-line therapy for open-angle glaucoma."),
    ("s6", "1005", "title", "Prostaglandin analog eye drops lower intraocular pressure in ocular hypertension."),
    ("s7", "1006", "title", "Metformin and lactic acidosis in chronic kidney disease."),
    ("s8", "1007", "abstract", "Sodium-glucose cotransporter 2 inhibitors reduce heart failure hospitalisation."),
    ("s9", "1008", "title", "Zebrafish fin regeneration depends on osteoblast dedifferentiation."),
    ("s10", "1009", "abstract", "Vitamin D supplementation did not prevent fractures in community-dwelling older adults."),
    ("s11", "1010", "title", "Helmet use and traumatic brain injury among urban cyclists."),
]

PERFECT = {"id": "q-perfect", "question": "zebrafish fin regeneration osteoblast dedifferentiation", "pmids": ["1008"]}
NO_RELEVANT = {"id": "q-none", "question": "colorectal cancer screening colonoscopy", "pmids": ["424242"]}
MIXED = [
    PERFECT,
    NO_RELEVANT,
    {"id": "q-statin", "question": "Do statins reduce mortality in primary prevention?", "pmids": ["1003"]},
    {"id": "q-glaucoma", "question": "laser trabeculoplasty for glaucoma", "pmids": ["1004", "1005"]},
]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, Path]:
    corpus = _jsonl(tmp_path / "snippets.jsonl",
                    [{"id": sid, "pmid": pmid, "section": sec, "text": text} for sid, pmid, sec, text in SNIPPETS])
    return {
        "corpus": corpus,
        "perfect": _jsonl(tmp_path / "q_perfect.jsonl", [PERFECT]),
        "none": _jsonl(tmp_path / "q_none.jsonl", [NO_RELEVANT]),
        "mixed": _jsonl(tmp_path / "q_mixed.jsonl", MIXED),
    }


def _settings(tmp_path: Path, engine: str = "fts5") -> Settings:
    return Settings(db=tmp_path / "m.db", shared_dir=tmp_path / "shared", cache_dir=tmp_path / "cache",
                    progress=False, embedder="hashing", lexical_engine=engine)


@pytest.fixture(params=["fts5", "tantivy"])
def svc(tmp_path: Path, request) -> Medcite:
    s = Medcite(_settings(tmp_path, request.param))
    yield s
    s.close()


def _check_metrics(summary: dict) -> None:
    assert set(summary["retrievers"]) == set(RETRIEVERS)
    for name, metrics in summary["retrievers"].items():
        for key in ("recall@1", "recall@5", "recall@10", "recall@100", "hit@10", "mrr@10", "ndcg@10"):
            assert key in metrics, (name, key)
            assert 0.0 <= metrics[key] <= 1.0, (name, key, metrics[key])
        assert metrics["recall@1"] <= metrics["recall@5"] <= metrics["recall@10"] <= metrics["recall@100"]
        assert metrics["p50_ms"] >= 0 and metrics["p95_ms"] >= metrics["p50_ms"] - 1e-9


# --- BioASQ layout --------------------------------------------------------------------------------------


def test_bioasq_perfect_and_hopeless_queries(svc: Medcite, env) -> None:
    summary, results = svc.eval_retrieval("bioasq", env["perfect"], env["corpus"], retrievers=RETRIEVERS)
    assert summary["n_queries"] == 1 and summary["dataset"] == "bioasq"
    _check_metrics(summary)
    for name in RETRIEVERS:
        got = summary["retrievers"][name]
        assert got["recall@10"] == 1.0, (name, got)
        assert got["hit@10"] == 1.0
    lex = summary["retrievers"]["lexical"]
    assert lex["recall@1"] == 1.0 and lex["mrr@10"] == 1.0 and lex["ndcg@10"] == 1.0
    assert set(results) == set(RETRIEVERS)
    assert len(results["hybrid"].curve) == 100 and results["hybrid"].curve[-1] == 1.0

    summary, _ = svc.eval_retrieval("bioasq", env["none"], env["corpus"], retrievers=RETRIEVERS)
    _check_metrics(summary)
    for name in RETRIEVERS:
        got = summary["retrievers"][name]
        for key in ("recall@1", "recall@10", "recall@100", "hit@10", "mrr@10", "ndcg@10"):
            assert got[key] == 0.0, (name, key, got)


def test_bioasq_mixed_queries_average(svc: Medcite, env) -> None:
    summary, results = svc.eval_retrieval("bioasq", env["mixed"], env["corpus"], retrievers=RETRIEVERS)
    assert summary["n_queries"] == 4
    _check_metrics(summary)
    lex = summary["retrievers"]["lexical"]
    # the hopeless query caps every average at 3/4
    assert 0.5 <= lex["recall@100"] <= 0.75
    assert lex["recall@100"] >= lex["recall@10"] > 0
    # TREC rows: ranks restart at 1 for every query
    rows = results["lexical"].run
    by_q: dict[str, list[int]] = {}
    for qid, _docid, rank, _score in rows:
        by_q.setdefault(qid, []).append(rank)
    for ranks in by_q.values():
        assert ranks == list(range(1, len(ranks) + 1))


def test_limit_and_retriever_subset(svc: Medcite, env) -> None:
    summary, results = svc.eval_retrieval("bioasq", env["mixed"], env["corpus"], retrievers=("lexical",), limit=2)
    assert summary["n_queries"] == 2
    assert list(summary["retrievers"]) == ["lexical"] and list(results) == ["lexical"]


def test_corpus_index_is_cached_by_fingerprint(svc: Medcite, env, monkeypatch: pytest.MonkeyPatch) -> None:
    svc.eval_retrieval("bioasq", env["perfect"], env["corpus"], retrievers=("lexical",))
    dbs = [p for p in (svc.settings.cache / "eval").glob("bioasq-*.db") if not p.name.endswith(".building.db")]
    assert len(dbs) == 1
    fp = ev.corpus_fingerprint(env["corpus"])
    assert dbs[0].name == f"bioasq-{fp}.db"
    mtime = dbs[0].stat().st_mtime_ns

    def boom(*a, **k):
        raise AssertionError("build_store called again for an unchanged corpus")

    monkeypatch.setattr(ev, "build_store", boom)
    summary, _ = svc.eval_retrieval("bioasq", env["mixed"], env["corpus"], retrievers=RETRIEVERS)
    assert summary["n_queries"] == 4
    assert [p for p in (svc.settings.cache / "eval").glob("bioasq-*.db")] == dbs
    # no half-built store is left behind
    assert not list((svc.settings.cache / "eval").glob("*.building.db"))
    assert dbs[0].stat().st_mtime_ns >= mtime
    monkeypatch.undo()

    # a changed corpus file gets a new fingerprint and a new index
    with env["corpus"].open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "s12", "pmid": "1011", "text": "Aspirin and bleeding risk in older adults."}) + "\n")
    assert ev.corpus_fingerprint(env["corpus"]) != fp
    svc.eval_retrieval("bioasq", env["perfect"], env["corpus"], retrievers=("lexical",))
    assert len([p for p in (svc.settings.cache / "eval").glob("bioasq-*.db") if ".building" not in p.name]) == 2


def test_malformed_query_line_names_the_line(svc: Medcite, env, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(PERFECT) + "\n\n" + '{"id": "q2", "question": "x", "pmids": [1]\n', encoding="utf-8")
    with pytest.raises(EvalError) as exc:
        svc.eval_retrieval("bioasq", bad, env["corpus"], retrievers=("lexical",))
    assert "line 3" in str(exc.value) and "bad.jsonl" in str(exc.value)

    no_pmids = _jsonl(tmp_path / "nopmids.jsonl", [PERFECT, {"id": "q2", "question": "statins"}])
    with pytest.raises(EvalError, match="line 2"):
        svc.eval_retrieval("bioasq", no_pmids, env["corpus"], retrievers=("lexical",))

    not_object = tmp_path / "array.jsonl"
    not_object.write_text(json.dumps(PERFECT) + "\n[1, 2]\n", encoding="utf-8")
    with pytest.raises(EvalError, match="line 2"):
        svc.eval_retrieval("bioasq", not_object, env["corpus"], retrievers=("lexical",))

    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(EvalError):
        svc.eval_retrieval("bioasq", empty, env["corpus"], retrievers=("lexical",))


def test_malformed_corpus_line_names_the_line(svc: Medcite, env, tmp_path: Path) -> None:
    corpus = tmp_path / "badcorpus.jsonl"
    corpus.write_text(env["corpus"].read_text() + json.dumps({"id": "x", "text": "no pmid here"}) + "\n")
    with pytest.raises(EvalError, match=f"line {len(SNIPPETS) + 1}"):
        svc.eval_retrieval("bioasq", env["perfect"], corpus, retrievers=("lexical",))
    # a failed build leaves nothing in the cache that a later run would take for an index
    assert not (svc.settings.cache / "eval" / f"bioasq-{ev.corpus_fingerprint(corpus)}.db").exists()


def test_unknown_dataset_and_missing_files(svc: Medcite, env, tmp_path: Path) -> None:
    with pytest.raises(QueryError):
        svc.eval_retrieval("msmarco", env["perfect"], env["corpus"])
    with pytest.raises(QueryError):
        svc.eval_retrieval("bioasq", env["perfect"], tmp_path / "nope.jsonl")
    with pytest.raises(EvalError):
        svc.eval_retrieval("bioasq", tmp_path / "nope.jsonl", env["corpus"])


# --- PubMedQA layout ------------------------------------------------------------------------------------


def _pubmedqa_files(tmp_path: Path) -> tuple[Path, Path]:
    abstracts = [
        {"id": "pmid:2001", "pmid": "2001", "year": "2015", "mesh_terms": ["Appendectomy"],
         "abstract_sections": [{"label": "METHODS", "text": "We reviewed 120 patients who underwent laparoscopic appendectomy."},
                               {"label": "RESULTS", "text": "Complications were rare in patients older than 65 years."}],
         "conclusion": "Laparoscopic appendectomy is safe in the elderly."},
        {"id": "pmid:2002", "pmid": "2002", "year": "2018", "mesh_terms": ["Mammography"],
         "abstract_sections": [{"label": "BACKGROUND", "text": "Tailored telephone counseling was offered to women enrolled in an HMO."}],
         "conclusion": "Telephone counseling increased mammography use among HMO women."},
        {"id": "pmid:2003", "pmid": "2003", "year": "2012", "mesh_terms": ["Plants"],
         "abstract_sections": [{"label": "RESULTS", "text": "Programmed cell death forms perforations in lace plant leaves."}],
         "conclusion": "Mitochondria take part in programmed cell death of the lace plant."},
    ]
    corpus = _jsonl(tmp_path / "pqal_abstracts.jsonl", abstracts)
    queries = _jsonl(tmp_path / "pubmedqa_q.jsonl", [
        {"pmid": "2001", "question": "Is laparoscopic appendectomy safe in the elderly?"},
        {"pmid": "2002", "question": "Can tailored interventions increase mammography use among HMO women?"},
        {"pmid": "9999", "question": "Does coffee prevent gout?"},
    ])
    return queries, corpus


def test_pubmedqa_layout_document_level(svc: Medcite, tmp_path: Path) -> None:
    queries, corpus = _pubmedqa_files(tmp_path)
    summary, results = svc.eval_retrieval("pubmedqa", queries, corpus, retrievers=RETRIEVERS)
    assert summary["n_queries"] == 3
    _check_metrics(summary)
    lex = summary["retrievers"]["lexical"]
    # two answerable queries found at rank 1, the third has no document in the corpus
    assert lex["recall@1"] == pytest.approx(2 / 3, abs=1e-3)
    assert lex["mrr@10"] == pytest.approx(2 / 3, abs=1e-3)
    for name in RETRIEVERS:
        assert summary["retrievers"][name]["recall@100"] == pytest.approx(2 / 3, abs=1e-3)
    # document level: one row per pmid per query
    for name, res in results.items():
        seen = [(q, d) for q, d, _r, _s in res.run]
        assert len(seen) == len(set(seen)), name


def test_pubmedqa_query_without_pmid_is_an_eval_error(svc: Medcite, tmp_path: Path) -> None:
    _q, corpus = _pubmedqa_files(tmp_path)
    bad = _jsonl(tmp_path / "bad_q.jsonl", [{"pmid": "2001", "question": "ok?"}, {"question": "no pmid?"}])
    with pytest.raises(EvalError, match="line 2"):
        svc.eval_retrieval("pubmedqa", bad, corpus)


# --- the command line ----------------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for k, v in {
        "MEDCITE_CONFIG": str(tmp_path / "absent.toml"),
        "MEDCITE_EMBEDDER": "hashing",
        "MEDCITE_LEXICAL_ENGINE": "fts5",
        "MEDCITE_PROGRESS": "false",
        "MEDCITE_CACHE_DIR": str(tmp_path / "cache"),
        "MEDCITE_SHARED_DIR": str(tmp_path / "shared"),
    }.items():
        monkeypatch.setenv(k, v)
    return tmp_path


def test_cli_eval_retrieval_run_out_and_plot(cli_env: Path, env) -> None:
    from medcite.cli import app

    run = cli_env / "run.trec"
    png = cli_env / "curves.png"
    res = CliRunner().invoke(app, ["--db", str(cli_env / "x.db"), "eval", "retrieval", "--dataset", "bioasq",
                                   "--queries", str(env["mixed"]), "--corpus", str(env["corpus"]),
                                   "--run-out", str(run), "--plot", str(png), "--json"])
    try:
        import matplotlib  # noqa: F401
        have_mpl = True
    except ImportError:
        have_mpl = False
    if not have_mpl:
        assert res.exit_code == 2 and "matplotlib" in res.output
        return
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["n_queries"] == 4 and set(summary["retrievers"]) == set(RETRIEVERS)
    lines = run.read_text().splitlines()
    assert lines
    names = set()
    for line in lines:
        cols = line.split()
        assert len(cols) == 6, line
        qid, q0, docid, rank, score, tag = cols
        assert q0 == "Q0" and int(rank) >= 1 and math.isfinite(float(score)) and tag.startswith("medcite-")
        names.add(tag)
        assert qid in {q["id"] for q in MIXED}
    assert names == {f"medcite-{r}" for r in RETRIEVERS}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_eval_retrieval_table_and_bad_file(cli_env: Path, env) -> None:
    from medcite.cli import app

    res = CliRunner().invoke(app, ["eval", "retrieval", "--dataset", "bioasq", "--queries", str(env["perfect"]),
                                   "--corpus", str(env["corpus"]), "--retriever", "lexical"])
    assert res.exit_code == 0, res.output
    assert "recall@10" in res.stdout and "lexical" in res.stdout
    bad = cli_env / "bad.jsonl"
    bad.write_text("{oops\n")
    res = CliRunner().invoke(app, ["eval", "retrieval", "--dataset", "bioasq", "--queries", str(bad),
                                   "--corpus", str(env["corpus"])])
    assert res.exit_code == 2 and "line 1" in " ".join(res.stderr.split())


def test_cli_eval_answers(cli_env: Path) -> None:
    from medcite.cli import app

    db = cli_env / "answers.db"
    runner = CliRunner()
    res = runner.invoke(app, ["--db", str(db), "ingest", str(CORPUS), "--json"])
    assert res.exit_code == 0, res.output
    questions = _jsonl(cli_env / "questions.jsonl", [
        {"qid": "crc-age", "question": "At what age should colorectal cancer screening start?",
         "gold_doc_ids": ["local:crc-uspstf"], "key_facts": [["50", "45", "fifty"], ["75"]]},
        {"qid": "atorva-ci", "question": "What are the contraindications of atorvastatin?", "audience": "clinician",
         "gold_doc_ids": ["local:atorvastatin-label"], "key_facts": [["liver"], ["hypersensitivity"]]},
        {"qid": "sema", "question": "Is semaglutide effective for weight loss?", "gold_doc_ids": [], "key_facts": []},
        {"qid": "statin-glaucoma", "question": "Do statins cause glaucoma?", "audience": "patient", "gold_doc_ids": []},
    ])
    res = runner.invoke(app, ["--db", str(db), "eval", "answers", "--questions", str(questions), "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["n_questions"] == 4 and report["n_answerable"] == 2 and report["n_unanswerable"] == 2
    assert report["errors"] == []
    assert report["gold_cited"] == 1.0
    assert report["key_facts"] == 1.0
    assert report["abstention"] == 1.0
    assert report["false_abstention"] == 0.0
    assert report["citation_validity"] == 1.0
    assert report["p50_ms"] > 0 and report["p95_ms"] >= report["p50_ms"]
    assert set(report["reading_grade"]) == {"clinician", "patient"}
    assert report["reading_grade"]["clinician"] is not None
    # and the same measure over the passages the answers quote from
    assert report["source_reading_grade"]["clinician"] is not None
    rows = {r["qid"]: r for r in report["per_question"]}
    assert rows["crc-age"]["cites_gold"] and rows["crc-age"]["valid"] and not rows["crc-age"]["abstained"]
    assert rows["sema"]["abstained"] and rows["statin-glaucoma"]["abstained"]
    assert all(r["ms"] >= 0 for r in rows.values())

    # the table view names every metric
    res = runner.invoke(app, ["--db", str(db), "eval", "answers", "--questions", str(questions)])
    assert res.exit_code == 0, res.output
    for key in ("gold_cited", "key_facts", "abstention", "false_abstention", "citation_validity", "p50_ms",
                "passages quoted"):
        assert key in res.stdout

    bad = cli_env / "bad_questions.jsonl"
    bad.write_text(json.dumps({"question": "ok?", "gold_doc_ids": "not-a-list"}) + "\n")
    res = runner.invoke(app, ["--db", str(db), "eval", "answers", "--questions", str(bad), "--json"])
    assert res.exit_code == 2 and "line 1" in " ".join(res.stderr.split())


def test_eval_answers_service_audience_override(tmp_path: Path) -> None:
    s = Medcite(_settings(tmp_path))
    try:
        s.ingest([CORPUS])
        q = _jsonl(tmp_path / "q.jsonl", [{"qid": "g", "question": "How is glaucoma treated?",
                                           "gold_doc_ids": ["local:glaucoma-patient", "local:glaucoma-patient-2"],
                                           "key_facts": [["eye drops"]]}])
        report = s.eval_answers(q, audience="patient")
        assert report["gold_cited"] == 1.0 and report["key_facts"] == 1.0 and report["citation_validity"] == 1.0
        assert report["reading_grade"]["patient"] is not None and report["reading_grade"]["clinician"] is None
        # eval questions are not remembered as asked questions
        assert s.store.conn.execute("SELECT count(*) FROM asked_questions").fetchone()[0] == 0
    finally:
        s.close()


# --- metrics on hand-computed examples ---------------------------------------------------------------


def test_ndcg_two_relevant_at_ranks_one_and_three() -> None:
    ranked = ["a", "x", "b", "y", "z"]
    rel = {"a", "b"}
    dcg = 1 / math.log2(2) + 1 / math.log2(4)        # 1 + 0.5
    idcg = 1 / math.log2(2) + 1 / math.log2(3)       # 1 + 0.6309
    assert m.ndcg_at(ranked, rel, 10) == pytest.approx(dcg / idcg)
    assert m.ndcg_at(ranked, rel, 10) == pytest.approx(0.919720, abs=1e-6)
    # cut-off between them: only rank 1 counts, the ideal list still holds min(k, 2) items
    assert m.ndcg_at(ranked, rel, 2) == pytest.approx(1 / idcg)
    assert m.ndcg_at(ranked, rel, 1) == 1.0
    assert m.ndcg_at(["a", "b"], rel, 10) == 1.0
    assert m.ndcg_at(["x", "y"], rel, 10) == 0.0
    assert m.ndcg_at(ranked, set(), 10) == 0.0
    # n_relevant larger than what the set holds (relevant items outside the candidate set)
    assert m.ndcg_at(["a"], {"a"}, 10, n_relevant=3) == pytest.approx(1 / (1 + 1 / math.log2(3) + 1 / math.log2(4)))


def test_mrr_recall_hit_percentile() -> None:
    ranked = ["x", "y", "b", "a"]
    rel = {"a", "b"}
    assert m.mrr_at(ranked, rel, 10) == pytest.approx(1 / 3)
    assert m.mrr_at(ranked, rel, 2) == 0.0
    assert m.mrr_at(["a"], rel) == 1.0
    assert m.recall_at(ranked, rel, 1) == 0.0
    assert m.recall_at(ranked, rel, 3) == 0.5
    assert m.recall_at(ranked, rel, 4) == 1.0
    assert m.recall_at(ranked, rel, 100) == 1.0
    assert m.recall_at(ranked, set(), 10) == 0.0
    assert m.recall_at([], rel, 10) == 0.0
    assert m.hit_at(ranked, rel, 2) == 0.0 and m.hit_at(ranked, rel, 3) == 1.0
    # duplicates in the ranking never count twice
    assert m.recall_at(["a", "a", "a"], rel, 3) == 0.5
    assert m.percentile([], 50) == 0.0
    assert m.percentile([7.0], 95) == 7.0
    assert m.percentile([1, 2, 3, 4, 5], 50) == pytest.approx(3.0)
    vals = list(range(1, 101))
    assert m.percentile(vals, 95) == pytest.approx(95.05, abs=0.01)
    assert m.percentile(vals, 50) <= m.percentile(vals, 95)
