import sqlite3

import pytest

from conftest import make_doc
from medcite.domain import DocStatus
from medcite.errors import ReindexRequired, StoreError
from medcite.ingest.chunking import chunk_document
from medcite.store.migrations import MIGRATIONS, applied, migrate
from medcite.store.sqlite import Store


def put(store, doc):
    with store.transaction():
        return store.upsert_document(doc, chunk_document, parser="test", origin="t")


def test_schema_migrations_recorded_and_pragmas(store):
    assert applied(store.conn) == {name for name, _ in MIGRATIONS}
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert migrate(store.conn) == []  # idempotent


def test_failed_migration_rolls_back(store):
    bad = [("9999_bad", "CREATE TABLE half_done (x INTEGER);\nCREATE TABLE broken (;")]
    with pytest.raises(sqlite3.OperationalError):
        migrate(store.conn, bad)
    assert "9999_bad" not in applied(store.conn)
    assert store.conn.execute("SELECT name FROM sqlite_master WHERE name='half_done'").fetchone() is None


def test_upsert_add_unchanged_update_and_fts_in_step(store):
    doc = make_doc()
    assert put(store, doc)[0] == "added"
    assert put(store, doc)[0] == "unchanged"
    changed = make_doc(text="Statins lower LDL cholesterol. Myalgia is common.")
    outcome, n = put(store, changed)
    assert outcome == "updated" and n == 1
    # old passages gone from the FTS index, new ones findable
    assert store.conn.execute("SELECT count(*) FROM passages_fts WHERE passages_fts MATCH 'aspirin'").fetchone()[0] == 1  # title only
    assert store.conn.execute("SELECT count(*) FROM passages_fts WHERE passages_fts MATCH 'text:bleeding'").fetchone()[0] == 0
    assert store.conn.execute("SELECT count(*) FROM passages_fts WHERE passages_fts MATCH 'statins'").fetchone()[0] == 1


def test_older_version_never_replaces_newer(store):
    put(store, make_doc(version=3, text="Version three text."))
    assert put(store, make_doc(version=2, text="Version two text."))[0] == "older"
    assert store.get_document("pmid:1").sections[0].text == "Version three text."
    assert put(store, make_doc(version=4, text="Version four text."))[0] == "updated"


def test_deleted_document_leaves_search_but_keeps_sections(store):
    doc = make_doc()
    put(store, doc)
    with store.transaction():
        assert store.set_status("pmid:1", DocStatus.DELETED)
        assert not store.set_status("pmid:1", DocStatus.DELETED)
    assert store.passage_count() == 0
    assert store.conn.execute("SELECT count(*) FROM passages_fts WHERE passages_fts MATCH 'aspirin'").fetchone()[0] == 0
    kept = store.get_document("pmid:1")
    assert kept.status is DocStatus.DELETED and kept.sections
    # re-ingesting the same (older) record does not resurrect it
    assert put(store, doc)[0] == "unchanged"
    assert store.get_document("pmid:1").status is DocStatus.DELETED


def test_transaction_rolls_back_everything(store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.upsert_document(make_doc("pmid:9"), chunk_document, parser="t", origin="t")
            raise RuntimeError("crash mid-file")
    assert store.document_count() == 0 and store.passage_count() == 0


def test_fingerprint_mismatch_asks_for_reindex(store):
    store.check_fingerprint("chunker_version", "a", "chunker")
    store.check_fingerprint("chunker_version", "a", "chunker")
    with pytest.raises(ReindexRequired, match="medcite reindex"):
        store.check_fingerprint("chunker_version", "b", "chunker")


def test_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="medcite ingest"):
        Store(tmp_path / "nope.db", create=False)


def test_not_a_database_is_a_clear_error(tmp_path):
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        Store(bogus)


def test_stats_counts(store):
    put(store, make_doc("pmid:1"))
    put(store, make_doc("pmid:2", source="Lancet"))
    s = store.stats()
    assert s["documents"] == 2 and s["documents_by_kind"] == {"randomized_trial": 2}
    assert s["documents_by_source"] == {"": 1, "Lancet": 1}


def test_deleting_an_unknown_document_records_a_tombstone(store):
    with store.transaction():
        assert store.set_status("pmid:77", DocStatus.DELETED, version=1, parser="pubmed", origin="upd.xml")
    assert store.get_document("pmid:77").status is DocStatus.DELETED
    # the baseline copy arriving later stays deleted …
    assert put(store, make_doc("pmid:77", version=1))[0] == "unchanged"
    assert store.passage_count() == 0
    # … but a newer version is a real revival
    assert put(store, make_doc("pmid:77", version=2))[0] == "updated"
    assert store.get_document("pmid:77").status is DocStatus.ACTIVE


def test_fingerprint_counts_documents_and_passages_and_reads_the_newest_update_from_an_index(store):
    assert store.fingerprint() == "0-0-0-"
    put(store, make_doc("pmid:1"))
    put(store, make_doc("pmid:2", text="Statins lower LDL cholesterol. Myalgia is common."))
    docs, updated = store.conn.execute("SELECT count(*), max(updated_at) FROM documents").fetchone()
    top, passages = store.conn.execute("SELECT max(id), count(*) FROM passages").fetchone()
    assert store.fingerprint() == f"{docs}-{top}-{passages}-{updated}" and docs == 2
    plan = " ".join(str(r[3]) for r in store.conn.execute(
        "EXPLAIN QUERY PLAN SELECT coalesce(max(updated_at), '') FROM documents"))
    assert "documents_updated_at" in plan  # the index's last entry, not a scan of every row
