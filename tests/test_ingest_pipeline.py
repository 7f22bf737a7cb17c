"""Ingestion end to end: idempotence, atomic files, deletions, and every bad-input case."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES
from medcite.cli import app
from medcite.service import Medcite
from medcite.settings import Settings

GOOD_PUBMED = FIXTURES / "pubmed" / "baseline_sample.xml"
UPDATE_PUBMED = FIXTURES / "pubmed" / "update_sample.xml"


@pytest.fixture
def svc(tmp_path: Path) -> Medcite:
    s = Medcite(Settings(db=tmp_path / "m.db", progress=False, cache_dir=tmp_path / "cache", embedder="none"))
    yield s
    s.close()


def stats(svc: Medcite) -> dict:
    out = svc.stats()
    out.pop("db")
    return out


def test_ingest_is_idempotent_and_reports_counts(svc: Medcite) -> None:
    first = svc.ingest([FIXTURES / "pubmed", FIXTURES / "ngc", FIXTURES / "medquad"])
    assert first.added > 0 and first.unchanged == 0
    before = stats(svc)
    again = svc.ingest([FIXTURES / "pubmed", FIXTURES / "ngc", FIXTURES / "medquad"])
    assert again.added == again.updated == again.deleted == 0
    assert again.unchanged == first.added + first.updated
    assert stats(svc) == before


def test_changed_document_replaces_its_old_version_and_passages(svc: Medcite, tmp_path: Path) -> None:
    f = tmp_path / "docs.jsonl"
    rec = {"id": "x:1", "kind": "guideline", "title": "Aspirin", "sections": [{"heading": "Rec", "text": "Old advice about aspirin dosing."}]}
    f.write_text(json.dumps(rec) + "\n")
    svc.ingest([f])
    rec["sections"][0]["text"] = "New advice about statins only."
    f.write_text(json.dumps(rec) + "\n")
    report = svc.ingest([f])
    assert report.updated == 1
    assert [h.doc_id for h in svc.search("statins").hits] == ["x:1"]
    assert svc.search("dosing").hits == []
    assert svc.open_existing().passage_count() == 1


def test_delete_citation_marks_documents_deleted(svc: Medcite) -> None:
    svc.ingest([GOOD_PUBMED, UPDATE_PUBMED])
    st = svc.stats()
    assert st["documents_by_status"].get("deleted", 0) >= 1
    deleted = [r[0] for r in svc.open_existing().conn.execute("SELECT doc_id FROM documents WHERE status='deleted'")]
    for doc_id in deleted:
        assert all(h.doc_id != doc_id for h in svc.search(doc_id.split(":")[1], k=50).hits)
    # re-ingesting both files changes nothing — deleted documents stay deleted
    again = svc.ingest([GOOD_PUBMED, UPDATE_PUBMED])
    assert again.added == again.updated == again.deleted == 0


def _bad_files(tmp: Path) -> dict[str, Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    files = {
        "empty": tmp / "empty.xml",
        "not_xml": tmp / "notes.xml",
        "unknown_xml": tmp / "other.xml",
        "truncated": tmp / "truncated.xml",
        "wrong_gzip": tmp / "fake.xml.gz",
        "corrupt_gzip": tmp / "corrupt.xml.gz",
        "bad_jsonl": tmp / "binary.jsonl",
    }
    files["empty"].write_bytes(b"")
    files["not_xml"].write_text("this is a plain text note, not XML at all\n")
    files["unknown_xml"].write_text('<?xml version="1.0"?><catalog><book id="1">x</book></catalog>')
    data = GOOD_PUBMED.read_bytes()
    files["truncated"].write_bytes(data[: len(data) * 2 // 3])
    files["wrong_gzip"].write_bytes(data)
    gz = gzip.compress(data)
    files["corrupt_gzip"].write_bytes(gz[: len(gz) // 2])
    files["bad_jsonl"].write_bytes(bytes(range(256)) * 4)
    return files


@pytest.mark.parametrize(
    "case, message",
    [
        ("empty", "file is empty"),
        ("not_xml", "not a recognised format"),
        ("unknown_xml", "XML of an unknown vocabulary"),
        ("truncated", "line"),
        ("wrong_gzip", "not a gzip file"),
        ("corrupt_gzip", "gzip"),
        ("bad_jsonl", ""),
    ],
)
def test_each_bad_file_gives_one_clear_line_and_stores_nothing(svc: Medcite, tmp_path: Path, case: str, message: str) -> None:
    path = _bad_files(tmp_path / "bad")[case]
    report = svc.ingest([path])
    assert report.files_failed == 1 and len(report.errors) == 1
    line = report.errors[0]
    assert line.startswith(str(path)) and message in line and "\n" not in line
    assert svc.stats()["documents"] == 0  # nothing half-written


def test_unreadable_file(svc: Medcite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "secret.xml"
    shutil.copy(GOOD_PUBMED, f)
    if os.geteuid() != 0:
        f.chmod(0)
    else:  # root reads any file: make the operating system refuse it as it would for a normal user
        real_open = Path.open

        def refuse(self, *a, **kw):
            if self == f:
                raise PermissionError(13, "Permission denied", str(self))
            return real_open(self, *a, **kw)

        monkeypatch.setattr(Path, "open", refuse)
    report = svc.ingest([f])
    assert report.files_failed == 1
    assert report.errors == [f"{f}: permission denied — check the file's permissions — nothing from this file was stored"]


def test_unreadable_file_as_a_directory_named_like_a_file(svc: Medcite, tmp_path: Path) -> None:
    # the same "cannot read" path root can exercise: an explicit path that is not a readable file
    d = tmp_path / "looks_like.xml"
    d.mkdir()
    report = svc.ingest([d / "missing.xml"])
    assert report.errors == [f"{d / 'missing.xml'}: no such file or directory"]


def test_malformed_record_among_good_ones_keeps_the_rest(svc: Medcite, tmp_path: Path) -> None:
    f = tmp_path / "mixed.jsonl"
    good = {"id": "x:1", "kind": "other", "title": "Good", "sections": [{"heading": "H", "text": "A good record about asthma."}]}
    good2 = {"id": "x:2", "kind": "other", "title": "Good too", "sections": [{"heading": "H", "text": "Another record about asthma."}]}
    f.write_text(json.dumps(good) + "\n{not json at all\n" + json.dumps(good2) + "\n")
    report = svc.ingest([f])
    assert report.added == 2
    assert len(report.errors) == 1 and "line 2" in report.errors[0] and str(f) in report.errors[0]
    # the XML variant: a PubMed record without a PMID among good records
    report = svc.ingest([FIXTURES / "pubmed" / "bad_record.xml"])
    assert report.added == 2 and len(report.errors) == 2
    assert all("record" in e and "skipped" in e for e in report.errors)


def test_folder_mixing_good_and_bad_files(svc: Medcite, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    _bad_files(folder)
    shutil.copy(GOOD_PUBMED, folder / "good.xml")
    (folder / "README.md").write_text("not ingested: not a data file")
    (folder / "good.xml.md5").write_text("0" * 32)
    report = svc.ingest([folder])
    assert report.added > 0
    assert report.files_failed == 7 and len(report.errors) == 7
    assert not any("README" in e or ".md5" in e for e in report.errors)


def test_glob_and_gzip(svc: Medcite, tmp_path: Path) -> None:
    (tmp_path / "a.xml.gz").write_bytes(gzip.compress(GOOD_PUBMED.read_bytes()))
    report = svc.ingest([str(tmp_path / "*.xml.gz")])
    assert report.added > 0 and not report.errors
    report = svc.ingest([str(tmp_path / "*.nothing")])
    assert report.errors == [f"{tmp_path / '*.nothing'}: no file matches this pattern"]


def test_crash_mid_file_leaves_nothing(svc: Medcite, monkeypatch: pytest.MonkeyPatch) -> None:
    from medcite.store.sqlite import Store

    calls = {"n": 0}
    original = Store.upsert_document

    def flaky(self, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("power cut")
        return original(self, *a, **kw)

    monkeypatch.setattr(Store, "upsert_document", flaky)
    with pytest.raises(RuntimeError):
        svc.ingest([GOOD_PUBMED])
    monkeypatch.setattr(Store, "upsert_document", original)
    assert svc.stats()["documents"] == 0
    assert svc.ingest([GOOD_PUBMED]).added > 2


def test_cli_exit_code_and_summary(tmp_path: Path, runner) -> None:
    bad = _bad_files(tmp_path / "bad")
    db = tmp_path / "cli.db"
    ok = runner.invoke(app, ["--db", str(db), "ingest", "--no-embed", str(GOOD_PUBMED)])
    assert ok.exit_code == 0, ok.output
    assert "added" in ok.output and "errors" in ok.output
    res = runner.invoke(app, ["--db", str(db), "ingest", "--no-embed", "--json", str(GOOD_PUBMED), str(bad["truncated"])])
    assert res.exit_code == 1
    payload = json.loads(res.stdout[: res.stdout.rindex("}") + 1])
    assert payload["unchanged"] > 0 and payload["files_failed"] == 1


@pytest.mark.slow
def test_shared_corpus_counts_and_reingest(shared: Path, tmp_path: Path) -> None:
    """The issue's acceptance check on the real corpus (≈1 minute)."""
    svc = Medcite(Settings(db=tmp_path / "full.db", progress=False, embedder="none", cache_dir=tmp_path / "c"))
    report = svc.demo(shared / "corpus")
    st = svc.stats()
    kinds = st["documents_by_kind"]
    by_prefix = {p: n for p, n in svc.open_existing().conn.execute(
        "SELECT substr(doc_id, 1, instr(doc_id, ':') - 1), count(*) FROM documents GROUP BY 1")}
    assert kinds["guideline"] == 116
    assert kinds["patient_info"] == by_prefix["medquad"] == 16423  # see docs/formats.md on the 16,412 figure
    assert by_prefix["spl"] == 6
    rct = svc.open_existing().conn.execute(
        "SELECT count(*) FROM documents WHERE origin LIKE '%pmc_rct_ccby.jsonl'").fetchone()[0]
    assert rct == 2526  # 2,527 lines; one has no text at all and is reported as a record error
    pqa = svc.open_existing().conn.execute(
        "SELECT count(*) FROM documents WHERE origin LIKE '%pqal_abstracts.jsonl'").fetchone()[0]
    assert pqa == 1000
    assert st["documents_by_status"]["deleted"] == 6
    assert len(report.errors) == 2  # the truncated efetch record and the empty RCT line
    hits = svc.search("at what age should colorectal cancer screening start", k=3).hits
    assert "ngc:11005" in [h.doc_id for h in hits]
    # the answer-quality question sets name documents of this store (docs/eval-questions.md)
    from medcite.evaluation.answers import load_questions

    known = {r[0] for r in svc.open_existing().conn.execute("SELECT doc_id FROM documents")}
    for name in ("dev", "holdout", "test"):
        qs = load_questions(Path(__file__).resolve().parent.parent / "eval" / f"answers_{name}.jsonl")
        assert {g for q in qs for g in q.gold} <= known, name
    before = stats(svc)
    again = svc.ingest([shared / "corpus"])
    assert again.added == again.updated == again.deleted == 0
    assert stats(svc) == before
    svc.close()


