"""PMC full text in JATS / NLM XML (``.nxml``: one ``<article>``; also a ``<pmc-articleset>`` of articles).

One :class:`~medcite.domain.Document` per article, ``pmc:PMC<digits>``: the abstract(s), then one section per
body ``<sec>`` (nested titles joined with " › "). Tables, figures, formulas and supplementary material are
skipped, as is back matter (references, acknowledgements). See docs/formats.md.
"""

from __future__ import annotations

import io
import re
from typing import BinaryIO, Iterator

from lxml import etree

from medcite.domain import DocKind, Document, ParseEvent, RecordError, Section
from medcite.errors import ParseError
from medcite.ingest.base import TRUNCATED_HINT, syntax_message
from medcite.ingest.limits import read_whole
from medcite.ingest.pubmed import initials, iso_date
from medcite.text import clean_block, clean_text

__all__ = ["JatsParser"]

_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_MML = "{http://www.w3.org/1998/Math/MathML}"
_ALI_LICENSE_REF = "{http://www.niso.org/schemas/ali/1.0/}license_ref"

# sniffing: optional BOM / XML declaration / comments / PIs, optional DOCTYPE, then the root element
_PROLOG = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:(?:<!--.*?-->|<\?.*?\?>)\s*)*"
    rb"(?P<doctype><!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>)?\s*(?:(?:<!--.*?-->|<\?.*?\?>)\s*)*"
    rb"<(?P<root>article|pmc-articleset)[\s>]",
    re.DOTALL,
)
_JATS_DOCTYPE = re.compile(rb"JATS|NLM//DTD|Journal Archiving|Journal Publishing|Article Authoring", re.I)

#: subtrees whose text is never kept (inside paragraphs or at block level)
_SKIP = frozenset({
    "table-wrap", "table-wrap-group", "fig", "fig-group", "disp-formula", "disp-formula-group",
    "supplementary-material", "graphic", "inline-graphic", "media", "tex-math", "object-id",
    "chem-struct-wrap", "fn", "ref-list", _MML + "annotation", _MML + "annotation-xml",
})
#: in titles and names footnote / affiliation markers are noise too
_TITLE_SKIP = _SKIP | {"xref", "aff", "address", "contrib-group", "email"}
#: elements that separate words when flattened
_SPACED = frozenset({"break", "list-item", "p", "list", "td", "th", "tr", "label", "caption", "title", "sec"})
#: block containers whose paragraphs are taken one by one
_CONTAINERS = frozenset({
    "disp-quote", "boxed-text", "statement", "def-list", "def-item", "def", "glossary", "question",
    "answer", "explanation", "speech", "verse-group", "list-item", "sec",
})
#: abstract types that are not prose summaries of the article
_SKIP_ABSTRACT_TYPES = frozenset({"graphical", "teaser", "toc", "video", "web-summary"})
#: body sections that are administrative boilerplate, not evidence (matched on the lower-cased heading start)
_BOILERPLATE = (
    "competing interest", "conflict of interest", "conflicts of interest", "declaration of competing",
    "declaration of interest", "disclosure", "author contribution", "authors' contribution",
    "authors’ contribution", "authors contribution", "contributors", "pre-publication history",
    "supplementary material", "supplementary data", "supporting information", "acknowledg", "funding",
    "abbreviations",
)
_BOILERPLATE_SEC_TYPES = frozenset({"supplementary-material", "coi-statement", "author-contributions", "funding"})

_PMCID = re.compile(r"(?i)^(?:pmc)?\s*(\d+)$")

# --- kind rules ---------------------------------------------------------------------------
_NON_RESEARCH_TYPES = frozenset({
    "editorial", "letter", "correction", "retraction", "partial-retraction", "expression-of-concern",
    "news", "book-review", "product-review", "article-commentary", "reply", "obituary", "announcement",
    "erratum", "addendum", "meeting-report", "calendar", "books-received", "discussion", "in-brief",
    "introduction", "oration", "abstract", "correction-forward", "retraction-forward",
})
_SYSTEMATIC = re.compile(r"systematic(?:\s+\w+)?\s+review|meta-?\s?analys[ie]s|umbrella review", re.I)
_RANDOMIZED = re.compile(r"\brandomi[sz]", re.I)
_REGISTRATION = re.compile(
    r"\btrial registration\b|\bNCT\d{8}\b|\bISRCTN\s?\d{6,}|\bACTRN\d{10,}|\bEudraCT\b", re.I
)
_OBSERVATIONAL = re.compile(
    r"\bcohort\b|\bcase[- ]control\b|\bcross[- ]sectional\b|\bobservational stud", re.I
)


