"""The tantivy lexical engine: kept consistent with the store, rebuilt when damaged, safe on any input."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import make_doc
from medcite.domain import DocKind, DocStatus, Section
from medcite.index.lexical import Filters, Fts5Index
from medcite.ingest.chunking import chunk_document
from medcite.store.sqlite import Store

tantivy_index = pytest.importorskip("medcite.index.tantivy_index")
pytest.importorskip("tantivy")
TantivyIndex = tantivy_index.TantivyIndex


def put(store: Store, doc) -> str:
    with store.transaction():
        return store.upsert_document(doc, chunk_document, parser="test", origin="t")[0]


def seed(store: Store) -> None:
    put(store, make_doc("pmid:1", "Aspirin for prevention", year=2019, source="Lancet",
                        kind=DocKind.RANDOMIZED_TRIAL))
    put(store, make_doc("pmid:2", "Statins and myalgia", "Statins lower LDL cholesterol. Myalgia is common.",
                        year=2015, source="BMJ", kind=DocKind.SYSTEMATIC_REVIEW))
    put(store, make_doc("pmid:3", "Metformin in type 2 diabetes", "Metformin is first-line therapy for diabetes.",
                        year=2022, source="NEJM Evidence", kind=DocKind.GUIDELINE))


def doc_ids(store: Store, ids: list[int]) -> list[str]:
    rows = store.get_passages(ids)
    return [rows[i]["doc_id"] for i in ids]


@pytest.fixture
def logged_store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "lex.db")
    # the store's own migrations install the change log; installing again is a no-op
    assert tantivy_index.has_change_log(s.conn)
    assert not tantivy_index.install_change_log(s.conn)
    yield s
    s.close()


def new_index(store: Store, **kw) -> TantivyIndex:
    return TantivyIndex(store, writer_heap_mb=32, **kw)


def test_change_log_generation_follows_every_passage_write(logged_store: Store) -> None:
    conn = logged_store.conn
    assert tantivy_index.lexical_generation(conn) == 0
    put(logged_store, make_doc())
    g1 = tantivy_index.lexical_generation(conn)
    assert g1 == logged_store.passage_count() >= 1
    put(logged_store, make_doc())  # unchanged: no passage write
    assert tantivy_index.lexical_generation(conn) == g1
    with logged_store.transaction():
        logged_store.set_status("pmid:1", DocStatus.DELETED)
    assert tantivy_index.lexical_generation(conn) > g1
    assert logged_store.get_meta("lexical_store_id")


def test_build_then_incremental_sync_honours_updates_and_deletions(logged_store: Store) -> None:
    seed(logged_store)
    index = new_index(logged_store, auto_sync=False)
    first = index.sync()
    assert first["action"] == "rebuild" and first["added"] == logged_store.passage_count()
    assert index.sync()["action"] == "none"
    assert doc_ids(logged_store, index.search_ids("statins myalgia", 5).ids)[0] == "pmid:2"

    # update: the old text must leave the index, the new text must be findable
    put(logged_store, make_doc("pmid:2", "Statins and myalgia", "Rosuvastatin causes rhabdomyolysis rarely.",
                               year=2015, source="BMJ", kind=DocKind.SYSTEMATIC_REVIEW))
    # deletion
    with logged_store.transaction():
        logged_store.set_status("pmid:1", DocStatus.DELETED)
    # a new document
    put(logged_store, make_doc("pmid:4", "Warfarin dosing", "Warfarin needs INR monitoring.", year=2010))
    report = index.sync()
    assert report["action"] == "incremental", report
    assert report["deleted"] >= 1 and report["added"] >= 2
    assert index.search_ids("cholesterol", 10).ids == []
    assert doc_ids(logged_store, index.search_ids("rhabdomyolysis", 10).ids) == ["pmid:2"]
    assert index.search_ids("aspirin bleeding", 10).ids == []
    assert doc_ids(logged_store, index.search_ids("warfarin", 10).ids) == ["pmid:4"]
    # the index holds exactly the store's passages
    assert index._searcher.num_docs == logged_store.passage_count()

    # auto sync on search: a write is visible to the next query without an explicit sync
    auto = new_index(logged_store)
    auto.search_ids("warfarin", 1)
    put(logged_store, make_doc("pmid:5", "Digoxin toxicity", "Digoxin toxicity causes arrhythmias."))
    assert doc_ids(logged_store, auto.search_ids("digoxin", 10).ids) == ["pmid:5"]
    assert auto.last_sync["action"] == "incremental"


def test_reused_row_ids_are_reindexed(logged_store: Store) -> None:
    # SQLite reuses the largest row id after it is deleted: an id watermark alone would miss this
    put(logged_store, make_doc("pmid:1", "Aspirin", "Aspirin reduces infarction."))
    index = new_index(logged_store, auto_sync=False)
    index.sync()
    (old_id,) = index.search_ids("infarction", 5).ids
    put(logged_store, make_doc("pmid:1", "Aspirin", "Aspirin increases gastrointestinal bleeding."))
    (new_id,) = [r[0] for r in logged_store.conn.execute("SELECT id FROM passages")]
    assert new_id == old_id
    assert index.sync()["action"] == "incremental"
    assert index.search_ids("infarction", 5).ids == []
    assert index.search_ids("gastrointestinal", 5).ids == [new_id]


def test_missing_corrupt_or_foreign_index_is_rebuilt(logged_store: Store, tmp_path: Path) -> None:
    seed(logged_store)
    index = new_index(logged_store, auto_sync=False)
    index.sync()
    n = logged_store.passage_count()

    shutil.rmtree(index.path)  # missing
    fresh = new_index(logged_store, auto_sync=False)
    assert fresh.sync()["action"] == "rebuild"
    assert fresh._searcher.num_docs == n

    fresh.close()
    (fresh.path / "meta.json").write_text("{ not json")  # corrupt tantivy meta
    again = new_index(logged_store, auto_sync=False)
    assert again.sync()["action"] == "rebuild"
    assert doc_ids(logged_store, again.search_ids("metformin", 3).ids)[0] == "pmid:3"

    # damaged segment files (written as new files: truncating a file that a live index has mapped
    # in memory would crash this process with SIGBUS, as with any memory-mapped database)
    again.close()
    for f in again.path.iterdir():
        if f.suffix in (".idx", ".term"):
            tmp = f.with_name(f.name + ".tmp")
            tmp.write_bytes(b"\0" * 16)
            os.replace(tmp, f)
    third = new_index(logged_store, auto_sync=False)
    assert third.sync()["action"] == "rebuild"
    assert doc_ids(logged_store, third.search_ids("metformin", 3).ids)[0] == "pmid:3"

    (third.path / tantivy_index.SIDECAR).unlink()  # sidecar lost: generation unknown
    assert new_index(logged_store, auto_sync=False).sync()["action"] == "rebuild"

    # a folder left beside a *different* store with the same path
    other_path = tmp_path / "other.db"
    with Store(other_path) as other:
        tantivy_index.install_change_log(other.conn)
        put(other, make_doc("pmid:9", "Zinc for colds", "Zinc lozenges shorten colds."))
        shutil.copytree(third.path, Path(str(other_path) + ".tantivy"))
        foreign = new_index(other, auto_sync=False)
        assert foreign.sync()["reason"] == "index belongs to another store"
        assert doc_ids(other, foreign.search_ids("zinc", 3).ids) == ["pmid:9"]
        assert foreign.search_ids("metformin", 3).ids == []


def test_pruned_log_and_store_without_log(logged_store: Store, tmp_path: Path) -> None:
    seed(logged_store)
    index = new_index(logged_store, auto_sync=False)
    index.sync()
    put(logged_store, make_doc("pmid:4", "Warfarin dosing", "Warfarin needs INR monitoring."))
    tantivy_index.prune_change_log(logged_store, tantivy_index.lexical_generation(logged_store.conn))
    report = index.sync()
    assert report["action"] == "rebuild" and "pruned" in report["reason"]
    assert doc_ids(logged_store, index.search_ids("warfarin", 3).ids) == ["pmid:4"]

    with Store(tmp_path / "plain.db") as plain:  # no change log: fingerprint, rebuild on change
        for trigger in ("lexical_changes_ai", "lexical_changes_ad", "lexical_changes_au", "lexical_changes_du"):
            plain.conn.execute(f"DROP TRIGGER {trigger}")
        plain.conn.execute("DROP TABLE lexical_changes")  # a store from before the change log existed
        assert not tantivy_index.has_change_log(plain.conn)
        seed(plain)
        idx = new_index(plain, auto_sync=False)
        assert idx.sync()["action"] == "rebuild"
        assert idx.sync()["action"] == "none"
        with plain.transaction():
            plain.set_status("pmid:2", DocStatus.RETRACTED)
        assert idx.sync()["action"] == "rebuild"
        assert idx.search_ids("statins", 5).ids == []


def test_filters(logged_store: Store) -> None:
    seed(logged_store)
    put(logged_store, make_doc("pmid:7", "Aspirin in the elderly", "Aspirin did not prolong life in the elderly.",
                               year=None, source="JAMA", kind=DocKind.OBSERVATIONAL))
    index = new_index(logged_store)
    fts = Fts5Index(logged_store)
    cases = [
        Filters(kinds=("randomized_trial",)),
        Filters(kinds=("observational", "guideline")),
        Filters(year_min=2016),
        Filters(year_max=2016),
        Filters(year_min=2010, year_max=2020),
        Filters(sources=("lan",)),
        Filters(sources=("jama", "NEJM")),
        Filters(sources=("nowhere",)),
        Filters(kinds=("randomized_trial",), year_min=2020),
    ]
    q = "aspirin statins metformin elderly"
    for f in cases:
        got = set(doc_ids(logged_store, index.search_ids(q, 20, f).ids))
        want = set(doc_ids(logged_store, fts.search_ids(q, 20, f).ids))
        assert got == want, (f, got, want)
    assert set(doc_ids(logged_store, index.search_ids(q, 20, Filters(year_min=2016)).ids)) == {"pmid:1", "pmid:3"}
    assert index.search_ids(q, 20, Filters(sources=("nowhere",))).ids == []


OPERATOR_TEXTS = [
    'aspirin NOT bleeding', 'aspirin AND', '"aspirin', 'aspir*', 'title:aspirin', 'text:', ':', '(aspirin',
    'aspirin)', 'NOT', 'AND OR NOT', '+aspirin -bleeding', 'aspirin^10', 'heading:"x" OR (y', '*', '""',
    'IN [1 TO 2]', 'aspirin~2', "/re.*gex/", "crohn's disease", "covid-19 ventilation", '\x00\ufeff', "id:1",
]


def test_operators_are_plain_words(logged_store: Store) -> None:
    seed(logged_store)
    index = new_index(logged_store)
    for text in OPERATOR_TEXTS:
        res = index.search_ids(text, 10)  # never raises
        assert isinstance(res.ids, list)
        if "aspirin" in text.lower():
            assert "pmid:1" in doc_ids(logged_store, res.ids), text
        index.search_ids(text, 10, Filters(kinds=("guideline",), sources=("(",)))
        index.idf(text)
    # "title:aspirin" is two words, not a field restriction; "aspirin NOT bleeding" is an OR of words
    assert index.search_ids("title:aspirin", 10).terms == ["title", "aspirin"]
    assert set(index.search_ids("aspirin NOT bleeding", 10).ids) == set(index.search_ids("aspirin bleeding", 10).ids)
    assert index.search_ids("*", 10).ids == []


def test_scores_rank_title_above_text_and_idf(logged_store: Store) -> None:
    put(logged_store, make_doc("pmid:1", "Colchicine after infarction", "Anti-inflammatory therapy was studied."))
    put(logged_store, make_doc("pmid:2", "Cardiology update", "Colchicine is mentioned once in this long text about "
                                             "many other treatments and outcomes and follow-up."))
    index = new_index(logged_store)
    res = index.search_ids("colchicine", 5)
    assert doc_ids(logged_store, res.ids)[0] == "pmid:1"
    assert res.scores == sorted(res.scores, reverse=True) and res.scores[0] > 0
    assert index.idf("colchicine") < index.idf("zebrafish")
    assert index.search_ids("what?", 5).terms  # stop words only: still searched


def test_missing_package_is_a_config_error(monkeypatch, store: Store) -> None:
    import builtins

    from medcite.errors import ConfigError

    real_import = builtins.__import__

    def fake_import(name, *args, **kw):
        if name == "tantivy":
            raise ImportError("no tantivy")
        return real_import(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ConfigError, match="tantivy"):
        TantivyIndex(store)


def test_empty_store_and_sections(logged_store: Store) -> None:
    index = new_index(logged_store)
    assert index.search_ids("aspirin", 10).ids == []
    put(logged_store, make_doc("pmid:8", "Heading test", sections=(Section("Dosage and administration", "Take once."),)))
    assert doc_ids(logged_store, index.search_ids("dosage", 10).ids) == ["pmid:8"]


def test_equal_scores_come_in_passage_order_whatever_the_segments(logged_store: Store) -> None:
    """Ties are ordered by passage id, so a fresh build and an index synced document by document (one segment
    each, in an order of the engine's choosing) rank the same passages the same way."""
    index = new_index(logged_store)
    for n in range(1, 6):
        put(logged_store, make_doc(f"pmid:{n}", "Gout flares", "Colchicine treats acute gout flares."))
        index.sync()
    res = index.search_ids("colchicine gout", 10)
    assert len(res.ids) == 5 and len(set(res.scores)) == 1
    assert res.ids == sorted(res.ids)
    fresh = new_index(logged_store)
    fresh.sync(force_rebuild=True)
    assert fresh.search_ids("colchicine gout", 10).ids == res.ids