def test_parallel_parsing_gives_the_same_store_and_errors(tmp_path: Path) -> None:
    """Large files are parsed in a forked process; results and error handling must not change."""
    from medcite.domain import IngestReport
    from medcite.ingest.pipeline import Ingestor
    from medcite.store.sqlite import Store

    bad = _bad_files(tmp_path / "bad")
    results = []
    for threshold in (10**12, 0):  # in-process, then always forked
        store = Store(tmp_path / f"p{threshold}.db")
        ing = Ingestor(store, parallel_min_bytes=threshold)
        report = IngestReport()
        for f in (GOOD_PUBMED, UPDATE_PUBMED, FIXTURES / "pubmed" / "bad_record.xml", bad["truncated"], bad["corrupt_gzip"]):
            ing.ingest_file(f, report)
        rows = store.conn.execute("SELECT doc_id, content_hash, status FROM documents ORDER BY doc_id").fetchall()
        results.append(([tuple(r) for r in rows], report.added, report.deleted, report.errors))
        store.close()
    assert results[0] == results[1]
    assert any("line" in e and "truncated.xml" in e for e in results[1][3])


def test_demo_never_wipes_a_store_with_accounts(tmp_path: Path) -> None:
    from medcite.errors import QueryError

    svc = Medcite(Settings(db=tmp_path / "m.db", progress=False, embedder="none", cache_dir=tmp_path / "c"))
    svc.ingest([GOOD_PUBMED])
    svc.editorial.add_user("ada", "admin", "a long passphrase")
    with pytest.raises(QueryError, match="would erase them"):
        svc.demo(FIXTURES / "pubmed")
    assert svc.stats()["documents"] > 0
    svc.close()