def _collect(el: etree._Element, parts: list[str], skip: frozenset) -> None:
    if el.text:
        parts.append(el.text)
    for child in el:
        tag = child.tag
        if not isinstance(tag, str):
            pass
        elif tag in skip:
            if tag in _SKIP:
                parts.append(" ")  # "written<disp-formula/>in which" must not become "writtenin which"
        else:
            if tag in _SPACED:
                parts.append(" ")
                _collect(child, parts, skip)
                parts.append(" ")
            else:
                _collect(child, parts, skip)
        if child.tail:
            parts.append(child.tail)


def _inline(el: etree._Element | None, skip: frozenset = _SKIP) -> str:
    """Text of an element on one line, noise subtrees (tables, figures, formulas…) left out."""
    if el is None:
        return ""
    parts: list[str] = []
    _collect(el, parts, skip)
    return clean_text("".join(parts))


def _paragraphs(container: etree._Element, out: list[str], nested: bool = False) -> None:
    """Paragraph texts directly in ``container`` (child ``sec``s excluded unless ``nested``)."""
    for child in container:
        tag = child.tag
        if not isinstance(tag, str) or tag in _SKIP or tag == "label":
            continue
        if tag == "title":
            if nested:
                text = _inline(child, _TITLE_SKIP)
                if text:
                    out.append(text)
            continue
        if tag == "sec" and not nested:
            continue
        if tag == "p":
            text = _inline(child)
            if text:
                out.append(text)
        elif tag == "list":
            for item in child:
                if item.tag == "list-item":
                    _paragraphs(item, out, nested=True)
        elif tag in _CONTAINERS:
            _paragraphs(child, out, nested=True)
        else:
            text = _inline(child)
            if text:
                out.append(text)


def _heading(title: etree._Element | None) -> str:
    text = _inline(title, _TITLE_SKIP).rstrip(":.").strip() if title is not None else ""
    if text and text.islower():
        text = text[0].upper() + text[1:]
    return text


def _is_boilerplate(heading: str, sec_type: str | None) -> bool:
    if sec_type and sec_type.lower() in _BOILERPLATE_SEC_TYPES:
        return True
    return heading.lower().startswith(_BOILERPLATE)


def _walk(sec: etree._Element, parents: list[str], out: list[Section], fallback: str) -> None:
    heading = _heading(sec.find("title"))
    if heading and _is_boilerplate(heading, sec.get("sec-type")):
        return
    path = parents + [heading] if heading else parents
    paras: list[str] = []
    _paragraphs(sec, paras)
    if paras:
        text = clean_block("\n".join(paras))
        if text:
            out.append(Section(" › ".join(path) or fallback, text))
    for child in sec.iterfind("sec"):
        _walk(child, path, out, fallback)


def _abstract_sections(meta: etree._Element) -> list[Section]:
    out: list[Section] = []
    for abstract in meta.iterfind("abstract"):
        if (abstract.get("abstract-type") or "").lower() in _SKIP_ABSTRACT_TYPES:
            continue
        title = _heading(abstract.find("title"))
        if title.lower() == "abstract":
            title = ""
        heading = title or "Abstract"
        paras: list[str] = []
        _paragraphs(abstract, paras)
        if paras:
            text = clean_block("\n".join(paras))
            if text:
                out.append(Section(heading, text))
        for sec in abstract.iterfind("sec"):
            _walk(sec, [title] if title else [], out, heading)
    return out


def _body_sections(body: etree._Element | None) -> list[Section]:
    if body is None:
        return []
    out: list[Section] = []
    paras: list[str] = []
    _paragraphs(body, paras)
    has_secs = body.find("sec") is not None
    if paras:
        text = clean_block("\n".join(paras))
        if text:
            # paragraphs before the first <sec> are, in practice, the introduction
            out.append(Section("Introduction" if has_secs else "Main text", text))
    for sec in body.iterfind("sec"):
        _walk(sec, [], out, "Main text")
    return out


def _pmcid(value: str | None) -> str | None:
    if not value:
        return None
    m = _PMCID.match(value.strip())
    return f"PMC{m.group(1)}" if m else None


def _pub_date(meta: etree._Element) -> tuple[str | None, int | None]:
    found: dict[str, tuple[str, int]] = {}
    first: tuple[str, int] | None = None
    for pd in meta.iterfind("pub-date"):
        kind = (pd.get("pub-type") or pd.get("date-type") or "").lower()
        if kind == "pub":
            kind = "ppub" if (pd.get("publication-format") or "").lower() == "print" else "epub"
        date, year = iso_date(pd.findtext("year"), pd.findtext("month"), pd.findtext("day"))
        if date is None or year is None:
            continue
        found.setdefault(kind, (date, year))
        if first is None:
            first = (date, year)
    for kind in ("epub", "ppub", "collection"):
        if kind in found:
            return found[kind]
    return first if first else (None, None)


