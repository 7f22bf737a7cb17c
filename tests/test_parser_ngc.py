"""National Guideline Clearinghouse XML parser: sniffing, field mapping, grades, dates, broken files, real data."""

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
from medcite.ingest.ngc import SECTION_FIELDS, NGCParser, fix_mojibake

FIX = Path(__file__).resolve().parent / "fixtures" / "ngc"
OTHER_FIX = Path(__file__).resolve().parent / "fixtures"


def parse_file(name: str, origin: str | None = None) -> list:
    path = FIX / name
    with path.open("rb") as fh:
        return list(NGCParser().parse(fh, origin or str(path)))


def parse_bytes(data: bytes, origin: str = "ngc-1.xml") -> list:
    return list(NGCParser().parse(io.BytesIO(data), origin))


# --- sniffing -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ngc-11005.xml", "ngc-10511.xml"])
def test_sniff_fixtures(name: str) -> None:
    assert NGCParser().sniff(name, (FIX / name).read_bytes()[:SNIFF_BYTES])


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"<Version>1.0</Version>",
        b'<?xml version="1.0"?><Version><Section Name="x"></Section></Version>',  # no Field
        b'<?xml version="1.0"?><Document id="1" source="GARD"><Focus>x</Focus><QAPairs>',
        b'<PubmedArticleSet><PubmedArticle><Section Name="x"><Field Name="y">',
        b'{"id": "ngc:1", "kind": "guideline", "sections": []}',
        b'<config><Version>2</Version><Section Name="a"><Field Name="b"/></Section></config>',
    ],
)
def test_sniff_negative(head: bytes) -> None:
    assert not NGCParser().sniff("file.xml", head)


def test_sniff_does_not_claim_other_fixtures() -> None:
    others = [OTHER_FIX / d for d in ("pubmed", "jats", "medquad", "ngc", "spl", "jsonl") if d != "ngc"]
    for path in (p for d in others if d.is_dir() for p in sorted(d.rglob("*"))):
        if path.is_file():
            assert not NGCParser().sniff(path.name, path.read_bytes()[:SNIFF_BYTES]), path


# --- mapping ------------------------------------------------------------------------------


def test_uspstf_summary() -> None:
    (doc,) = parse_file("ngc-11005.xml")
    assert doc.doc_id == "ngc:11005"
    assert doc.kind is DocKind.GUIDELINE
    assert doc.title == "Final recommendation statement: colorectal cancer: screening"
    assert doc.source == "U.S. Preventive Services Task Force"
    assert (doc.date, doc.year) == ("2016-06", 2016)
    assert doc.license == "public domain"
    assert doc.url.startswith("https://www.uspreventiveservicestaskforce.org/")
    assert doc.metadata["grades"] == ["A", "C"]
    assert doc.metadata["citation"].startswith("Final recommendation statement: colorectal cancer: screening. [internet]")
    assert doc.metadata["guideline_category"] == ["Prevention", "Screening"]
    # sections in the documented order, whatever the file's order; "None provided" fields are not sections
    assert [s.heading for s in doc.sections] == [
        "Major Recommendations", "Disease/Condition(s)", "Target Population",
        "Interventions and Practices Considered", "Potential Benefits", "Potential Harms",
    ]
    assert [s.heading for s in doc.sections] == [h for h in SECTION_FIELDS if h in {s.heading for s in doc.sections}]
    recs = doc.sections[0].text.split("\n")
    assert recs == [
        "Summary of Recommendations and Evidence",
        # a line break inside the HTML source is not a paragraph break
        "The USPSTF recommends screening for colorectal cancer starting at age 50 years and continuing until "
        "age 75 years (A recommendation).",
        "The decision to screen for colorectal cancer in adults aged 76 to 85 years should be an individual one "
        "(C recommendation).",
        "• Adults in this age group who have never been screened are more likely to benefit.",
    ]
    assert all("Disclaimer" not in s.heading for s in doc.sections)


def test_va_dod_summary_revised_date_grades_developers_and_mojibake() -> None:
    (doc,) = parse_file("ngc-10511.xml")
    assert doc.doc_id == "ngc:10511"
    assert doc.source == "Department of Defense; Department of Veterans Affairs"
    assert doc.metadata["developers"] == ["Department of Defense", "Department of Veterans Affairs"]
    # "2006 Dec (revised 2014 Apr 15)": the summary describes the revision
    assert (doc.date, doc.year) == ("2014-04-15", 2014)
    assert doc.metadata["date_first_released"] == "2006-12"
    assert doc.metadata["date_released"] == "2006 Dec (revised 2014 Apr 15)"
    # the grade list in the definitions sentence "(Strong For, Weak For, …)" is not a grade
    assert doc.metadata["grades"] == ["B", "EO", "Weak for"]
    assert "five A's" in doc.sections[0].text
    assert [s.heading for s in doc.sections][-1] == "Contraindications"
    assert doc.url == ""


