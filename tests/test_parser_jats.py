"""PMC JATS full-text parser: sniffing, ids, sections, kind rules, broken files, real data."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from fuzzing import mutations
from hypothesis import given, settings
from hypothesis import strategies as st

from medcite.domain import Deletion, DocKind, Document, RecordError
from medcite.errors import ParseError
from medcite.ingest.base import SNIFF_BYTES, open_source
from medcite.ingest.jats import JatsParser, classify

FIX = Path(__file__).resolve().parent / "fixtures" / "jats"
PUBMED_FIX = Path(__file__).resolve().parent / "fixtures" / "pubmed"


def parse_bytes(data: bytes, origin: str = "x.nxml") -> list:
    return list(JatsParser().parse(io.BytesIO(data), origin))


def parse_file(name: str) -> list:
    path = FIX / name
    with path.open("rb") as fh:
        return list(JatsParser().parse(fh, str(path)))


# --- sniffing -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["research_article.nxml", "systematic_review.xml", "articleset.xml"])
def test_sniff_fixtures_by_content(name: str) -> None:
    head = (FIX / name).read_bytes()[:SNIFF_BYTES]
    assert JatsParser().sniff("renamed.xml", head)


@pytest.mark.parametrize(
    "head",
    [
        b'<?xml version="1.0"?>\n<article xmlns:xlink="http://www.w3.org/1999/xlink"><front><journal-meta>',
        b'<!DOCTYPE article PUBLIC "-//NLM//DTD Journal Archiving and Interchange DTD v2.3 20070202//EN" '
        b'"archivearticle.dtd">\n<article article-type="research-article">',
        b"<pmc-articleset><article>",
    ],
)
def test_sniff_positive(head: bytes) -> None:
    assert JatsParser().sniff("a.xml", head)


def test_sniff_nxml_name() -> None:
    assert JatsParser().sniff("PMC123.nxml", b"<article>")


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b'{"id": "pmc:PMC1065065", "title": "x"}\n',
        b"<article><h1>Blog post</h1><p>Some HTML article element</p></article>",
        b'<?xml version="1.0"?><!DOCTYPE html><article><section>',
        b'<?xml version="1.0" encoding="UTF-8"?><document xmlns="urn:hl7-org:v3">',
        b"<Version>\n  <xmlSource>National Guideline Clearinghouse</xmlSource>",
        b'<?xml version="1.0"?><Document id="0000001" source="GARD"><Focus>Asthma</Focus>',
        b"<root><article><front></front></article></root>",
    ],
)
def test_sniff_negative(head: bytes) -> None:
    assert not JatsParser().sniff("file.xml", head)


def test_sniff_does_not_claim_pubmed_fixtures() -> None:
    for path in PUBMED_FIX.iterdir():
        assert not JatsParser().sniff(path.name, path.read_bytes()[:SNIFF_BYTES])


# --- field mapping ------------------------------------------------------------------------


def test_research_article_fields() -> None:
    (d,) = parse_file("research_article.nxml")
    assert d.doc_id == "pmc:PMC2994229" and d.pmcid == "PMC2994229"
    assert d.pmid == "21045829" and d.doi == "10.1038/sj.bjc.6605965"
    assert d.url == "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC2994229/"
    assert d.title == "Oral contraceptives and risk of colorectal cancer in the EPIC cohort"  # fn marker dropped
    assert d.source == "British Journal of Cancer"
    assert (d.date, d.year) == ("2010-11-02", 2010)  # epub preferred over ppub / collection
    assert d.authors == ("Tsilidis KK", "Boutron-Ruault MC", "EPIC Study Group")  # no editor, no collab members
    assert d.license == "http://creativecommons.org/licenses/by-nc-sa/3.0/"
    assert d.kind is DocKind.OBSERVATIONAL
    assert dict(d.metadata) == {
        "article_type": "research-article",
        "subjects": ["Epidemiology"],
        "keywords": ["oral contraceptives", "cohort study"],
    }


def test_research_article_sections() -> None:
    (d,) = parse_file("research_article.nxml")
    assert [s.heading for s in d.sections] == [
        "Background", "Methods", "Results",  # abstract (trailing ':' removed)
        "Introduction",  # body paragraphs before the first <sec>
        "Materials and methods › Study population",
        "Materials and methods › Statistical analysis",
        "Results",  # lower-case "results" capitalised
        "Results",  # untitled subsection inherits its parent's heading
    ]
    text = "\n".join(s.text for s in d.sections)
    for noise in ("TABLECELL", "TABLECAPTION", "FIGURECAPTION", "FORMULA", "SUPPCAPTION", "ACKNOWLEDGEMENT",
                  "REFERENCE", "conflict of interest"):
        assert noise not in text
    stats = d.sections[5].text
    assert stats.split("\n") == ["Hazard ratios were estimated with Cox models stratified by centre.",
                                 "Age at menarche", "Parity"]
    assert d.sections[3].text.count("\n") == 1  # two paragraphs
    assert all(s.text for s in d.sections)


def test_systematic_review_with_pmid_only() -> None:
    (d,) = parse_file("systematic_review.xml")
    assert d.doc_id == "pmid:30000001" and d.pmcid is None
    assert d.url == "https://pubmed.ncbi.nlm.nih.gov/30000001/"
    assert d.kind is DocKind.SYSTEMATIC_REVIEW
    assert d.source == "Systematic Reviews" and (d.date, d.year) == ("2019-03", 2019)
    assert d.authors == ("Smith J",)
    assert [s.heading for s in d.sections] == ["Abstract", "Main text"]


def test_articleset_record_errors_and_kinds() -> None:
    events = parse_file("articleset.xml")
    assert [type(e) for e in events] == [Document, RecordError, RecordError, Document]
    assert events[0].doc_id == "pmc:PMC1234567" and events[0].kind is DocKind.CASE_REPORT
    assert events[1].location == "record 2" and "PMC" in events[1].message
    assert events[2].location == "record 3" and "no abstract or body text" in events[2].message
    rct = events[3]
    assert rct.kind is DocKind.RANDOMIZED_TRIAL and (rct.date, rct.year) == ("2021-02", 2021)


def test_single_article_without_ids_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="no PMC id or PMID"):
        parse_file("no_id.nxml")


@pytest.mark.parametrize(
    "atype, subjects, title, abstract, expected",
    [
        ("research-article", (), "A randomised trial of X", "", DocKind.RANDOMIZED_TRIAL),
        ("research-article", (), "X versus Y", "Patients were randomized to X.", DocKind.RANDOMIZED_TRIAL),
        ("research-article", (), "X versus Y", "Trial registration: NCT01234567.", DocKind.RANDOMIZED_TRIAL),
        ("review-article", (), "Asthma in adults", "", DocKind.REVIEW),
        ("review-article", (), "Asthma: a systematic review", "", DocKind.SYSTEMATIC_REVIEW),
        ("research-article", (), "Statins: a meta-analysis", "", DocKind.SYSTEMATIC_REVIEW),
        ("case-report", (), "An unusual rash", "", DocKind.CASE_REPORT),
        ("research-article", ("Case Report",), "An unusual rash", "", DocKind.CASE_REPORT),
        ("research-article", (), "Diet and cancer", "In this cross-sectional survey ...", DocKind.OBSERVATIONAL),
        ("research-article", ("Practice Guideline",), "Managing asthma", "", DocKind.GUIDELINE),
        ("editorial", (), "Why randomized trials matter", "randomized", DocKind.OTHER),
        ("research-article", (), "Protein folding", "We simulated folding.", DocKind.OTHER),
    ],
)
def test_kind_rules(atype, subjects, title, abstract, expected) -> None:
    assert classify(atype, subjects, title, abstract) is expected


# --- broken files -------------------------------------------------------------------------


def test_truncated_raises_parse_error_with_line() -> None:
    data = (FIX / "research_article.nxml").read_bytes()
    with pytest.raises(ParseError) as err:
        parse_bytes(data[: len(data) // 2])
    assert re.fullmatch(r"line \d+", err.value.location)


@pytest.mark.parametrize("data", [b"", b"not xml at all", b"<article><front>"])
def test_not_xml_raises(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_bytes(data)


def test_wrong_root_raises() -> None:
    with pytest.raises(ParseError, match="root"):
        parse_bytes(b"<document><article/></document>")


def test_named_entity_without_dtd_is_explained() -> None:
    data = b"<article><front><article-meta><article-id pub-id-type='pmc'>1</article-id></article-meta></front>" \
           b"<body><p>a&nbsp;b</p></body></article>"
    with pytest.raises(ParseError) as err:
        parse_bytes(data)
    assert "entit" in (err.value.hint or "").lower()


def test_no_external_entities_are_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    data = (
        f'<!DOCTYPE article [<!ENTITY x SYSTEM "file://{secret}">]>'
        "<article><front><article-meta><article-id pub-id-type='pmc'>1</article-id>"
        "<abstract><p>before &x; after</p></abstract></article-meta></front></article>"
    ).encode()
    try:
        events = parse_bytes(data)
    except ParseError:
        return
    assert all("TOPSECRET" not in s.text for e in events if isinstance(e, Document) for s in e.sections)


def test_deterministic_output() -> None:
    a = [d.content_hash() for d in parse_file("research_article.nxml")]
    b = [d.content_hash() for d in parse_file("research_article.nxml")]
    assert a == b


# --- fuzzing ------------------------------------------------------------------------------

_SAMPLES = [(FIX / n).read_bytes() for n in ("research_article.nxml", "articleset.xml", "systematic_review.xml")]


def mutated():
    return mutations(_SAMPLES)


def _check(data: bytes) -> None:
    try:
        events = parse_bytes(data)
    except ParseError:
        return
    for e in events:
        assert isinstance(e, (Document, Deletion, RecordError))
        if isinstance(e, Document):
            assert e.doc_id.startswith(("pmc:PMC", "pmid:")) and e.sections
            assert all(s.text and s.heading for s in e.sections)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes(data: bytes) -> None:
    _check(data)


@settings(max_examples=150, deadline=None)
@given(mutated())
def test_fuzz_mutated_fixture(data: bytes) -> None:
    _check(data)


# --- real shared data ---------------------------------------------------------------------


def test_real_pmc_files(shared: Path) -> None:
    files = sorted((shared / "corpus" / "pmc").glob("*.nxml"))
    assert len(files) == 8
    seen = set()
    for path in files:
        with open_source(path) as fh:
            head = fh.read(SNIFF_BYTES)
        assert JatsParser().sniff(path.name, head) and JatsParser().sniff("renamed.xml", head)
        with open_source(path) as fh:
            events = list(JatsParser().parse(fh, str(path)))
        assert len(events) == 1, path.name
        (d,) = events
        assert isinstance(d, Document), (path.name, d)
        assert d.doc_id.startswith("pmc:PMC") and d.pmid and d.title and d.source and d.year
        assert d.sections and all(s.text.strip() for s in d.sections)
        assert len(d.sections) >= 5  # abstract + body sections
        seen.add(d.doc_id)
    assert len(seen) == 8


def test_real_efetch_pubmed_file_is_not_jats(shared: Path) -> None:
    path = shared / "corpus" / "pmc" / "pubmed-29768149.xml"
    assert not JatsParser().sniff(path.name, path.read_bytes()[:SNIFF_BYTES])