def _authors(meta: etree._Element) -> tuple[str, ...]:
    out: list[str] = []
    for contrib in meta.iterfind("contrib-group/contrib"):
        if (contrib.get("contrib-type") or "author").lower() != "author":
            continue
        name = contrib.find("name")
        if name is None:
            name = contrib.find("name-alternatives/name")
        if name is not None:
            surname = _inline(name.find("surname"), _TITLE_SKIP)
            given = name.find("given-names")
            inits = ""
            if given is not None:
                inits = clean_text(given.get("initials")) or initials(_inline(given, _TITLE_SKIP))
            if surname:
                out.append(f"{surname} {inits}" if inits else surname)
                continue
        string_name = contrib.find("string-name")
        if string_name is not None:
            text = _inline(string_name, _TITLE_SKIP)
            if text:
                out.append(text)
                continue
        collab = contrib.find("collab")
        if collab is None:
            collab = contrib.find("collab-alternatives/collab")
        if collab is not None:
            text = _inline(collab, _TITLE_SKIP)
            if text:
                out.append(text)
    return tuple(out)


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _license(meta: etree._Element) -> str:
    lic = meta.find("permissions/license")
    if lic is not None:
        href = clean_text(lic.get(_XLINK_HREF) or lic.get("href"))
        if href:
            return href
        ref = lic.find(_ALI_LICENSE_REF)
        if ref is not None and clean_text(ref.text):
            return clean_text(ref.text)
        ref = meta.find("permissions/" + _ALI_LICENSE_REF)
        if ref is not None and clean_text(ref.text):
            return clean_text(ref.text)
        text = _inline(lic)
        if text:
            return _short(text)
    ref = meta.find("permissions/" + _ALI_LICENSE_REF)
    if ref is not None and clean_text(ref.text):
        return clean_text(ref.text)
    statement = meta.find("permissions/copyright-statement")
    if statement is None:
        statement = meta.find("copyright-statement")  # NLM 2.x puts it straight in article-meta
    return _short(_inline(statement))


def classify(article_type: str, subjects: tuple[str, ...], title: str, abstract: str,
             keywords: tuple[str, ...] = ()) -> DocKind:
    """The documented, deliberately simple kind rules (first match wins)."""
    atype = article_type.lower()
    subj = " | ".join(subjects).lower()
    if atype in ("guideline", "practice-guideline") or "guideline" in subj:
        return DocKind.GUIDELINE
    if _SYSTEMATIC.search(title):
        return DocKind.SYSTEMATIC_REVIEW
    if atype == "case-report" or "case report" in subj:
        return DocKind.CASE_REPORT
    if atype in ("review-article", "review"):
        return DocKind.REVIEW
    if atype in _NON_RESEARCH_TYPES:
        return DocKind.OTHER
    if _RANDOMIZED.search(title) or _RANDOMIZED.search(abstract) or _REGISTRATION.search(abstract):
        return DocKind.RANDOMIZED_TRIAL
    if _OBSERVATIONAL.search(title) or _OBSERVATIONAL.search(abstract) or any(
        _OBSERVATIONAL.search(k) for k in keywords
    ):
        return DocKind.OBSERVATIONAL
    return DocKind.OTHER


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


class _NoId(Exception):
    pass


