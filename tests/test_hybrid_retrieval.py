"""Hybrid retrieval end to end over a small realistic corpus (tests/fixtures/answers/corpus.jsonl).

Lexical, dense (HashingEmbedder — never the ONNX model) and hybrid modes; stage-by-stage explain data;
filters; deleted/retracted/updated documents and the dense indexer keeping in step; incremental
embedding; the evidence rerank and the diversity cap; hostile queries; embedder mismatch and a
corrupt vector index.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from medcite.errors import IndexMissingError, ReindexRequired
from medcite.index.lexical import Filters
from medcite.index.vector import manifest_path
from medcite.retrieve.hybrid import Retrieval
from medcite.service import Medcite
from medcite.settings import Settings

CORPUS = Path(__file__).resolve().parent / "fixtures" / "answers" / "corpus.jsonl"
MODES = ("lexical", "dense", "hybrid")
ENGINES = ("fts5", "tantivy")


def _settings(tmp_path: Path, engine: str = "fts5", **kw) -> Settings:
    return Settings(
        db=tmp_path / "m.db", shared_dir=tmp_path / "shared", cache_dir=tmp_path / "cache",
        progress=False, embedder="hashing", lexical_engine=engine, **kw,
    )


def _write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps({"medcite": 1, **r}) + "\n" for r in records), encoding="utf-8")
    return path


def _corpus_ids() -> set[str]:
    return {json.loads(line)["id"] for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()}


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    return request.param


@pytest.fixture
def svc(tmp_path: Path, engine: str) -> Medcite:
    """Corpus ingested, not yet embedded."""
    s = Medcite(_settings(tmp_path, engine))
    report = s.ingest([CORPUS])
    assert report.added == 12 and not report.errors, report
    yield s
    s.close()


@pytest.fixture
def embedded(svc: Medcite) -> Medcite:
    res = svc.embed()
    assert res["embedded"] == svc.store.passage_count() > 0
    return svc


@pytest.fixture(scope="module", params=ENGINES)
def ro(request, tmp_path_factory) -> Medcite:
    """Corpus ingested and embedded, shared by the read-only tests of this module."""
    s = Medcite(_settings(tmp_path_factory.mktemp(f"ro-{request.param}"), request.param))
    s.ingest([CORPUS])
    s.embed()
    yield s
    s.close()


# --- modes and explain data --------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_returns_hits_with_stage_ranks_and_scores(ro: Medcite, mode: str) -> None:
    r = ro.retrieve("colorectal cancer screening colonoscopy", k=5, mode=mode)
    assert isinstance(r, Retrieval)
    assert r.mode == mode
    assert r.hits, r.reason
    assert len(r.hits) <= 5
    assert [h.rank for h in r.hits] == list(range(1, len(r.hits) + 1))
    assert r.hits[0].doc_id.startswith("local:crc-")
    scores = [h.score for h in r.hits]
    assert scores == sorted(scores, reverse=True), "hits come best first"
    expected_stage = {"lexical": "lexical", "dense": "dense", "hybrid": None}[mode]
    for h in r.hits:
        assert "fusion" in h.stages and "rerank" in h.stages
        assert h.stages["rerank"]["rank"] == h.rank
        for name, stage in h.stages.items():
            assert isinstance(stage["rank"], int) and stage["rank"] >= 1, (name, stage)
            assert isinstance(stage["score"], float), (name, stage)
        if expected_stage:
            assert expected_stage in h.stages
            other = {"lexical": "dense", "dense": "lexical"}[mode]
            assert other not in h.stages, f"{mode} mode must not run the {other} stage"
    if mode == "hybrid":
        # the top hit of a question both runs can answer was found by both
        assert {"lexical", "dense"} <= set(r.hits[0].stages)
    assert r.dense_used is (mode != "lexical")
    assert "total" in r.timings_ms


def test_stage_ranks_are_the_ranks_in_that_run(ro: Medcite) -> None:
    """The lexical stage rank of a hybrid hit equals that passage's rank in a lexical-only run (without rerank)."""
    q = "glaucoma eye drops"
    lex = ro.retriever()
    # rank inside the lexical run = position in search_ids
    ids = lex.lexical.search_ids(q, 100, None).ids
    rows = ro.store.get_passages(ids)
    order = {rows[i]["passage_id"]: n for n, i in enumerate(ids, start=1)}
    r = ro.retrieve(q, k=8, mode="hybrid")
    for h in r.hits:
        if "lexical" in h.stages:
            assert h.stages["lexical"]["rank"] == order[h.passage_id]