def test_fix_mojibake() -> None:
    assert fix_mojibake("conï¬\x82icts and ï¬\x81ve") == "conflicts and five"
    assert fix_mojibake("evidenceâ\x80\x90based") == "evidence\u2010based"
    assert fix_mojibake("Clearinghouseâ\x84¢") == "Clearinghouse\u2122"
    assert fix_mojibake("Schünemann 90°–130°") == "Schünemann 90°–130°"  # real Latin-1 text is left alone
    assert fix_mojibake("e.g.: \uf0a1 item") == "e.g.:  item"


def test_id_without_ngc_number_in_file_name_is_stable() -> None:
    (a,) = parse_file("ngc-11005.xml", origin="guideline.xml")
    (b,) = parse_file("ngc-11005.xml", origin="/other/place/summary.xml")
    assert a.doc_id == b.doc_id and re.fullmatch(r"ngc:t[0-9a-f]{12}", a.doc_id)
    (c,) = parse_file("ngc-11005.xml", origin="/data/NGC_11005.xml.gz")
    assert c.doc_id == "ngc:11005"


def test_summary_without_sections_is_a_record_error() -> None:
    data = (
        b'<Version><Section Name="General"><Field Name="Guideline Title" Type="text">'
        b'<FieldValue Value="A title"/></Field></Section></Version>'
    )
    (event,) = parse_bytes(data)
    assert isinstance(event, RecordError) and event.location == "record 1"


# --- broken files -------------------------------------------------------------------------


def test_truncated_file_raises_parse_error_with_line() -> None:
    data = (FIX / "ngc-11005.xml").read_bytes()[:2500]
    with pytest.raises(ParseError) as info:
        parse_bytes(data)
    assert info.value.location.startswith("line ")


def test_wrong_root_raises() -> None:
    with pytest.raises(ParseError, match="wrong root"):
        parse_bytes(b'<Guideline><Section Name="x"/></Guideline>')


def test_deterministic_output() -> None:
    a = [d.content_hash() for d in parse_file("ngc-11005.xml")]
    b = [d.content_hash() for d in parse_file("ngc-11005.xml")]
    assert a == b


# --- fuzzing ------------------------------------------------------------------------------

_SAMPLES = [(FIX / n).read_bytes() for n in ("ngc-11005.xml", "ngc-10511.xml")]


def mutated():
    return mutations(_SAMPLES, inserts=(b"<", b"&", b"</", b"&lt;p", b"&lt;/", b"&#0;", b"\xff", b"\xc3"))


def _check(data: bytes) -> None:
    assert isinstance(NGCParser().sniff("x.xml", data[:SNIFF_BYTES]), bool)
    try:
        events = parse_bytes(data)
    except ParseError:
        return
    assert len(events) == 1
    (e,) = events
    assert isinstance(e, (Document, RecordError))
    if isinstance(e, Document):
        assert e.doc_id == "ngc:1" and e.sections and all(s.text for s in e.sections)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes(data: bytes) -> None:
    _check(data)


@settings(max_examples=150, deadline=None)
@given(mutated())
def test_fuzz_mutated_fixture(data: bytes) -> None:
    _check(data)


# --- real shared data ---------------------------------------------------------------------


def test_real_summaries(shared: Path) -> None:
    files = sorted((shared / "corpus" / "ngc").glob("ngc-*.xml"))
    assert len(files) == 116
    parser = NGCParser()
    docs: dict[str, Document] = {}
    for path in files:
        assert parser.sniff(path.name, path.read_bytes()[:SNIFF_BYTES])
        with open_source(path) as fh:
            (event,) = list(parser.parse(fh, str(path)))
        assert isinstance(event, Document), event
        docs[event.doc_id] = event
    assert len(docs) == 116
    crc = docs["ngc:11005"]
    assert "colorectal cancer" in crc.title.lower() and "screening" in crc.title.lower()
    assert crc.metadata["grades"] == ["A", "C"]
    assert all(d.sections[0].heading == "Major Recommendations" for d in docs.values())
    assert all(d.year and d.title and d.source for d in docs.values())
    uspstf = [d for d in docs.values() if d.source == "U.S. Preventive Services Task Force"]
    assert len(uspstf) == 63
    # no mis-decoded UTF-8 left in any section
    assert not any(re.search("[\u00c2-\u00f4][\u0080-\u00bf]", s.text) for d in docs.values() for s in d.sections)