class JatsParser:
    """Parser for PMC JATS/NLM full-text XML."""

    name = "jats"
    version = "1"
    description = "PMC full text in JATS/NLM XML (.nxml) — abstract and body sections of each article"

    def sniff(self, filename: str, head: bytes) -> bool:
        if filename.lower().endswith(".nxml"):
            return True
        m = _PROLOG.match(head)
        if not m:
            return False
        if m.group("root") == b"pmc-articleset":
            return True
        doctype = m.group("doctype") or b""
        if doctype:
            return bool(_JATS_DOCTYPE.search(doctype))
        return b"<front>" in head or b"<article-meta" in head

    def parse(self, stream: BinaryIO, origin: str) -> Iterator[ParseEvent]:
        parser = etree.XMLParser(
            resolve_entities=False, load_dtd=False, no_network=True, remove_comments=True, remove_pis=True,
            huge_tree=False,
        )
        data = read_whole(stream, origin, "the file")
        try:
            root = etree.parse(io.BytesIO(data), parser).getroot()
        except ParseError:
            raise
        except etree.XMLSyntaxError as exc:
            line = exc.position[0] if exc.position else exc.lineno
            hint = TRUNCATED_HINT
            if "Entity" in str(exc.msg):
                hint = "named entities need the DTD; PMC files use numeric character references — convert them"
            raise ParseError(f"not well-formed XML: {syntax_message(exc)}", path=origin, location=f"line {line or 1}",
                             hint=hint) from None
        except (ValueError, TypeError, LookupError, UnicodeError, OSError) as exc:
            raise ParseError(f"cannot read JATS XML: {exc}", path=origin, hint="check the file is complete") from None
        if root is None or not isinstance(root.tag, str):
            raise ParseError("no root element", path=origin, location="line 1")
        if root.tag == "article":
            try:
                yield self._article(root, "record 1")
            except _NoId:
                raise ParseError("no PMC id or PMID", path=origin, location=f"line {root.sourceline or 1}",
                                 hint='add <article-id pub-id-type="pmc"> to article-meta') from None
            except (RecursionError, ValueError, TypeError, LookupError, AttributeError) as exc:
                raise ParseError(f"cannot read article: {exc}", path=origin, location="record 1") from None
        elif root.tag == "pmc-articleset":
            record = 0
            for article in root.iterfind("article"):
                record += 1
                where = f"record {record}"
                try:
                    yield self._article(article, where)
                except _NoId:
                    yield RecordError("no PMC id or PMID", where)
                except (RecursionError, ValueError, TypeError, LookupError, AttributeError) as exc:
                    yield RecordError(f"cannot read article: {exc}", where)
        else:
            raise ParseError(f"wrong root element <{root.tag}>, expected <article>", path=origin,
                             location=f"line {root.sourceline or 1}",
                             hint="this is not JATS full text; pick the right --format")

    def _article(self, article: etree._Element, where: str) -> ParseEvent:
        front = article.find("front")
        meta = front.find("article-meta") if front is not None else None
        if meta is None:
            return RecordError("article without front/article-meta", where)
        ids: dict[str, str] = {}
        for aid in meta.iterfind("article-id"):
            kind = (aid.get("pub-id-type") or "").lower()
            value = clean_text(aid.text)
            if kind and value:
                ids.setdefault(kind, value)
        pmcid = _pmcid(ids.get("pmc") or ids.get("pmcid"))
        pmid = ids.get("pmid")
        if pmid and not pmid.isdigit():
            pmid = None
        if pmcid:
            doc_id = f"pmc:{pmcid}"
            url = f"https://www.ncbi.nlm.nih.gov/pmc/articles/{pmcid}/"
        elif pmid:
            doc_id = f"pmid:{pmid}"
            url = f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
        else:
            raise _NoId()

        title = _inline(meta.find("title-group/article-title"), _TITLE_SKIP)
        journal = front.find("journal-meta")
        source = ""
        if journal is not None:
            source = _inline(journal.find("journal-title-group/journal-title"), _TITLE_SKIP) or _inline(
                journal.find("journal-title"), _TITLE_SKIP
            )
            if not source:
                for jid in journal.iterfind("journal-id"):
                    if jid.get("journal-id-type") in ("nlm-ta", "iso-abbrev"):
                        source = clean_text(jid.text)
                        if source:
                            break
        date, year = _pub_date(meta)

        abstract = _abstract_sections(meta)
        sections = abstract + _body_sections(article.find("body"))
        if not sections:
            return RecordError(f"{doc_id}: no abstract or body text", where)

        article_type = clean_text(article.get("article-type"))
        subjects = tuple(_unique([_inline(s, _TITLE_SKIP) for s in meta.iterfind("article-categories//subject")]))
        keywords = _unique([_inline(k, _TITLE_SKIP) for k in meta.iterfind("kwd-group/kwd")])
        abstract_text = " ".join(s.text for s in abstract)
        kind = classify(article_type, subjects, title, abstract_text, tuple(keywords))
        metadata: dict[str, object] = {}
        if article_type:
            metadata["article_type"] = article_type
        if subjects:
            metadata["subjects"] = list(subjects)
        if keywords:
            metadata["keywords"] = keywords
        return Document(
            doc_id=doc_id,
            kind=kind,
            title=title or (pmcid or f"PMID {pmid}"),
            sections=tuple(sections),
            source=source,
            date=date,
            year=year,
            authors=_authors(meta),
            url=url,
            pmid=pmid,
            pmcid=pmcid,
            doi=ids.get("doi"),
            license=_license(meta),
            metadata=metadata,
        )
