"""FDA SPL drug label parser: sniffing, field mapping, section tree, broken files, real data."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from fuzzing import mutations
from hypothesis import given, settings
from hypothesis import strategies as st

from medcite.domain import DocKind, Document, RecordError
from medcite.errors import ParseError
from medcite.ingest.base import SNIFF_BYTES, open_source
from medcite.ingest.spl import SPLParser

FIX = Path(__file__).resolve().parent / "fixtures" / "spl"
OTHER_FIX = Path(__file__).resolve().parent / "fixtures"


def parse_file(name: str) -> list:
    path = FIX / name
    with path.open("rb") as fh:
        return list(SPLParser().parse(fh, str(path)))


def parse_bytes(data: bytes, origin: str = "x.xml") -> list:
    return list(SPLParser().parse(io.BytesIO(data), origin))


# --- sniffing -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["label.xml", "no-title.xml", "indexing.xml"])
def test_sniff_fixtures(name: str) -> None:
    assert SPLParser().sniff(name, (FIX / name).read_bytes()[:SNIFF_BYTES])


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b'<?xml version="1.0"?><ClinicalDocument xmlns="urn:hl7-org:v3"><id root="1"/>',  # CDA, not SPL
        b"<document><title>No HL7 namespace</title></document>",
        b'<?xml version="1.0"?><Document id="1" source="GARD"><Focus>x</Focus>',
        b'<PubmedArticleSet><!-- urn:hl7-org:v3 <document --></PubmedArticleSet>',
        b'{"id": "spl:1", "kind": "drug_label", "note": "urn:hl7-org:v3 <document"}',
    ],
)
def test_sniff_negative(head: bytes) -> None:
    assert not SPLParser().sniff("file.xml", head)


def test_sniff_does_not_claim_other_fixtures() -> None:
    others = [OTHER_FIX / d for d in ("pubmed", "jats", "medquad", "ngc", "spl", "jsonl") if d != "spl"]
    for path in (p for d in others if d.is_dir() for p in sorted(d.rglob("*"))):
        if path.is_file():
            assert not SPLParser().sniff(path.name, path.read_bytes()[:SNIFF_BYTES]), path


# --- mapping ------------------------------------------------------------------------------


def test_prescription_label() -> None:
    (doc,) = parse_file("label.xml")
    assert doc.doc_id == "spl:bbbb2222-0000-4000-8000-000000000002"  # the setId, not the version's id
    assert doc.version == 3
    assert doc.kind is DocKind.DRUG_LABEL
    assert (doc.date, doc.year) == ("2014-01-13", 2014)
    # highlights boilerplate and "Initial U.S. Approval" are not part of the title
    assert doc.title == "EXAMPLOR® (examplastatin calcium) tablets, for oral use"
    assert doc.source == "Example Pharma Inc"
    assert doc.url == "https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid=bbbb2222-0000-4000-8000-000000000002"
    assert doc.license == "CC0"
    meta = doc.metadata
    assert meta["spl_id"] == "aaaa1111-0000-4000-8000-000000000001"
    assert meta["products"] == ["Examplor 10 mg"]
    assert meta["generic_names"] == ["examplastatin calcium"]
    assert meta["loinc_sections"][:4] == ["48780-1", "34066-1", "34067-9", "34068-7"]
    assert meta["initial_us_approval"] == 1996
    assert meta["spl_title"].startswith("These highlights do not include")

    sections = {s.heading: s.text for s in doc.sections}
    assert list(sections) == [
        "Boxed warning",
        "1 INDICATIONS AND USAGE",
        "2 DOSAGE AND ADMINISTRATION › 2.1 Adults",
        "6 ADVERSE REACTIONS",
        "16 HOW SUPPLIED/STORAGE AND HANDLING",
        "16 HOW SUPPLIED/STORAGE AND HANDLING › Storage and handling",
    ]  # the product-data and image-only sections have no text and are skipped
    assert sections["Boxed warning"] == "WARNING: MUSCLE INJURY\nRhabdomyolysis has been reported with this drug."
    indications = sections["1 INDICATIONS AND USAGE"]
    assert indications == ("EXAMPLOR is indicated as an adjunct to diet to reduce elevated LDL-C "
                           "[see Clinical Studies (14)].")
    assert "HIGHLIGHT" not in " ".join(sections.values())  # highlights excerpts duplicate the full text
    assert sections["2 DOSAGE AND ADMINISTRATION › 2.1 Adults"].split("\n") == [
        "• The recommended starting dose is 10 mg once daily.", "• The dosage range is 10 to 80 mg once daily."]
    # table rows one per line, cells joined by " | "; the untitled unclassified child continues its parent
    assert sections["6 ADVERSE REACTIONS"].split("\n") == [
        "The most common adverse reactions were:",
        "Table 1. Adverse Reactions",
        "Reaction | EXAMPLOR (%) | Placebo (%)",
        "Myalgia | 3.5 | 1.2",
        "Nausea | 2.0 | 1.8",
        "Muscle pain was the most frequent reason for stopping treatment.",
    ]
    assert sections["16 HOW SUPPLIED/STORAGE AND HANDLING"] == "10 mg tablets: bottles of 90\nNDC 0071-0155-23"


def test_label_without_title_uses_product_name_and_bad_version_defaults_to_1() -> None:
    (doc,) = parse_file("no-title.xml")
    assert doc.title == "Haloperidol label"
    assert doc.version == 1
    assert doc.source == "Contract Pharmacy Services-PA"
    assert [s.heading for s in doc.sections] == ["WARNINGS › Tardive Dyskinesia"]


def test_pharmacologic_class_indexing_file() -> None:
    (doc,) = parse_file("indexing.xml")
    assert doc.title == "METHOXSALEN Pharmacologic Class Indexing"
    assert doc.metadata["products"] == ["METHOXSALEN"]
    assert doc.metadata["document_type"] == "Indexing - Pharmacologic Class"
    (section,) = doc.sections
    assert section.heading == "Pharmacologic class"
    assert section.text == "METHOXSALEN: Photoactivated Radical Generator [EPC]; Psoralen [EPC]."


def test_drug_facts_title_names_the_product() -> None:
    data = (FIX / "no-title.xml").read_bytes().replace(b"<title/>", b"<title>Drug Facts</title>", 1)
    (doc,) = parse_bytes(data)
    assert doc.title == "Haloperidol (Drug Facts)"


def test_missing_set_id_or_text_is_a_record_error() -> None:
    data = (FIX / "no-title.xml").read_bytes()
    (event,) = parse_bytes(re.sub(rb"<setId [^>]*/>", b"", data))
    assert isinstance(event, RecordError) and "setId" in event.message
    (event,) = parse_bytes(re.sub(rb"<text>.*?</text>", b"", data, flags=re.S))
    assert isinstance(event, RecordError) and "section" in event.message


# --- broken files -------------------------------------------------------------------------


def test_truncated_file_raises_parse_error_with_line() -> None:
    data = (FIX / "label.xml").read_bytes()[:3000]
    with pytest.raises(ParseError) as info:
        parse_bytes(data)
    assert info.value.location.startswith("line ")


@pytest.mark.parametrize("data", [
    b'<ClinicalDocument xmlns="urn:hl7-org:v3"><setId root="x"/></ClinicalDocument>',
    b'<document><setId root="x"/></document>',  # no HL7 namespace
])
def test_wrong_root_raises(data: bytes) -> None:
    with pytest.raises(ParseError, match="wrong root"):
        parse_bytes(data)


def test_deterministic_output() -> None:
    assert [d.content_hash() for d in parse_file("label.xml")] == [d.content_hash() for d in parse_file("label.xml")]


# --- fuzzing ------------------------------------------------------------------------------

_SAMPLES = [(FIX / n).read_bytes() for n in ("label.xml", "no-title.xml", "indexing.xml")]


def mutated():
    return mutations(_SAMPLES)


def _check(data: bytes) -> None:
    assert isinstance(SPLParser().sniff("x.xml", data[:SNIFF_BYTES]), bool)
    try:
        events = parse_bytes(data)
    except ParseError:
        return
    assert len(events) == 1
    (e,) = events
    assert isinstance(e, (Document, RecordError))
    if isinstance(e, Document):
        assert e.doc_id.startswith("spl:") and e.sections and all(s.text for s in e.sections)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes(data: bytes) -> None:
    _check(data)


@settings(max_examples=150, deadline=None)
@given(mutated())
def test_fuzz_mutated_fixture(data: bytes) -> None:
    _check(data)


# --- real shared data ---------------------------------------------------------------------


def test_real_labels(shared: Path) -> None:
    files = sorted((shared / "corpus" / "spl").glob("*.xml"))
    assert len(files) == 6
    parser = SPLParser()
    docs: dict[str, Document] = {}
    for path in files:
        assert parser.sniff(path.name, path.read_bytes()[:SNIFF_BYTES])
        with open_source(path) as fh:
            (event,) = list(parser.parse(fh, str(path)))
        assert isinstance(event, Document), (path, event)
        docs[path.name] = event
    assert len({d.doc_id for d in docs.values()}) == 6
    orig, repack = docs["lipitor-orig.xml"], docs["lipitor-repack.xml"]
    # the same drug relabelled by a repackager: two label sets, two documents with the same title
    assert orig.doc_id != repack.doc_id
    assert orig.title == repack.title == "LIPITOR® (atorvastatin calcium) Tablets for oral administration"
    assert (orig.source, orig.version) == ("Parke-Davis Div of Pfizer Inc", 11)
    assert (repack.source, repack.version) == ("PD-Rx Pharmaceuticals, Inc.", 8)
    assert docs["no-title.xml"].title == "Haloperidol label"
    assert docs["cough.xml"].title == "TRIAMINIC Childrens Night Time Cold and Cough (Drug Facts)"
    assert docs["METHOXSALEN.xml"].sections[0].heading == "Pharmacologic class"
    viagra = docs["64f8040f-938d-4236-8e22-c838c9b5f8da.xml"]
    assert viagra.doc_id == "spl:0b0be196-0c62-461c-94f4-9a35339b4501" and viagra.version == 20
    assert "5 WARNINGS AND PRECAUTIONS › 5.3 Effects on the Eye" in {s.heading for s in viagra.sections}
