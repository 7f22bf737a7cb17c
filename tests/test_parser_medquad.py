"""MedQuAD question/answer XML parser: sniffing, field mapping, ids, layouts, broken files, real data."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest
from fuzzing import mutations
from hypothesis import given, settings
from hypothesis import strategies as st

from medcite.domain import DocKind, Document, RecordError
from medcite.errors import ParseError
from medcite.ingest.base import SNIFF_BYTES, open_source
from medcite.ingest.medquad import MedQuADParser, answer_text, question_text

FIX = Path(__file__).resolve().parent / "fixtures" / "medquad"
OTHER_FIX = Path(__file__).resolve().parent / "fixtures"


def parse_file(rel: str) -> list:
    path = FIX / rel
    with path.open("rb") as fh:
        return list(MedQuADParser().parse(fh, str(path)))


def parse_bytes(data: bytes, origin: str = "x.xml") -> list:
    return list(MedQuADParser().parse(io.BytesIO(data), origin))


def docs(events: list) -> list[Document]:
    return [e for e in events if isinstance(e, Document)]


# --- sniffing -----------------------------------------------------------------------------

_FIXTURES = sorted(str(p.relative_to(FIX)) for p in FIX.rglob("*.xml"))


@pytest.mark.parametrize("rel", _FIXTURES)
def test_sniff_fixtures(rel: str) -> None:
    head = (FIX / rel).read_bytes()[:SNIFF_BYTES]
    assert MedQuADParser().sniff(Path(rel).name, head)


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b'{"id": "local:1", "kind": "other"}',
        b'<?xml version="1.0"?><PubmedArticleSet><PubmedArticle>',
        b'<?xml version="1.0"?><document xmlns="urn:hl7-org:v3"><id root="x"/>',
        b"<Version>\n  <xmlSource>NGC</xmlSource><Section Name=\"General\">",
        b"<Document><Title>An unrelated vocabulary</Title></Document>",
        b"<doc><p>html-like</p></doc>",
        b"<root><!-- <Document id='1'><QAPairs> --></root>",
    ],
)
def test_sniff_negative(head: bytes) -> None:
    assert not MedQuADParser().sniff("file.xml", head)


def test_sniff_does_not_claim_other_fixtures() -> None:
    others = [OTHER_FIX / d for d in ("pubmed", "jats", "medquad", "ngc", "spl", "jsonl") if d != "medquad"]
    for path in (p for d in others if d.is_dir() for p in sorted(d.rglob("*"))):
        if path.is_file():
            assert not MedQuADParser().sniff(path.name, path.read_bytes()[:SNIFF_BYTES]), path


# --- mapping ------------------------------------------------------------------------------


def test_gard_pairs_become_documents_and_empty_answers_are_skipped() -> None:
    events = parse_file("2_GARD_QA/0000004.xml")
    assert all(isinstance(e, Document) for e in events)  # the empty answer is skipped silently
    first, third = events
    assert [first.doc_id, third.doc_id] == ["medquad:GARD-0000004-1", "medquad:GARD-0000004-3"]
    assert first.kind is DocKind.PATIENT_INFO
    assert first.title == "What are the symptoms of ABCD syndrome?"
    assert len(first.sections) == 1
    assert first.sections[0].heading == first.title
    assert first.sections[0].text.startswith("What are the signs and symptoms of ABCD syndrome?")
    assert first.source == "Genetic and Rare Diseases Information Center (GARD)"
    assert first.url == "https://rarediseases.info.nih.gov/gard/335/abcd-syndrome"
    assert first.license == "CC BY 4.0"
    assert first.year is None and first.date is None
    assert first.metadata["focus"] == "ABCD syndrome"
    assert first.metadata["synonyms"] == [
        "Albinism, Black lock, Cell migration disorder of the neurocytes of the gut and Deafness", "BADS"]
    assert first.metadata["cuis"] == ["C1838099"]
    assert first.metadata["semantic_types"] == ["T047"]
    assert first.metadata["semantic_group"] == "Disorders"
    assert first.metadata["qtype"] == "symptoms"
    assert first.metadata["question"] == first.title
    assert first.metadata["medquad_id"] == "0000004-1"
    assert third.metadata["qtype"] == "treatment"


def test_cancergov_bullets_paragraphs_and_file_name_disambiguation() -> None:
    (doc,) = parse_file("1_CancerGov_QA/0000013_2_1.xml")
    # <Document id="0000013_2"> is shared by 0000013_2.xml … 0000013_2_6.xml: the file name wins
    assert doc.doc_id == "medquad:CancerGov-0000013_2_1-1"
    assert doc.metadata["document_id"] == "0000013_2"
    assert doc.source == "National Cancer Institute (CancerGov)"
    lines = doc.sections[0].text.split("\n")
    assert lines[0] == "Key Points"
    assert lines[1:4] == [
        "• Polycythemia vera is a disease in which too many red blood cells are made in the bone marrow.",
        "• Symptoms of polycythemia vera include headaches and a feeling of fullness below the left ribs.",
        "• Special blood tests are used to diagnose polycythemia vera.",
    ]
    assert lines[-1] == "The spleen may swell as it works to remove the extra cells."


def test_lowercase_doc_layout() -> None:
    events = parse_file("6_NINDS_QA/0000007.xml")
    assert [d.doc_id for d in events] == ["medquad:NINDS-0000007-1", "medquad:NINDS-0000007-2"]
    doc = events[0]
    assert doc.title == "What is holmes-adie syndrome?"
    assert doc.source == "National Institute of Neurological Disorders and Stroke (NINDS)"
    assert doc.metadata["focus"] == "Holmes-Adie"
    assert doc.metadata["cuis"] == []
    assert "  " not in doc.sections[0].text


def test_disease_file_layout_and_question_cleanup() -> None:
    (doc,) = parse_file("9_CDC_QA/0000397.xml")
    assert doc.doc_id == "medquad:CDC-0000397-2"
    assert doc.title == "Who is at risk for Parasites - Taeniasis?"
    assert doc.source == "Centers for Disease Control and Prevention (CDC)"
    assert "don't" in doc.sections[0].text
    assert doc.sections[0].text.count("\n") == 1


def test_source_falls_back_to_the_folder_name() -> None:
    (doc,) = parse_file("3_GHR_QA/0000001.xml")
    assert doc.doc_id == "medquad:GHR-0000001-1"
    assert doc.source == "Genetics Home Reference"
    # without folder or attribute the source is "MedQuAD"
    data = (FIX / "3_GHR_QA/0000001.xml").read_bytes()
    (bare,) = parse_bytes(data, "0000001.xml")
    assert bare.doc_id == "medquad:MedQuAD-0000001-1"


def test_missing_pid_uses_position_and_duplicate_pid_is_a_record_error() -> None:
    data = (
        b'<Document id="9" source="NIDDK" url="u"><Focus>F</Focus><QAPairs>'
        b'<QAPair><Question qtype="x">Q one?</Question><Answer>A one.</Answer></QAPair>'
        b'<QAPair pid="1"><Question qtype="x">Q two?</Question><Answer>A two.</Answer></QAPair>'
        b"</QAPairs></Document>"
    )
    events = parse_bytes(data)
    assert events[0].doc_id == "medquad:NIDDK-9-1"
    assert isinstance(events[1], RecordError) and events[1].location == "record 2"


def test_answer_and_question_helpers() -> None:
    assert answer_text("Intro:    - one.    - two.\n   - three") == "Intro:\n• one.\n• two.\n• three"
    assert answer_text("First.      Second.") == "First.\nSecond."
    assert answer_text("a - b - c") == "a - b - c"  # single-spaced hyphens are not bullets
    assert question_text("what is (are) X ? ?") == "What is (are) X?"


# --- broken files -------------------------------------------------------------------------


def test_truncated_file_raises_parse_error_with_line() -> None:
    data = (FIX / "2_GARD_QA/0000004.xml").read_bytes()[:900]
    with pytest.raises(ParseError) as info:
        parse_bytes(data, "t.xml")
    assert info.value.location.startswith("line ")
    assert info.value.path == "t.xml"


@pytest.mark.parametrize("data", [b"<PubmedArticleSet/>", b"<Focus>x</Focus>"])
def test_wrong_root_raises(data: bytes) -> None:
    with pytest.raises(ParseError, match="wrong root"):
        parse_bytes(data)


def test_no_pairs_yields_nothing() -> None:
    assert parse_bytes(b'<Document id="1" source="GARD"><Focus>F</Focus><QAPairs/></Document>') == []


def test_deterministic_output() -> None:
    a = [d.content_hash() for d in docs(parse_file("2_GARD_QA/0000004.xml"))]
    b = [d.content_hash() for d in docs(parse_file("2_GARD_QA/0000004.xml"))]
    assert a == b and len(set(a)) == 2


# --- fuzzing ------------------------------------------------------------------------------

_SAMPLES = [(FIX / rel).read_bytes() for rel in _FIXTURES]


def mutated():
    return mutations(_SAMPLES)


def _check(data: bytes) -> None:
    assert isinstance(MedQuADParser().sniff("x.xml", data[:SNIFF_BYTES]), bool)
    try:
        events = parse_bytes(data, "fuzz/1_CancerGov_QA/0000001_1.xml")
    except ParseError:
        return
    for e in events:
        assert isinstance(e, (Document, RecordError))
        if isinstance(e, Document):
            assert e.doc_id.startswith("medquad:") and e.sections and all(s.text for s in e.sections)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes(data: bytes) -> None:
    _check(data)


@settings(max_examples=150, deadline=None)
@given(mutated())
def test_fuzz_mutated_fixture(data: bytes) -> None:
    _check(data)


# --- real shared data ---------------------------------------------------------------------


@pytest.mark.slow
def test_real_corpus_all_answered_pairs_with_unique_ids(shared: Path) -> None:
    """Every answered pair of the 5,497 files, ids unique across sources and files.

    The collection holds 16,428 pairs (16,412 ``<QAPair>`` + 16 ``<pair>`` in the four ``<doc>``-layout NINDS
    files); 5 ``<QAPair>`` have an empty ``<Answer>``, which leaves 16,423 documents.
    """
    files = sorted((shared / "corpus" / "medquad").glob("*/*.xml"))
    assert len(files) == 5497
    parser = MedQuADParser()
    ids: Counter[str] = Counter()
    errors = 0
    for path in files:
        with open_source(path) as fh:
            for e in parser.parse(fh, str(path)):
                if isinstance(e, Document):
                    ids[e.doc_id] += 1
                else:
                    errors += 1
    assert errors == 0
    assert sum(ids.values()) == 16423
    assert len(ids) == 16423  # unique
    assert ids["medquad:GARD-0000004-1"] == 1 and ids["medquad:CancerGov-0000013_2_1-1"] == 1


def test_stream_parse_error_propagates() -> None:
    class Broken(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data = data
            self.calls = 0

        def readable(self) -> bool:
            return True

        def readinto(self, b) -> int:
            self.calls += 1
            if self.calls > 1:
                raise ParseError("corrupt or truncated gzip data", path="f.xml.gz")
            n = min(len(b), len(self.data))
            b[:n] = self.data[:n]
            return n

    data = (FIX / "2_GARD_QA/0000004.xml").read_bytes()[:600]
    with pytest.raises(ParseError, match="gzip"):
        list(MedQuADParser().parse(io.BufferedReader(Broken(data), buffer_size=256), "f.xml.gz"))
