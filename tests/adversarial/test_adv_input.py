"""Adversarial: bounded input everywhere (issue 13, item 4).

A 2 MB ``.jsonl.gz`` holding one 2 GiB line once exhausted memory and stopped the whole folder; a 255 KB gzip
became one 268-million-character passage. Every reader is now streamed and capped, a file over a cap is
one error line, the folder goes on, and no passage is longer than the chunker's limit.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from medcite.domain import IngestReport
from medcite.ingest.chunking import MAX_CHARS
from medcite.ingest.limits import Limits
from medcite.ingest.pipeline import Ingestor
from medcite.service import Medcite
from medcite.settings import Settings
from medcite.store.sqlite import Store

FIX = Path(__file__).resolve().parents[1] / "fixtures"
MiB = 1024 * 1024


def _record(doc_id: str, text: str) -> bytes:
    return json.dumps({"id": doc_id, "kind": "other", "title": doc_id, "sections": [{"heading": "H", "text": text}]},
                      ensure_ascii=False).encode() + b"\n"


def gz_bomb(path: Path, head: bytes, mib: int, fill: bytes = b"a", tail: bytes = b"") -> Path:
    """A .gz whose one line is ``mib`` MiB long, written as one compressed 1 MiB member repeated (two
    kilobytes of file per MiB), so a 2 GiB line costs a 2 MB file and no time to make."""
    member = gzip.compress(fill * MiB, compresslevel=9)
    with path.open("wb") as fh:
        fh.write(gzip.compress(head))
        for _ in range(mib):
            fh.write(member)
        fh.write(gzip.compress(tail + b"\n"))
    return path


def _ingest(paths: list[Path], tmp_path: Path, limits: Limits = Limits()) -> tuple[IngestReport, Store]:
    store = Store(tmp_path / "s.db")
    report = Ingestor(store, limits=limits).ingest(paths)
    return report, store


def _doc_ids(store: Store) -> set[str]:
    return {r[0] for r in store.conn.execute("SELECT doc_id FROM documents")}


def test_a_2_gib_line_is_refused_at_the_default_cap_without_being_read_whole(tmp_path: Path) -> None:
    bomb = gz_bomb(tmp_path / "bomb.jsonl.gz", b'{"id": "x:1", "kind": "other", "sections": ["', 2048)
    assert bomb.stat().st_size < 3 * MiB
    script = (
        "import json, resource, sys\n"
        "from pathlib import Path\n"
        "from medcite.ingest.pipeline import Ingestor\n"
        "from medcite.store.sqlite import Store\n"
        "r = Ingestor(Store(Path(sys.argv[2]))).ingest([Path(sys.argv[1])])\n"
        "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:  # this process's own peak: ru_maxrss also carries the peak of the process it was forked from\n"
        "    rss = int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])\n"
        "except (OSError, StopIteration):\n"
        "    pass\n"
        "print(json.dumps({'errors': r.errors, 'failed': r.files_failed, 'rss_kb': rss}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(bomb), str(tmp_path / "s.db")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["failed"] == 1 and len(out["errors"]) == 1
    line = out["errors"][0]
    assert line.startswith(f"{bomb}: line 1 is larger than 32 MiB") and "ingest_max_record_bytes" in line
    assert "MEDCITE_INGEST_MAX_RECORD_BYTES" in line and "nothing from this file was stored" in line
    assert out["rss_kb"] < 400 * 1024, f"peak RSS {out['rss_kb'] // 1024} MB: the line was materialised"


def test_a_line_over_a_lowered_cap_is_one_error_line(tmp_path: Path) -> None:
    bomb = gz_bomb(tmp_path / "bomb.jsonl.gz", b'{"id": "x:1", "kind": "other", "sections": ["', 8)
    report, store = _ingest([bomb], tmp_path, Limits(record_bytes=MiB))
    assert report.files_failed == 1
    assert report.errors == [
        f"{bomb}: line 1 is larger than 1 MiB, the cap on one record (ingest_max_record_bytes) — if the file is "
        "genuine, raise the cap: MEDCITE_INGEST_MAX_RECORD_BYTES or ingest_max_record_bytes in medcite.toml "
        "(docs/configuration.md) — nothing from this file was stored"]
    assert store.document_count() == 0 if hasattr(store, "document_count") else not _doc_ids(store)


def test_a_gzip_bomb_of_blank_lines_stops_at_the_file_cap(tmp_path: Path) -> None:
    bomb = gz_bomb(tmp_path / "blank.jsonl.gz", _record("x:1", "Aspirin helps."), 16, fill=b"\n")
    report, store = _ingest([bomb], tmp_path, Limits(file_bytes=4 * MiB))
    assert report.files_failed == 1
    assert "larger than 4 MiB once decompressed" in report.errors[0] and "ingest_max_file_bytes" in report.errors[0]
    assert not _doc_ids(store)  # the record before the cap is rolled back with the file


def test_the_268_million_character_passage_case(tmp_path: Path) -> None:
    # the 255 KB gzip: one record whose one section is 268 million characters long
    bomb = gz_bomb(tmp_path / "passage.jsonl.gz", b'{"id": "x:1", "kind": "other", "sections": ["', 256,
                   tail=b'"]}')
    assert bomb.stat().st_size < 600 * 1024
    report, store = _ingest([bomb], tmp_path)
    assert report.files_failed == 1 and "ingest_max_record_bytes" in report.errors[0]
    assert not _doc_ids(store)
    # under the record cap but over the section cap: that record is skipped, the file's others are stored
    src = tmp_path / "sections.jsonl"
    src.write_bytes(_record("x:big", "a" * 300_000) + _record("x:ok", "Aspirin reduces pain."))
    report, store = _ingest([src], tmp_path, Limits(section_chars=100_000))
    assert report.files_failed == 0 and _doc_ids(store) == {"x:ok"}
    assert report.errors == [f"{src}: x:big: section 1 has 300,000 characters, over the cap of 100,000 "
                             "(ingest_max_section_chars) — record skipped"]


def test_document_and_section_count_caps(tmp_path: Path) -> None:
    many = {"id": "x:many", "kind": "other", "title": "t", "sections": [f"Part {i} text." for i in range(50)]}
    src = tmp_path / "caps.jsonl"
    src.write_bytes(json.dumps(many).encode() + b"\n" + _record("x:long", "word " * 3000))
    report, store = _ingest([src], tmp_path, Limits(sections=20, document_chars=10_000))
    assert not _doc_ids(store)
    assert "x:many: 50 sections, over the cap of 20 (ingest_max_sections)" in report.errors[0]
    assert "x:long: 14,999 characters, over the cap of 10,000 (ingest_max_document_chars)" in report.errors[1]


def test_deeply_nested_metadata_is_a_record_error(tmp_path: Path) -> None:
    deep: dict = {}
    for _ in range(100):
        deep = {"a": deep}
    rec = {"id": "x:deep", "kind": "other", "title": "t", "sections": ["Text."], "metadata": deep}
    src = tmp_path / "deep.jsonl"
    src.write_bytes(json.dumps(rec).encode() + b"\n" + _record("x:ok", "Aspirin reduces pain."))
    report, store = _ingest([src], tmp_path)
    assert _doc_ids(store) == {"x:ok"}
    assert any("nested more than 20 levels" in e for e in report.errors)


def test_a_bad_file_between_good_ones_does_not_stop_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a_good.jsonl").write_bytes(_record("x:a", "Aspirin reduces the risk of stroke."))
    gz_bomb(folder / "b_bomb.jsonl.gz", b'{"id": "x:b", "kind": "other", "sections": ["', 8)
    (folder / "c_pubmed.xml").write_bytes((FIX / "pubmed" / "baseline_sample.xml").read_bytes())
    (folder / "d_good.jsonl").write_bytes(_record("x:d", "Metformin lowers glucose."))
    svc = Medcite(Settings(db=tmp_path / "m.db", embedder="none", progress=False, cache_dir=tmp_path / "cache",
                           ingest_max_record_bytes=MiB))
    try:
        report = svc.ingest([folder])
        ids = _doc_ids(svc.store)
    finally:
        svc.close()
    assert report.files == 4 and report.files_failed == 1
    assert {"x:a", "x:d"} <= ids and any(i.startswith("pmid:") for i in ids) and "x:b" not in ids
    assert [e for e in report.errors if "b_bomb" in e][0].startswith(f"{folder / 'b_bomb.jsonl.gz'}: line 1 is larger")


def test_a_parser_that_runs_out_of_memory_fails_its_file_only(tmp_path: Path, monkeypatch) -> None:
    from medcite.ingest.jsonl import JsonlParser

    real = JsonlParser.parse

    def parse(self, stream, origin):
        if "bad" in origin:
            raise MemoryError
        return real(self, stream, origin)

    monkeypatch.setattr(JsonlParser, "parse", parse)
    (tmp_path / "a_bad.jsonl").write_bytes(_record("x:a", "Aspirin."))
    (tmp_path / "b_good.jsonl").write_bytes(_record("x:b", "Metformin."))
    report, store = _ingest([tmp_path / "a_bad.jsonl", tmp_path / "b_good.jsonl"], tmp_path)
    assert _doc_ids(store) == {"x:b"}
    assert report.errors[0].startswith(f"{tmp_path / 'a_bad.jsonl'}: ran out of memory reading this file")


def test_a_pubmed_record_over_the_cap_is_refused_while_streaming(tmp_path: Path) -> None:
    head = b'<?xml version="1.0"?>\n<PubmedArticleSet><PubmedArticle><MedlineCitation><Article><Abstract>'
    bomb = gz_bomb(tmp_path / "pubmed.xml.gz", head, 12, fill=b"<AbstractText>x</AbstractText>" * 2)
    report, store = _ingest([bomb], tmp_path, Limits(record_bytes=2 * MiB))
    assert report.files_failed == 1
    assert "one record is larger than 2 MiB" in report.errors[0] and "ingest_max_record_bytes" in report.errors[0]


@pytest.mark.parametrize("name", ["ngc.xml", "article.nxml"])
def test_a_whole_file_xml_over_the_record_cap_is_refused(tmp_path: Path, name: str) -> None:
    src = FIX / "ngc" / "ngc-11005.xml" if name == "ngc.xml" else FIX / "jats" / "research_article.nxml"
    (tmp_path / name).write_bytes(src.read_bytes())
    report, store = _ingest([tmp_path / name], tmp_path, Limits(record_bytes=4096))
    assert report.files_failed == 1
    assert "the file is larger than 4,096 bytes, the cap on one record" in report.errors[0]


def test_xml_text_nodes_and_depth_keep_libxml2s_caps(tmp_path: Path) -> None:
    sample = (FIX / "ngc" / "ngc-11005.xml").read_bytes()
    deep = tmp_path / "deep.xml"
    at = sample.rindex(b"</")
    deep.write_bytes(sample[:at] + b"<a>" * 5000 + b"</a>" * 5000 + sample[at:])
    huge = tmp_path / "huge-text.xml"
    huge.write_bytes(sample[:at] + b"<a>" + b"x" * (11 * MiB) + b"</a>" + sample[at:])
    report, _ = _ingest([deep, huge], tmp_path)
    assert report.files_failed == 2, report.errors
    assert all("Traceback" not in e for e in report.errors)


def test_no_passage_exceeds_the_chunker_limit(tmp_path: Path) -> None:
    text = ("A" * 5000) + " " + ("dose, " * 800) + "end. " + ("word " * 700)
    src = tmp_path / "long.jsonl"
    src.write_bytes(_record("x:long", text))
    report, store = _ingest([src], tmp_path)
    assert report.added == 1
    lengths = [r[0] for r in store.conn.execute("SELECT length(text) FROM passages")]
    assert len(lengths) > 10 and max(lengths) <= MAX_CHARS
