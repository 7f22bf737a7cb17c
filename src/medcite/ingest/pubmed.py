"""PubMed / MEDLINE XML (``PubmedArticleSet``): annual baseline files, daily update files and efetch output.

The file is streamed with :func:`lxml.etree.iterparse`; every ``PubmedArticle`` / ``PubmedBookArticle``
is turned into a :class:`~medcite.domain.Document` (``pmid:<PMID>``) and then cleared, so memory stays flat
on multi-gigabyte files. ``<DeleteCitation>`` lists become :class:`~medcite.domain.Deletion` events.
See docs/formats.md.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import BinaryIO, Iterator

from lxml import etree

from medcite.domain import (
    NOTICE_FOR,
    NOTICE_IN,
    RETRACTED,
    Deletion,
    DocKind,
    DocStatus,
    Document,
    ParseEvent,
    RecordError,
    Section,
    kind_from_publication_types,
    status_from_publication_types,
)
from medcite.errors import ParseError
from medcite.ingest.base import TRUNCATED_HINT, syntax_message
from medcite.text import clean_text

__all__ = ["PubMedParser", "iso_date", "initials", "syntax_message"]

_RECORD_TAGS = ("PubmedArticle", "PubmedBookArticle", "DeleteCitation")
_ROOT_TAGS = ("PubmedArticleSet", "PubmedBookArticleSet")

# optional BOM / XML declaration / comments / processing instructions, then a DOCTYPE or the root element
_SNIFF = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:(?:<!--.*?-->|<\?.*?\?>)\s*)*"
    rb"(?:<!DOCTYPE\s+(?:PubmedArticleSet|PubmedBookArticleSet)[\s>\[]"
    rb"|(?:<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>\s*)?<(?:PubmedArticleSet|PubmedBookArticleSet)[\s>/])",
    re.DOTALL,
)

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}
_MEDLINE_DATE = re.compile(r"(\d{4})(?:\s+([A-Za-z]{3})[A-Za-z]*(?:\s+(\d{1,2}))?)?")
_DIGITS = re.compile(r"\d+")
_PMCID = re.compile(r"(?i)^(?:pmc)?\s*(\d+)$")
_INITIAL_SPLIT = re.compile(r"[\s\-.]+")
#: abstract labels that mean "no real label"
_NO_LABEL = frozenset({"", "unlabelled", "unlabeled", "abstract", "summary"})


def _clean(text: str | None) -> str:
    """:func:`clean_text` with a fast path for plain ASCII (most names, ids, MeSH terms, labels)."""
    if not text:
        return ""
    if text.isascii() and text.isprintable() and "  " not in text:
        return text.strip()
    return clean_text(text)


def _text(el: etree._Element | None) -> str:
    """Flattened, cleaned text of an element (inline markup such as <i>, <sub> kept as text)."""
    if el is None:
        return ""
    if len(el) == 0:
        return _clean(el.text)
    return clean_text("".join(el.itertext()))


def _month(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        m = int(value)
        return m if 1 <= m <= 12 else None
    return _MONTHS.get(value[:3].lower())


def iso_date(year: str | None, month: str | None = None, day: str | None = None) -> tuple[str | None, int | None]:
    """Build ``yyyy-mm-dd`` / ``yyyy-mm`` / ``yyyy`` from loose parts; invalid parts are dropped."""
    if not year:
        return None, None
    m = _DIGITS.search(year)
    if not m or len(m.group()) != 4:
        return None, None
    y = int(m.group())
    if y < 1000:
        return None, None
    mon = _month(month) if month else None
    if mon is None:
        return f"{y:04d}", y
    if day and day.strip().isdigit():
        d = int(day.strip())
        try:
            _dt.date(y, mon, d)
        except ValueError:
            pass
        else:
            return f"{y:04d}-{mon:02d}-{d:02d}", y
    return f"{y:04d}-{mon:02d}", y


def _pub_date(pub_date: etree._Element | None) -> tuple[str | None, int | None]:
    if pub_date is None:
        return None, None
    year = pub_date.findtext("Year")
    if year:
        return iso_date(year, pub_date.findtext("Month"), pub_date.findtext("Day"))
    medline = pub_date.findtext("MedlineDate")
    if medline:
        # "1998 Dec-1999 Jan", "2000 Spring", "1975 Jul 15-31": the first year (and month) win
        m = _MEDLINE_DATE.search(medline)
        if m:
            return iso_date(m.group(1), m.group(2), m.group(3))
    return None, None


def initials(given: str) -> str:
    """Initials from given names: ``Stephen R`` → ``SR``, ``Jean-Philippe`` → ``JP``."""
    return "".join(part[0].upper() for part in _INITIAL_SPLIT.split(given) if part and part[0].isalpha())


def _authors(author_list: etree._Element | None) -> tuple[str, ...]:
    if author_list is None:
        return ()
    out: list[str] = []
    for author in author_list.iterfind("Author"):
        if author.get("ValidYN") == "N":
            continue
        last = _clean(author.findtext("LastName"))
        if last:
            inits = _clean(author.findtext("Initials")) or initials(_clean(author.findtext("ForeName")))
            out.append(f"{last} {inits}" if inits else last)
            continue
        collective = _text(author.find("CollectiveName"))
        if collective:
            out.append(collective)
    return tuple(out)


def _abstract_sections(abstract: etree._Element | None) -> list[Section]:
    """One section per AbstractText; its Label is the heading (consecutive equal headings merge)."""
    if abstract is None:
        return []
    sections: list[Section] = []
    for part in abstract.iterfind("AbstractText"):
        text = _text(part)
        if not text:
            continue
        label = _clean(part.get("Label"))
        heading = "Abstract" if label.lower() in _NO_LABEL else label
        if sections and sections[-1].heading == heading:
            sections[-1] = Section(heading, sections[-1].text + "\n" + text)
        else:
            sections.append(Section(heading, text))
    return sections


def _article_ids(pubmed_data: etree._Element | None) -> dict[str, str]:
    ids: dict[str, str] = {}
    if pubmed_data is None:
        return ids
    # direct child path only: ReferenceList/Reference/ArticleIdList holds the *cited* articles' ids
    for aid in pubmed_data.iterfind("ArticleIdList/ArticleId"):
        kind = (aid.get("IdType") or "").lower()
        value = _clean(aid.text)
        if kind and value and kind not in ids:
            ids[kind] = value
    return ids


def _pmcid(value: str | None) -> str | None:
    if not value:
        return None
    m = _PMCID.match(value.strip())
    return f"PMC{m.group(1)}" if m else None


def _version(pmid_el: etree._Element) -> int:
    raw = (pmid_el.get("Version") or "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return 1


def _texts(parent: etree._Element | None, path: str) -> tuple[str, ...]:
    if parent is None:
        return ()
    out: list[str] = []
    for el in parent.iterfind(path):
        t = _text(el)
        if t:
            out.append(t)
    return tuple(out)


def _dedupe(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _keywords_and_languages(keyword_parent: etree._Element, language_parent: etree._Element) -> dict[str, list[str]]:
    """Document metadata: ``keywords`` and ``languages``, each only when the record has some."""
    metadata: dict[str, list[str]] = {}
    keywords = _dedupe(_texts(keyword_parent, "KeywordList/Keyword"))
    if keywords:
        metadata["keywords"] = list(keywords)
    languages = _dedupe(_texts(language_parent, "Language"))
    if languages:
        metadata["languages"] = list(languages)
    return metadata


def _corrections(citation: etree._Element) -> list[dict[str, str]]:
    """``CommentsCorrectionsList`` entries about retractions, errata and expressions of concern.

    ``RetractionIn`` / ``ErratumIn`` / ``ExpressionOfConcernIn`` sit on the original paper and name its notice;
    ``RetractionOf`` / ``ErratumFor`` / ``ExpressionOfConcernFor`` sit on the notice and name the original.
    Other types (``CommentIn``, ``UpdateOf``, …) are not read.
    """
    out: list[dict[str, str]] = []
    for cc in citation.iterfind("CommentsCorrectionsList/CommentsCorrections"):
        ref_type = (cc.get("RefType") or "").strip()
        if ref_type not in NOTICE_IN and ref_type not in NOTICE_FOR:
            continue
        pmid = _clean(cc.findtext("PMID"))
        entry = {"type": ref_type, "pmid": pmid if pmid.isdigit() else "", "ref_source": _text(cc.find("RefSource"))}
        if entry not in out:
            out.append(entry)
    return out


class PubMedParser:
    """Parser for PubMed/MEDLINE ``PubmedArticleSet`` XML."""

    name = "pubmed"
    version = "2"  # 2: CommentsCorrections (retractions, errata, expressions of concern)
    description = "PubMed/MEDLINE XML (PubmedArticleSet: baseline, update files, efetch) — one document per abstract"

    def sniff(self, filename: str, head: bytes) -> bool:
        return bool(_SNIFF.match(head))

    # --- parsing --------------------------------------------------------------------------

    def parse(self, stream: BinaryIO, origin: str) -> Iterator[ParseEvent]:
        context = etree.iterparse(
            stream,
            events=("end",),
            tag=_RECORD_TAGS,
            huge_tree=False,  # libxml2's caps on depth and text-node size stay on
            resolve_entities=False,
            load_dtd=False,
            no_network=True,
        )
        record = 0
        root_checked = False
        mark_record = getattr(stream, "mark_record", None)  # the record cap counts from each record's end
        if mark_record:
            mark_record()
        try:
            for _event, elem in context:
                if not root_checked:
                    self._check_root(elem.getroottree().getroot().tag, origin)
                    root_checked = True
                tag = elem.tag
                if tag == "DeleteCitation":
                    for pmid_el in elem.iterfind("PMID"):
                        pmid = _clean(pmid_el.text)
                        if pmid:
                            yield Deletion(f"pmid:{pmid}", version=_version(pmid_el))
                else:
                    record += 1
                    yield self._record(elem, record)
                if mark_record:
                    mark_record()
                # free memory: the element itself and everything already processed before it
                elem.clear(keep_tail=False)
                parent = elem.getparent()
                if parent is not None:
                    while elem.getprevious() is not None:
                        del parent[0]
            if not root_checked:
                root = context.root
                self._check_root(root.tag if root is not None else "", origin)
        except ParseError:
            raise
        except etree.XMLSyntaxError as exc:
            line = exc.position[0] if exc.position else exc.lineno
            raise ParseError(
                f"not well-formed XML: {syntax_message(exc)}",
                path=origin,
                location=f"line {line or 1}",
                hint=TRUNCATED_HINT,
            ) from None
        except (ValueError, TypeError, LookupError, AttributeError, UnicodeError, RecursionError, OSError) as exc:
            raise ParseError(
                f"cannot read PubMed XML: {exc}",
                path=origin,
                location=f"record {record + 1}" if record else "",
                hint="check that the file is complete PubMed XML",
            ) from None

    @staticmethod
    def _check_root(tag: object, origin: str) -> None:
        if tag not in _ROOT_TAGS:
            shown = tag if isinstance(tag, str) else "?"
            raise ParseError(
                f"wrong root element <{shown}>, expected <PubmedArticleSet>",
                path=origin,
                location="line 1",
                hint="this is not PubMed XML; pick the right --format",
            )

    def _record(self, elem: etree._Element, record: int) -> ParseEvent:
        where = f"record {record}"
        try:
            if elem.tag == "PubmedBookArticle":
                return self._book(elem, where)
            return self._article(elem, where)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            return RecordError(f"cannot read PubMed record: {exc}", where)

    def _article(self, elem: etree._Element, where: str) -> ParseEvent:
        citation = elem.find("MedlineCitation")
        pmid_el = citation.find("PMID") if citation is not None else None
        pmid = _clean(pmid_el.text) if pmid_el is not None else ""
        if not pmid:
            return RecordError("PubmedArticle without MedlineCitation/PMID", where)
        if not pmid.isdigit():
            return RecordError(f"PMID {pmid!r} is not a number", where)
        article = citation.find("Article")
        if article is None:
            return RecordError(f"PMID {pmid}: no Article element", where)
        title = _text(article.find("ArticleTitle")) or _text(article.find("VernacularTitle"))
        journal = article.find("Journal")
        source = ""
        date = year = None
        if journal is not None:
            source = _text(journal.find("Title")) or _text(journal.find("ISOAbbreviation"))
            date, year = _pub_date(journal.find("JournalIssue/PubDate"))
        if not source:
            source = _clean(citation.findtext("MedlineJournalInfo/MedlineTA"))
        if year is None:
            ad = article.find("ArticleDate")
            if ad is not None:
                date, year = iso_date(ad.findtext("Year"), ad.findtext("Month"), ad.findtext("Day"))
        ids = _article_ids(elem.find("PubmedData"))
        doi = ids.get("doi")
        if not doi:
            for loc in article.iterfind("ELocationID"):
                if loc.get("EIdType") == "doi" and loc.get("ValidYN") != "N":
                    doi = _clean(loc.text) or None
                    if doi:
                        break
        pub_types = _dedupe(_texts(article, "PublicationTypeList/PublicationType"))
        mesh = _dedupe(_texts(citation, "MeshHeadingList/MeshHeading/DescriptorName"))
        metadata = _keywords_and_languages(citation, article)
        corrections = _corrections(citation)
        if corrections:
            metadata["corrections"] = corrections
        return self._document(
            pmid=pmid, version=_version(pmid_el), title=title, source=source, date=date, year=year,
            authors=_authors(article.find("AuthorList")), pmcid=_pmcid(ids.get("pmc")), doi=doi,
            mesh=mesh, pub_types=pub_types, sections=_abstract_sections(article.find("Abstract")),
            metadata=metadata, where=where,
        )

    def _book(self, elem: etree._Element, where: str) -> ParseEvent:
        doc = elem.find("BookDocument")
        pmid_el = doc.find("PMID") if doc is not None else None
        pmid = _clean(pmid_el.text) if pmid_el is not None else ""
        if not pmid:
            return RecordError("PubmedBookArticle without BookDocument/PMID", where)
        if not pmid.isdigit():
            return RecordError(f"PMID {pmid!r} is not a number", where)
        book = doc.find("Book")
        title = _text(doc.find("ArticleTitle"))
        source = ""
        date = year = None
        if book is not None:
            book_title = _text(book.find("BookTitle"))
            title = title or book_title
            source = book_title if title != book_title else _text(book.find("Publisher/PublisherName"))
            date, year = _pub_date(book.find("PubDate"))
        ids = _article_ids(elem.find("PubmedBookData"))
        authors = _authors(doc.find("AuthorList")) or (_authors(book.find("AuthorList")) if book is not None else ())
        pub_types = _dedupe(_texts(doc, "PublicationType"))
        metadata = _keywords_and_languages(doc, doc)
        return self._document(
            pmid=pmid, version=_version(pmid_el), title=title, source=source, date=date, year=year,
            authors=authors, pmcid=_pmcid(ids.get("pmc")), doi=ids.get("doi"), mesh=(),
            pub_types=pub_types, sections=_abstract_sections(doc.find("Abstract")), metadata=metadata,
            where=where,
        )

    @staticmethod
    def _document(*, pmid: str, version: int, title: str, source: str, date: str | None, year: int | None,
                  authors: tuple[str, ...], pmcid: str | None, doi: str | None, mesh: tuple[str, ...],
                  pub_types: tuple[str, ...], sections: list[Section], metadata: dict, where: str) -> ParseEvent:
        if not sections:
            if not title:
                return RecordError(f"PMID {pmid}: no title and no abstract", where)
            # no abstract: keep the citation findable by its title
            sections = [Section("Title", title)]
        return Document(
            doc_id=f"pmid:{pmid}",
            kind=kind_from_publication_types(pub_types, default=DocKind.OTHER),
            title=title or f"PMID {pmid}",
            sections=tuple(sections),
            source=source,
            date=date,
            year=year,
            authors=authors,
            url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
            pmid=pmid,
            pmcid=pmcid,
            doi=doi,
            mesh_terms=mesh,
            publication_types=pub_types,
            license="NLM",
            status=_status(pub_types, metadata),
            version=version,
            metadata=metadata,
        )


def _status(pub_types: tuple[str, ...], metadata: dict) -> DocStatus:
    """Retracted when a publication type says "Retracted Publication" or the record names its retraction."""
    status = status_from_publication_types(pub_types)
    if status is DocStatus.ACTIVE and any(
        NOTICE_IN.get(c.get("type")) == RETRACTED for c in metadata.get("corrections", ())
    ):
        return DocStatus.RETRACTED
    return status