def test_hybrid_uses_dense_only_once_vectors_exist(svc: Medcite) -> None:
    before = svc.retrieve("statins cardiovascular events", k=5, mode="hybrid")
    assert before.hits and before.dense_used is False
    assert all("dense" not in h.stages for h in before.hits)
    plain = svc.search("statins cardiovascular events", k=5)
    assert plain.hits and not plain.reason
    dense = svc.retrieve("statins cardiovascular events", k=5, mode="dense")
    assert dense.hits == [] and "medcite embed" in dense.reason and dense.dense_used is False

    svc.embed()
    after = svc.retrieve("statins cardiovascular events", k=5, mode="hybrid")
    assert after.dense_used is True and after.hits
    assert any("dense" in h.stages for h in after.hits)


def test_search_before_embedding_works_without_vector_files(svc: Medcite) -> None:
    assert not manifest_path(svc.vector_path()).exists()
    res = svc.search("glaucoma", k=3)
    assert res.hits and all(h.doc_id.startswith("local:glaucoma") for h in res.hits)
    assert res.hits[0].stages["lexical"]["rank"] == 1
    st = svc.dense_status()
    assert st["embedded"] == 0 and st["pending"] == st["passages"] > 0


# --- filters --------------------------------------------------------------------------------------


FILTER_CASES = [
    (Filters(kinds=("guideline",)), lambda h: h.kind == "guideline"),
    (Filters(kinds=("patient_info", "drug_label")), lambda h: h.kind in ("patient_info", "drug_label")),
    (Filters(year_min=2021), lambda h: h.year is not None and h.year >= 2021),
    (Filters(year_max=2019), lambda h: h.year is not None and h.year <= 2019),
    (Filters(year_min=2019, year_max=2020), lambda h: h.year in (2019, 2020)),
    (Filters(sources=("cochrane",)), lambda h: "cochrane" in h.source.lower()),
    (Filters(kinds=("systematic_review",), year_min=2020), lambda h: h.kind == "systematic_review" and h.year >= 2020),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", range(len(FILTER_CASES)))
def test_filters_are_honoured_in_every_mode(ro: Medcite, mode: str, case: int) -> None:
    filters, ok = FILTER_CASES[case]
    # a broad query touching every topic
    q = "screening colorectal cancer statins cardiovascular glaucoma eye drops atorvastatin treatment"
    r = ro.retrieve(q, k=30, filters=filters, mode=mode)
    assert r.hits, f"{filters} should match something in {mode} mode"
    bad = [(h.doc_id, h.kind, h.year, h.source) for h in r.hits if not ok(h)]
    assert not bad, f"{mode} mode returned hits outside {filters}: {bad}"


def test_filter_matching_nothing_gives_empty_result_with_reason(ro: Medcite) -> None:
    for mode in MODES:
        r = ro.retrieve("glaucoma", k=5, filters=Filters(year_min=2090), mode=mode)
        assert r.hits == [] and r.reason


# --- deleted, retracted and updated documents --------------------------------------------------


def test_deleted_and_retracted_documents_never_come_back(embedded: Medcite, tmp_path: Path) -> None:
    n_before = embedded.store.passage_count()
    changes = _write_jsonl(tmp_path / "changes.jsonl", [
        {"id": "local:statin-trial", "status": "deleted", "version": 2},
        {"id": "local:glaucoma-trial", "kind": "randomized_trial", "status": "retracted", "version": 2,
         "title": "Selective laser trabeculoplasty versus eye drops for first-line treatment of open-angle glaucoma: a randomized trial",
         "sections": [{"heading": "Findings", "text": "Selective laser trabeculoplasty controlled intraocular pressure without drops in 74% of eyes."}]},
    ])
    report = embedded.ingest([changes])
    assert report.deleted == 1 and not report.errors, report
    gone = {"local:statin-trial", "local:glaucoma-trial"}
    assert embedded.store.passage_count() < n_before

    # vectors of the removed passages are still in the index (stale) until the next embed — but never returned
    st = embedded.dense_status()
    assert st["stale"] > 0
    queries = ["rosuvastatin placebo cardiovascular events C-reactive protein",
               "selective laser trabeculoplasty intraocular pressure"]
    for q in queries:
        for mode in MODES:
            r = embedded.retrieve(q, k=50, mode=mode)
            assert not gone & {h.doc_id for h in r.hits}, (q, mode)
        assert not gone & {h.doc_id for h in embedded.search(q, k=50).hits}

    res = embedded.embed()
    assert res["removed"] == st["stale"] and res["embedded"] == 0
    st = embedded.dense_status()
    assert st["stale"] == 0 and st["pending"] == 0 and st["embedded"] == st["passages"]
    for q in queries:
        for mode in MODES:
            assert not gone & {h.doc_id for h in embedded.retrieve(q, k=50, mode=mode).hits}
    for answer_q in ("Does rosuvastatin prevent cardiovascular events?", "Is laser trabeculoplasty effective for glaucoma?"):
        a = embedded.ask(answer_q)
        assert not gone & {r.doc_id for r in a.references}
        assert not gone & {d.doc_id for d in a.related_reading}


def test_newer_version_replaces_passages_and_vectors(embedded: Medcite, tmp_path: Path) -> None:
    old = embedded.retrieve("stool test at home every year", k=10, mode="dense")
    assert any(h.doc_id == "local:crc-patient" for h in old.hits)
    update = _write_jsonl(tmp_path / "v2.jsonl", [{
        "id": "local:crc-patient", "kind": "patient_info", "version": 2,
        "title": "Colon cancer screening: what you need to know",
        "source": "Example Health Service", "date": "2024-02-01",
        "sections": [{"heading": "Who should get screened",
                      "text": "Most people should begin bowel screening at age 45 with a home kit."}],
    }])
    report = embedded.ingest([update])
    assert report.updated == 1, report
    st = embedded.dense_status()
    assert st["pending"] == 1 and st["stale"] >= 1
    res = embedded.embed()
    assert res["embedded"] == 1 and res["removed"] == st["stale"]
    st = embedded.dense_status()
    assert st["pending"] == 0 and st["stale"] == 0
    for mode in MODES:
        r = embedded.retrieve("stool test at home every year colonoscopy every 10 years", k=30, mode=mode)
        texts = [h.text for h in r.hits if h.doc_id == "local:crc-patient"]
        assert not any("stool test at home" in t for t in texts), (mode, texts)
    r = embedded.retrieve("bowel screening home kit", k=5, mode="hybrid")
    assert r.hits[0].doc_id == "local:crc-patient" and "home kit" in r.hits[0].text


def test_older_version_never_replaces_newer(embedded: Medcite, tmp_path: Path) -> None:
    newer = _write_jsonl(tmp_path / "v3.jsonl", [{
        "id": "local:glaucoma-patient-2", "kind": "patient_info", "version": 3, "title": "How is glaucoma treated?",
        "sections": [{"heading": "Treatment", "text": "Glaucoma is treated with eye drops, laser or surgery."}]}])
    older = _write_jsonl(tmp_path / "v2.jsonl", [{
        "id": "local:glaucoma-patient-2", "kind": "patient_info", "version": 2, "title": "How is glaucoma treated?",
        "sections": [{"heading": "Treatment", "text": "Glaucoma was once treated with pilocarpine drops only."}]}])
    embedded.ingest([newer])
    report = embedded.ingest([older])
    assert report.skipped_older == 1
    embedded.embed()
    for mode in MODES:
        r = embedded.retrieve("glaucoma pilocarpine drops", k=20, mode=mode)
        assert not any("pilocarpine" in h.text for h in r.hits)


# --- incremental embedding --------------------------------------------------------------------------


def test_incremental_embed_embeds_only_new_passages(embedded: Medcite, tmp_path: Path) -> None:
    again = embedded.embed()
    assert again["embedded"] == 0 and again["removed"] == 0
    new = _write_jsonl(tmp_path / "new.jsonl", [{
        "id": "local:aspirin-guideline", "kind": "guideline", "title": "Aspirin use to prevent cardiovascular disease",
        "source": "U.S. Preventive Services Task Force", "date": "2022-04-26",
        "sections": [
            {"heading": "Recommendation", "text": "The USPSTF recommends against initiating low-dose aspirin use for the primary prevention of cardiovascular disease in adults 60 years or older (D recommendation)."},
            {"heading": "Harms", "text": "The principal harm of aspirin use is an increased risk of bleeding, including gastrointestinal bleeding and hemorrhagic stroke."},
        ],
    }])
    report = embedded.ingest([new])
    assert report.added == 1 and report.passages == 2
    st = embedded.dense_status()
    assert st["pending"] == report.passages and st["stale"] == 0
    res = embedded.embed()
    assert res["embedded"] == report.passages == 2 and res["removed"] == 0
    assert embedded.dense_status()["pending"] == 0
    r = embedded.retrieve("low-dose aspirin use", k=5, mode="dense")
    assert "local:aspirin-guideline" in [h.doc_id for h in r.hits]


def test_embed_limit_leaves_the_rest_pending_and_search_still_works(svc: Medcite) -> None:
    total = svc.store.passage_count()
    res = svc.embed(limit=5)
    assert res["embedded"] == 5
    st = svc.dense_status()
    assert st["embedded"] == 5 and st["pending"] == total - 5
    r = svc.retrieve("glaucoma eye drops", k=5, mode="hybrid")
    assert r.hits  # partially built dense index: hybrid still returns lexical matches
    assert svc.embed()["embedded"] == total - 5
    assert svc.dense_status()["pending"] == 0


# --- evidence rerank and diversity --------------------------------------------------------------------


def _equal_relevance_store(tmp_path: Path, engine: str) -> Medcite:
    text = ("Fecal occult blood testing missed an advanced adenoma in a patient with iron deficiency anaemia; "
            "follow-up colonoscopy found the adenoma.")
    title = "Iron deficiency anaemia and a missed adenoma"
    docs = [
        # the case report first (lower row ids), so it would win any lexical tie
        {"id": "local:eq-case", "kind": "case_report", "title": title, "date": "2020-01-01", "source": "Journal A",
         "sections": [{"heading": "Text", "text": text}]},
        {"id": "local:eq-guideline", "kind": "guideline", "title": title, "date": "2020-01-01", "source": "Journal A",
         "sections": [{"heading": "Text", "text": text}]},
        {"id": "local:eq-other", "kind": "observational", "title": "Unrelated cohort of hip fractures", "date": "2020-01-01",
         "sections": [{"heading": "Text", "text": "Hip fractures in older adults were followed for five years."}]},
    ]
    s = Medcite(_settings(tmp_path, engine))
    s.ingest([_write_jsonl(tmp_path / "eq.jsonl", docs)])
    s.embed()
    return s


@pytest.mark.parametrize("mode", MODES)
def test_evidence_rerank_puts_guideline_above_case_report_of_equal_relevance(tmp_path: Path, engine: str, mode: str) -> None:
    s = _equal_relevance_store(tmp_path, engine)
    try:
        r = s.retrieve("iron deficiency anaemia missed adenoma fecal occult blood", k=3, mode=mode)
        order = [h.doc_id for h in r.hits]
        assert order.index("local:eq-guideline") < order.index("local:eq-case"), order
        g = next(h for h in r.hits if h.doc_id == "local:eq-guideline")
        c = next(h for h in r.hits if h.doc_id == "local:eq-case")
        assert g.stages["rerank"]["kind"] > c.stages["rerank"]["kind"]
    finally:
        s.close()


def test_diversity_caps_one_document_at_three_passages(tmp_path: Path, engine: str) -> None:
    s = Medcite(_settings(tmp_path, engine))
    s.ingest([CORPUS])
    sections = [{"heading": f"Part {i}", "text": f"Glaucoma eye drops lower eye pressure in glaucoma, part {i} of the glaucoma eye drops handbook."}
                for i in range(8)]
    s.ingest([_write_jsonl(tmp_path / "big.jsonl", [{
        "id": "local:big-handbook", "kind": "guideline", "title": "Glaucoma eye drops handbook",
        "date": "2024-01-01", "sections": sections}])])
    s.embed()
    try:
        assert s.store.conn.execute("SELECT count(*) FROM passages WHERE doc_id = 'local:big-handbook'").fetchone()[0] == 8
        for mode in MODES:
            wide = [h.doc_id for h in s.retrieve("glaucoma eye drops", k=100, mode=mode).hits]
            others = sum(1 for d in wide if d != "local:big-handbook")
            assert others >= 4, wide
            # the passages beyond the third of one document come after every other document's passages
            big_at = [i for i, d in enumerate(wide) if d == "local:big-handbook"]
            assert all(i >= 3 + others for i in big_at[3:]), (mode, wide)
            for k in range(1, 3 + others + 1):
                ids = [h.doc_id for h in s.retrieve("glaucoma eye drops", k=k, mode=mode).hits]
                assert len(ids) == k
                assert ids.count("local:big-handbook") <= 3, (mode, k, ids)
            top = [h.doc_id for h in s.retrieve("glaucoma eye drops", k=3, mode=mode).hits]
            assert top.count("local:big-handbook") >= 1  # it is the best match: the cap does not bury it
    finally:
        s.close()


# --- hostile queries ------------------------------------------------------------------------------


BAD_QUERIES = {
    "empty": "",
    "spaces": "   \t\n ",
    "long": " ".join(["colorectal", "screening", "glaucoma", "statin", "the", "of"] * 1700)[:70000],  # ~10,000 words
    "punctuation": "?!.,;:()[]{}<>\"'*&^%$#@!~`|\\/",
    "stop_words": "what should I do about it and when?",
    "chinese": "结肠癌筛查应该从几岁开始？",
    "arabic": "متى يجب أن يبدأ فحص سرطان القولون؟",
    "control": "colorectal\x00\x01\x02 screening\x1b[31m\x7f\u200b\ufeff",
    "only_control": "\x00\x01\x02\x03\x1b\x7f",
    "operators": 'NOT "x" AND title:y* (',
    "operator_soup_2": 'colorectal NEAR/3 (screening OR "cancer" -colonoscopy) AND + ^2 {x} title:',
    "sql": "'; DROP TABLE passages; --",
    "surrogates": "glaucoma \ud800 drops",
    "emoji": "👁️ glaucoma 💧",
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(BAD_QUERIES))
def test_bad_queries_never_raise(ro: Medcite, mode: str, name: str) -> None:
    q = BAD_QUERIES[name]
    r = ro.retrieve(q, k=10, mode=mode)
    assert isinstance(r, Retrieval)
    assert isinstance(r.hits, list)
    if not r.hits:
        assert r.reason, f"an empty result says why ({name}, {mode})"
    if name in ("empty", "spaces", "punctuation", "only_control"):
        # no searchable words: nothing to rank by — the dense run must not return arbitrary passages
        assert r.hits == [], (f"{mode} retrieval of a query with no searchable words ({q!r}) returned "
                              f"{len(r.hits)} arbitrary passages: {[h.passage_id for h in r.hits[:3]]}")
        assert r.reason
    res = ro.search(q, k=10)
    assert isinstance(res.hits, list)
    if not res.hits:
        assert res.reason
    if name in ("empty", "spaces", "punctuation", "only_control"):
        assert res.hits == [] and res.reason
    # the store is untouched by any of them
    assert ro.store.passage_count() > 0


def test_operator_text_is_searched_as_words(ro: Medcite) -> None:
    """Operators are plain words: "title:glaucoma*" finds glaucoma, "NOT" excludes nothing."""
    r = ro.retrieve('title:glaucoma* NOT "eye"', k=5, mode="lexical")
    assert r.hits and all("glaucoma" in (h.title + h.text).lower() for h in r.hits)
    r = ro.retrieve("colorectal AND (screening", k=5, mode="hybrid")
    assert r.hits and r.hits[0].doc_id.startswith("local:crc-")


def test_long_query_is_truncated_not_rejected(ro: Medcite) -> None:
    r = ro.retrieve(BAD_QUERIES["long"], k=5, mode="hybrid")
    assert r.hits


# --- embedder mismatch and corrupt index --------------------------------------------------------------


def test_embedder_mismatch_raises_reindex_required_then_reindex_recovers(
    embedded: Medcite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from medcite.index import registry
    from medcite.index.embedders import HashingEmbedder

    embedded.close()
    monkeypatch.setitem(registry._EMBEDDERS, "hashing", lambda settings: HashingEmbedder(dim=128))
    s = Medcite(embedded.settings)
    try:
        with pytest.raises(ReindexRequired) as exc:
            s.retrieve("glaucoma", k=3)
        assert "medcite reindex" in str(exc.value)
        with pytest.raises(ReindexRequired):
            s.ask("How is glaucoma treated?")
        with pytest.raises(ReindexRequired):
            s.embed()

        out = s.reindex()
        assert out["documents"] == 12 and out["passages"] > 0
        r = s.retrieve("glaucoma eye drops", k=3, mode="hybrid")
        assert r.hits and r.dense_used is False  # lexical until embedded again
        res = s.embed()
        assert res["embedded"] == s.store.passage_count()
        r = s.retrieve("glaucoma eye drops", k=3, mode="hybrid")
        assert r.hits and r.dense_used is True
        assert json.loads(manifest_path(s.vector_path()).read_text())["dim"] == 128
    finally:
        s.close()


def test_embedder_id_mismatch_in_manifest(embedded: Medcite) -> None:
    mpath = manifest_path(embedded.vector_path())
    m = json.loads(mpath.read_text())
    assert m.get("embedder_id") == "hashing/256"
    m["embedder_id"] = "onnx-minilm/384-but-dim-256"
    mpath.write_text(json.dumps(m))
    embedded.close()
    s = Medcite(embedded.settings)
    try:
        with pytest.raises(ReindexRequired, match="medcite reindex"):
            s.retrieve("glaucoma", k=3, mode="dense")
        s.reindex()
        s.embed()
        assert s.retrieve("glaucoma", k=3, mode="dense").hits
    finally:
        s.close()


def _corrupt_vectors(svc: Medcite) -> None:
    base = svc.vector_path()
    m = json.loads(manifest_path(base).read_text())
    files = [base.parent / f for f in m["files"].values() if isinstance(f, str)]
    assert files, m
    for f in files:
        data = f.read_bytes()
        f.write_bytes(data[: len(data) // 2])


def _named_command(message: str) -> list[str]:
    m = re.search(r"`(medcite [^`]+)`", message)
    assert m, f"the error names no medcite command: {message}"
    return m.group(1).split()[1:]


def test_corrupt_vector_index_gives_index_missing_error_naming_a_real_fix(embedded: Medcite) -> None:
    import typer

    from medcite.cli import app

    embedded.close()
    _corrupt_vectors(embedded)
    s = Medcite(embedded.settings)
    try:
        with pytest.raises(IndexMissingError) as exc:
            s.retrieve("glaucoma", k=3)
        msg = str(exc.value)
        assert "corrupt" in msg
        words = _named_command(msg)
        # the command the message names must exist, options included
        cmd = typer.main.get_command(app)
        args = list(words)
        while args and args[0] in getattr(cmd, "commands", {}):
            cmd = cmd.commands[args.pop(0)]
        assert cmd.name == words[0], f"`medcite {' '.join(words)}`: no such command"
        known = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)}
        missing = [a for a in args if a.startswith("-") and a not in known]
        assert not missing, f"the fix named by {msg!r} uses options {missing} that `medcite {cmd.name}` lacks"
    finally:
        s.close()


def test_corrupt_vector_index_reindex_recovers(embedded: Medcite) -> None:
    embedded.close()
    _corrupt_vectors(embedded)
    s = Medcite(embedded.settings)
    try:
        with pytest.raises(IndexMissingError):
            s.dense_status()
        s.reindex()
        assert s.retrieve("glaucoma", k=3).hits
        s.embed()
        r = s.retrieve("glaucoma eye drops", k=3)
        assert r.hits and r.dense_used
    finally:
        s.close()


def test_garbage_manifest_gives_index_missing_error(embedded: Medcite) -> None:
    embedded.close()
    manifest_path(embedded.vector_path()).write_text("{not json")
    s = Medcite(embedded.settings)
    try:
        with pytest.raises(IndexMissingError, match="medcite"):
            s.retrieve("glaucoma", k=3)
    finally:
        s.close()


def test_corpus_fixture_is_well_formed() -> None:
    ids = _corpus_ids()
    assert len(ids) == 12
