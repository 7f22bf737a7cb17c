"""JSON-lines parser: sniffing, the three layouts, per-line errors, file-level errors, round trip, real data."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
from fuzzing import mutations
from hypothesis import given, settings
from hypothesis import strategies as st

from medcite.domain import Deletion, DocKind, DocStatus, Document, RecordError, Section
from medcite.errors import ParseError
from medcite.ingest.base import SNIFF_BYTES, open_source
from medcite.ingest.jsonl import JsonlParser, document_to_record, infer_kind, infer_title

FIX = Path(__file__).resolve().parent / "fixtures" / "jsonl"
OTHER_FIX = Path(__file__).resolve().parent / "fixtures"


def parse_file(name: str) -> list:
    path = FIX / name
    with path.open("rb") as fh:
        return list(JsonlParser().parse(fh, str(path)))


def parse_bytes(data: bytes, origin: str = "x.jsonl") -> list:
    return list(JsonlParser().parse(io.BytesIO(data), origin))


def line(obj: dict) -> bytes:
    return json.dumps(obj).encode() + b"\n"


# --- sniffing -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["medcite.jsonl", "rct.jsonl", "pubmedqa.jsonl", "mixed.jsonl", "array.json"])
def test_sniff_fixtures(name: str) -> None:
    assert JsonlParser().sniff(name, (FIX / name).read_bytes()[:SNIFF_BYTES])


@pytest.mark.parametrize(
    ("name", "head", "expected"),
    [
        ("a.jsonl", b'{"id": "x:1"}\n', True),
        ("a.ndjson", b'\xef\xbb\xbf\n\n  {"id": "x:1"}', True),
        ("A.JSONL", b'{"id"', True),
        ("a.json", b'[\n {"id": "x:1"}', True),
        ("a.json", b"[]", True),
        ("a.json", b'{"id": "x:1", "kind": "other"}\n{"id": "x:2"', True),  # JSON lines named .json
        ("a.json", b'{"dataset": {"q1": {"question": "truncated', False),  # one big object, not JSON lines
        ("a.json", b"[1, 2, 3]", False),
        ("a.jsonl", b"[1, 2]", False),
        ("a.jsonl", b"", False),
        ("a.jsonl", b"\x00\x01binary", False),
        ("a.txt", b'{"id": "x:1"}', False),
        ("a.xml", b'{"id": "x:1"}', False),
    ],
)
def test_sniff(name: str, head: bytes, expected: bool) -> None:
    assert JsonlParser().sniff(name, head) is expected


def test_sniff_does_not_claim_other_fixtures() -> None:
    others = [OTHER_FIX / d for d in ("pubmed", "jats", "medquad", "ngc", "spl", "jsonl") if d != "jsonl"]
    for path in (p for d in others if d.is_dir() for p in sorted(d.rglob("*"))):
        if path.is_file():
            assert not JsonlParser().sniff(path.name, path.read_bytes()[:SNIFF_BYTES]), path


# --- layout (a): medcite ------------------------------------------------------------------


def test_medcite_layout() -> None:
    full, untitled, by_pubtype, deletion = parse_file("medcite.jsonl")
    assert full == Document(
        doc_id="local:aspirin-2024",
        kind=DocKind.GUIDELINE,
        title="Aspirin for primary prevention",
        sections=(
            Section("Recommendation", "Do not start low-dose aspirin for primary prevention in adults aged 60 or "
                                      "older.\nThe net benefit is small."),
            Section("Rationale", "Bleeding risk rises with age."),  # the blank "Harms" section is dropped
        ),
        source="Example Task Force", date="2022-04-26", year=2022, authors=("Smith J", "Doe A"),
        url="https://example.org/aspirin", doi="10.1000/xyz", mesh_terms=("Aspirin", "Primary Prevention"),
        license="CC BY 4.0", version=2, metadata={"grades": ["C", "D"]},
    )
    assert untitled.title == "Statins lower LDL cholesterol."
    assert untitled.metadata == {"title_inferred": True}
    assert untitled.sections == (Section("Text", "Statins lower LDL cholesterol. They reduce cardiovascular events."),)
    assert by_pubtype.kind is DocKind.RANDOMIZED_TRIAL and by_pubtype.year == 2019
    assert deletion == Deletion("local:old-leaflet", version=3)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"kind": "other", "sections": [{"text": "x"}]}, 'without "id"'),
        ({"id": "nocolon", "kind": "other", "sections": [{"text": "x"}]}, "prefix:value"),
        ({"id": 5, "kind": "other", "sections": [{"text": "x"}]}, '"id" must be a string'),
        ({"id": "a:1", "kind": "anecdote", "sections": [{"text": "x"}]}, '"kind" must be one of'),
        ({"id": "a:1", "kind": "other"}, '"sections" must be a list'),
        ({"id": "a:1", "kind": "other", "sections": [{"text": " "}]}, "no section with text"),
        ({"id": "a:1", "kind": "other", "sections": [3]}, '"sections" must be a list'),
        ({"id": "a:1", "kind": "other", "sections": ["x"], "date": "26/04/2022"}, '"date" must be'),
        ({"id": "a:1", "kind": "other", "sections": ["x"], "date": "2022-02-30"}, "not a valid date"),
        ({"id": "a:1", "kind": "other", "sections": ["x"], "year": "soon"}, '"year"'),
        ({"id": "a:1", "kind": "other", "sections": ["x"], "version": 0}, '"version"'),
        ({"id": "a:1", "kind": "other", "sections": ["x"], "status": "gone"}, '"status"'),
        ({"id": "a:1", "kind": "other", "sections": ["x"], "metadata": []}, '"metadata"'),
        ({"id": "a:1", "kind": "other", "sections": ["x"], "authors": [{"n": 1}]}, '"authors"'),
        ({"id": "a:1", "kind": "other", "sections": ["x"], "title": ["t"]}, '"title" must be a string'),
    ],
)
def test_medcite_record_errors(record: dict, message: str) -> None:
    good = {"id": "a:ok", "kind": "other", "sections": ["fine"]}
    events = parse_bytes(line(good) + line(record))
    assert isinstance(events[0], Document)
    assert isinstance(events[1], RecordError), events[1]
    assert message in events[1].message and events[1].location == "line 2"


def test_medcite_year_from_date_and_lone_surrogates_dropped() -> None:
    (doc,) = parse_bytes(b'{"id": "a:1", "kind": "review", "date": "2020-02", "title": "T\\ud800 x", '
                         b'"sections": [{"heading": "H", "text": "Body\\udfff text."}]}\n')
    assert (doc.date, doc.year) == ("2020-02", 2020)
    assert doc.title == "T x" and doc.sections[0].text == "Body text."


# --- layout (b): articles -----------------------------------------------------------------


def test_article_layout() -> None:
    titled, untitled, running, empty = parse_file("rct.jsonl")
    assert titled.doc_id == "pmc:PMC1065065"
    assert titled.kind is DocKind.RANDOMIZED_TRIAL
    assert titled.title == "Effects of lornoxicam on the physiology of severe sepsis"
    assert titled.source == "Critical Care"
    assert (titled.year, titled.date) == (2005, "2005")
    assert (titled.pmid, titled.pmcid, titled.doi) == ("15774050", "PMC1065065", "10.1186/cc3015")
    assert titled.license == "CC BY 2.0"
    assert titled.url == "https://pmc.ncbi.nlm.nih.gov/articles/PMC1065065/"
    assert [s.heading for s in titled.sections] == [
        "INTRODUCTION", "METHODS", "RESULTS", "CONCLUSION",  # the abstract, label by label
        "INTRODUCTION", "METHODS › STATISTICAL ANALYSIS",  # the body; competing interests dropped
    ]
    assert titled.sections[2].text == "No significant differences were found (P > 0.05)."
    assert "metadata" not in titled.metadata and "title_inferred" not in titled.metadata

    assert untitled.title == "Twenty-four unmedicated patients with parasomnia were randomised to two groups."
    assert untitled.metadata["title_inferred"] is True
    assert untitled.license == "CC0 1.0"
    assert untitled.pmid is None and untitled.url == "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC2000001/"

    # a running title glued to the title is cut; the abstract that spilled into "title" is recovered
    assert running.title == "Long-Term Impact of Malaria Chemoprophylaxis on Cognitive Abilities: " \
                            "Follow-Up of a Controlled Trial"
    assert [s.heading for s in running.sections] == ["OBJECTIVE", "Main text"]
    assert running.license == "CC BY 3.0"

    assert isinstance(empty, RecordError) and empty.location == "line 4"


@pytest.mark.parametrize(
    ("doc_type", "kind"),
    [
        ("randomized_controlled_trial", DocKind.RANDOMIZED_TRIAL),
        ("systematic_review", DocKind.SYSTEMATIC_REVIEW),
        ("Meta-Analysis", DocKind.SYSTEMATIC_REVIEW),
        ("case_report", DocKind.CASE_REPORT),
        ("practice guideline", DocKind.GUIDELINE),
        ("editorial", DocKind.OTHER),
        ("", DocKind.OTHER),
    ],
)
def test_article_kinds(doc_type: str, kind: DocKind) -> None:
    (doc,) = parse_bytes(line({"id": "pmc:PMC1", "doc_type": doc_type, "title": "An article about things",
                               "abstract": "Text."}))
    assert doc.kind is kind


# --- layout (c): PubMedQA -----------------------------------------------------------------


def test_pubmedqa_layout() -> None:
    plain, retro = parse_file("pubmedqa.jsonl")
    assert plain.doc_id == "pmid:21645374" and plain.pmid == "21645374"
    assert [s.heading for s in plain.sections] == ["BACKGROUND", "RESULTS", "CONCLUSIONS"]
    assert plain.title == "Results depicted mitochondrial dynamics in vivo as PCD progresses within the lace plant."
    assert plain.metadata == {"title_inferred": True, "kind_inferred": True}
    assert plain.url == "https://pubmed.ncbi.nlm.nih.gov/21645374/"
    assert plain.mesh_terms == ("Alismataceae", "Apoptosis", "Mitochondria")
    assert (plain.year, plain.kind) == (2011, DocKind.OTHER)
    assert retro.year is None
    assert retro.sections[0].heading == "Abstract"  # "UNLABELLED"
    assert retro.kind is DocKind.OBSERVATIONAL  # MeSH "Retrospective Studies"


@pytest.mark.parametrize(
    ("text", "mesh", "kind"),
    [
        ("We performed a systematic review and meta-analysis of randomized trials.", (), DocKind.SYSTEMATIC_REVIEW),
        ("Patients were randomised in a double-blind trial.", (), DocKind.RANDOMIZED_TRIAL),
        ("Patients were randomly assigned; the trial ended early.", (), DocKind.RANDOMIZED_TRIAL),
        ("Randomized patients were followed.", (), DocKind.OTHER),  # "randomized" without "trial"
        ("A retrospective cohort of 300 patients.", (), DocKind.OBSERVATIONAL),
        ("Charts were reviewed.", ("Cross-Sectional Studies",), DocKind.OBSERVATIONAL),
        ("We report a case of a 60-year-old man.", (), DocKind.CASE_REPORT),
        ("Mice were exposed to smoke.", (), DocKind.OTHER),
    ],
)
def test_infer_kind(text: str, mesh: tuple, kind: DocKind) -> None:
    assert infer_kind(text, mesh) is kind


def test_infer_title() -> None:
    assert infer_title("Background: Sepsis kills. More text.") == "Sepsis kills."
    long = "word " * 100
    title = infer_title(long)
    assert title.endswith("…") and len(title) <= 201 and " wor…" not in title


# --- mixed files, per-line and file-level errors --------------------------------------------


def test_mixed_file_keeps_good_lines_and_reports_bad_ones() -> None:
    events = parse_file("mixed.jsonl")
    kinds = [(type(e).__name__, getattr(e, "location", None) or e.doc_id) for e in events]
    assert kinds == [
        ("Document", "local:first"),
        ("RecordError", "line 3"),  # not JSON (line 2 is blank)
        ("RecordError", "line 4"),  # not an object
        ("RecordError", "line 5"),  # no known layout
        ("RecordError", "line 6"),  # no id
        ("RecordError", "line 7"),  # id without prefix
        ("RecordError", "line 8"),  # unknown kind
        ("RecordError", "line 9"),  # no text
        ("Document", "pmid:25007420"),  # PubMedQA layout
        ("Document", "pmc:PMC3000003"),  # article layout
    ]
    assert "not valid JSON" in events[1].message
    assert events[-2].kind is DocKind.RANDOMIZED_TRIAL
    assert events[-1].kind is DocKind.SYSTEMATIC_REVIEW and events[-1].year == 2015


def test_json_array_file() -> None:
    events = parse_file("array.json")
    assert [e.doc_id for e in events[:2]] == ["local:a1", "local:a2"]
    assert isinstance(events[2], RecordError) and events[2].location == "record 3"
    with pytest.raises(ParseError, match="not valid JSON"):
        parse_bytes(b'[{"id": "a:1", "kind": "other", "sections": ["x"]}', "a.json")
    with pytest.raises(ParseError):
        parse_bytes(b"[]", "a.json")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\n\n   \n",
        b"not json at all\nstill not json\n",
        b'{"title": "no layout"}\n{"also": "nothing"}\n',
        b'{"id": "a:1", "kind": "other", "sections": []}\n',
        bytes(range(256)) * 4,  # binary named .jsonl
        b'{"id": "a:1", "kind": "other", "sections": ["caf\xe9"]}\n',  # Latin-1, not UTF-8
    ],
)
def test_unusable_files_raise_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_bytes(data, "bad.jsonl")
    assert info.value.path == "bad.jsonl"


def test_non_utf8_after_good_lines_is_a_file_error_with_line() -> None:
    good = line({"id": "a:1", "kind": "other", "sections": ["x"]})
    with pytest.raises(ParseError, match="UTF-8") as info:
        parse_bytes(good + b'{"id": "a:2", "kind": "other", "sections": ["\xff"]}\n')
    assert info.value.location == "line 2"


def test_leading_errors_are_reported_once_a_good_line_follows() -> None:
    events = parse_bytes(b"oops\n" + line({"id": "a:1", "kind": "other", "sections": ["x"]}))
    assert isinstance(events[0], RecordError) and events[0].location == "line 1"
    assert isinstance(events[1], Document)


def test_gzip_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl.gz"
    path.write_bytes(gzip.compress(b"\xef\xbb\xbf" + (FIX / "medcite.jsonl").read_bytes()))
    with open_source(path) as fh:
        events = list(JsonlParser().parse(fh, str(path)))
    assert len(events) == 4 and events[0].doc_id == "local:aspirin-2024"


def test_deterministic_output() -> None:
    a = [e.content_hash() for e in parse_file("rct.jsonl") if isinstance(e, Document)]
    b = [e.content_hash() for e in parse_file("rct.jsonl") if isinstance(e, Document)]
    assert a == b and len(set(a)) == 3


# --- round trip ---------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@st.composite
def documents(draw) -> Document:
    sections = tuple(
        Section(draw(_text), draw(_text)) for _ in range(draw(st.integers(1, 3)))
    )
    return Document(
        doc_id=draw(st.from_regex(r"[a-z]{1,5}:[A-Za-z0-9._-]{1,12}", fullmatch=True)),
        kind=draw(st.sampled_from(list(DocKind))),
        title=draw(_text),
        sections=sections,
        source=draw(_text),
        date=draw(st.sampled_from([None, "2020", "2019-07", "2001-02-28"])),
        authors=tuple(draw(st.lists(_text, max_size=3))),
        url=draw(_text),
        doi=draw(st.none() | _text),
        mesh_terms=tuple(draw(st.lists(_text, max_size=3))),
        status=draw(st.sampled_from([DocStatus.ACTIVE, DocStatus.RETRACTED, DocStatus.SUPERSEDED])),
        version=draw(st.integers(1, 10**6)),
        metadata=draw(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3)),
    )


@settings(max_examples=150, deadline=None)
@given(documents())
def test_round_trip_is_stable(doc: Document) -> None:
    """Writing a parsed document back with document_to_record and parsing it again changes nothing."""
    events = parse_bytes(line(document_to_record(doc)) + line({"id": "z:keep", "kind": "other", "sections": ["k"]}))
    first = events[0]
    if isinstance(first, RecordError):
        assert "no section with text" in first.message  # every section was blank
        return
    again = parse_bytes(line(document_to_record(first)))[0]
    assert again == first
    assert again.content_hash() == first.content_hash()
    assert first.doc_id == doc.doc_id and first.kind == doc.kind and first.version == doc.version


# --- fuzzing ------------------------------------------------------------------------------

_SAMPLES = [(FIX / n).read_bytes() for n in ("medcite.jsonl", "rct.jsonl", "pubmedqa.jsonl", "mixed.jsonl")]


def mutated():
    return mutations(_SAMPLES, inserts=(b"{", b"}", b'"', b"[", b"\n", b"\\u", b"\\ud800", b"\xff", b"<", b"&"), droppable=rb'[}\]"]')


def _check(data: bytes, name: str = "x.jsonl") -> None:
    assert isinstance(JsonlParser().sniff(name, data[:SNIFF_BYTES]), bool)
    try:
        events = parse_bytes(data, name)
    except ParseError:
        return
    for e in events:
        assert isinstance(e, (Document, Deletion, RecordError))
        if isinstance(e, Document):
            assert ":" in e.doc_id and e.sections and all(s.text for s in e.sections)
            json.dumps(dict(e.metadata))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes(data: bytes) -> None:
    _check(data)


@settings(max_examples=150, deadline=None)
@given(mutated())
def test_fuzz_mutated_fixture(data: bytes) -> None:
    _check(data)
    _check(data, "x.json")


# --- real shared data ---------------------------------------------------------------------


def _parse_real(path: Path) -> tuple[list[Document], list[RecordError]]:
    parser = JsonlParser()
    assert parser.sniff(path.name, path.read_bytes()[:SNIFF_BYTES])
    with open_source(path) as fh:
        events = list(parser.parse(fh, str(path)))
    return [e for e in events if isinstance(e, Document)], [e for e in events if isinstance(e, RecordError)]


@pytest.mark.slow
def test_real_rct_file(shared: Path) -> None:
    """2,527 lines: 2,526 documents; PMC2206488 has no title, abstract or section text at all."""
    docs, errors = _parse_real(shared / "corpus" / "rct" / "pmc_rct_ccby.jsonl")
    assert len(docs) == 2526 and len({d.doc_id for d in docs}) == 2526
    assert [(e.location, e.message.split(":")[0]) for e in errors] == [("line 177", "pmc")]
    assert "PMC2206488" in errors[0].message
    assert all(d.kind is DocKind.RANDOMIZED_TRIAL and d.doc_id.startswith("pmc:PMC") for d in docs)
    assert all(d.title and not d.title.upper().startswith("ABSTRACT") and "\n" not in d.title for d in docs)
    assert sum(bool(d.metadata.get("title_inferred")) for d in docs) > 1900
    assert not any(s.heading.upper().startswith("COMPETING INTEREST") for d in docs for s in d.sections)


def test_real_pubmedqa_file(shared: Path) -> None:
    docs, errors = _parse_real(shared / "corpus" / "pubmedqa" / "pqal_abstracts.jsonl")
    assert errors == []
    assert len(docs) == 1000 and len({d.doc_id for d in docs}) == 1000
    assert all(d.doc_id == f"pmid:{d.pmid}" and d.sections[-1].heading == "CONCLUSIONS" for d in docs)
    assert all(d.metadata["title_inferred"] for d in docs)
    kinds = {d.kind for d in docs}
    assert DocKind.OBSERVATIONAL in kinds and DocKind.RANDOMIZED_TRIAL in kinds
