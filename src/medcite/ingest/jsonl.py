"""JSON lines (``.jsonl`` / ``.ndjson``, and ``.json`` arrays): one record per line, three layouts.

The layout is chosen per line from the object's keys:

- **medcite** — medcite's own schema (any object with a ``"kind"`` or ``"medcite"`` key), the format to use
  for your own documents; :func:`document_to_record` writes it.
- **pubmedqa** — PubMedQA abstracts (an ``"abstract_sections"`` key).
- **article** — article records such as the PMC RCT set (``"doc_type"``, ``"abstract"``, ``"journal"`` or
  ``"sections"`` without ``"kind"``).

A malformed line is a :class:`~medcite.domain.RecordError` (``line N``) and the rest of the file is kept; a file
that is not UTF-8, or in which no line is a usable record, raises :class:`~medcite.errors.ParseError`.
See docs/formats.md for the exact field mapping.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any, BinaryIO, Iterator

from medcite.domain import (
    Deletion,
    DocKind,
    DocStatus,
    Document,
    ParseEvent,
    RecordError,
    Section,
    kind_from_publication_types,
)
from medcite.errors import ParseError
from medcite.ingest.limits import LineReader
from medcite.ingest.pubmed import iso_date
from medcite.text import clean_block, clean_text, split_sentences

__all__ = ["JsonlParser", "document_to_record", "infer_kind", "infer_title", "SCHEMA_VERSION"]

#: value of the optional ``"medcite"`` marker key written by :func:`document_to_record`
SCHEMA_VERSION = 1
#: how many unusable lines may open a file before it is rejected as "not JSON lines at all"
MAX_LEADING_ERRORS = 1000
#: deepest nesting of objects and arrays a record's "metadata" may have (as in the web API's answers)
MAX_METADATA_DEPTH = 20
#: inferred titles are cut to about this many characters (at a word boundary)
TITLE_MAX = 200

_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*:\S+$")
_ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_YEAR = re.compile(r"^\s*(\d{4})\b")
_SURROGATES = re.compile("[\ud800-\udfff]")
# "RESULTS: …", "METHODS/DESIGN: …", "ABSTRACT.BACKGROUND: …" at the start of an abstract paragraph
_LABEL = re.compile(r"^([A-Z][A-Z0-9 ,/&()'’.\-]{2,80}?)\s*:+\s*(.*)$", re.DOTALL)
_LABEL_PREFIX = re.compile(r"^(?:ABSTRACT|BODY)\s*[.:]\s*")
_LEADING_LABEL = re.compile(
    r"^(?i:introduction|background|objectives?|aims?|purpose|context|summary|abstract|methods?)\s*:\s+(?=\S)")
_ALNUM = re.compile(r"[^\W_]")
# "…Randomized TrialMalaria and Cognitive Development": a running title glued to the end of the title
_GLUE = re.compile(r"(?<=[a-z)\]])(?=[A-Z][a-z])")
_WORD = re.compile(r"[a-z0-9][a-z0-9'-]*")
# "METHODS.STATISTICAL ANALYSIS" → "METHODS › STATISTICAL ANALYSIS"
_HEADING_DOT = re.compile(r"(?<=[A-Z)]{2})\.(?=[A-Z(]{2})")
#: body sections that are administrative, not evidence (lower-cased heading start), as in the JATS parser
_BOILERPLATE = (
    "competing interest", "conflict of interest", "conflicts of interest", "declaration of competing",
    "declaration of interest", "disclosure", "author contribution", "authors' contribution",
    "authors’ contribution", "authors contribution", "contributors", "pre-publication history",
    "supplementary material", "supplementary data", "supporting information", "electronic supplementary",
    "acknowledg", "funding", "abbreviations",
)

#: article ``doc_type`` values → kind (anything else: publication-type rules, then "other")
_DOC_TYPES: dict[str, DocKind] = {
    "randomized_controlled_trial": DocKind.RANDOMIZED_TRIAL,
    "randomised_controlled_trial": DocKind.RANDOMIZED_TRIAL,
    "rct": DocKind.RANDOMIZED_TRIAL,
    "controlled_clinical_trial": DocKind.RANDOMIZED_TRIAL,
    "systematic_review": DocKind.SYSTEMATIC_REVIEW,
    "meta_analysis": DocKind.SYSTEMATIC_REVIEW,
    "guideline": DocKind.GUIDELINE,
    "practice_guideline": DocKind.GUIDELINE,
    "observational_study": DocKind.OBSERVATIONAL,
    "cohort_study": DocKind.OBSERVATIONAL,
    "case_control_study": DocKind.OBSERVATIONAL,
    "cross_sectional_study": DocKind.OBSERVATIONAL,
    "case_report": DocKind.CASE_REPORT,
    "case_reports": DocKind.CASE_REPORT,
    "review": DocKind.REVIEW,
    "review_article": DocKind.REVIEW,
    "drug_label": DocKind.DRUG_LABEL,
    "patient_info": DocKind.PATIENT_INFO,
    "patient_education": DocKind.PATIENT_INFO,
}

_LICENSES = {
    "cc-by": "CC BY", "cc by": "CC BY", "cc-by-nc": "CC BY-NC", "cc-by-sa": "CC BY-SA", "cc-by-nd": "CC BY-ND",
    "cc-by-nc-sa": "CC BY-NC-SA", "cc-by-nc-nd": "CC BY-NC-ND", "cc-zero": "CC0", "cc0": "CC0",
    "cc-mark": "Public Domain Mark",
}
_LICENSE = re.compile(r"^(cc[- ][a-z-]+|cc0)\s*(\d(?:\.\d)?)?$", re.IGNORECASE)

# --- kind rules for abstracts without a publication type (PubMedQA) --------------------------
_SR_WORDS = ("meta-analysis", "meta-analyses", "metaanalysis", "systematic review")
_RCT_WORDS = ("randomized", "randomised", "randomly assigned", "randomly allocated")
_OBS_WORDS = ("cohort", "case-control", "case control", "cross-sectional", "cross sectional", "retrospective",
              "prospective")
_OBS_MESH = ("cohort studies", "case-control studies", "cross-sectional studies", "retrospective studies",
             "prospective studies", "longitudinal studies", "follow-up studies")
_CASE_WORDS = ("case report", "we report a case", "we describe a case", "we present a case",
               "we report the case", "we describe the case", "we present the case")


class _Bad(ValueError):
    """A record that cannot become a document (message for the RecordError)."""


# --- helpers --------------------------------------------------------------------------------


def _scrub(value: str) -> str:
    """Drop lone surrogates ("\\ud800" escapes) that cannot be stored as UTF-8."""
    return _SURROGATES.sub("", value) if value else value


def _str(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if isinstance(value, bool):
        raise _Bad(f'"{key}" must be a string')
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        raise _Bad(f'"{key}" must be a string, not {type(value).__name__}')
    return _scrub(value)


def _opt(obj: dict[str, Any], key: str) -> str | None:
    return clean_text(_str(obj, key)) or None


def _str_list(obj: dict[str, Any], key: str) -> tuple[str, ...]:
    value = obj.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise _Bad(f'"{key}" must be a list of strings')
    out: dict[str, None] = {}
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise _Bad(f'"{key}" must be a list of strings')
        text = clean_text(_scrub(str(item)))
        if text:
            out[text] = None
    return tuple(out)


def _depth(value: Any) -> int:
    """How deeply objects and arrays nest in ``value`` (a scalar: 0), without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            items = item.values()
        elif isinstance(item, list):
            items = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_METADATA_DEPTH:
            stack.extend((child, depth + 1) for child in items)
    return deepest


def _doc_id(obj: dict[str, Any]) -> str:
    raw = obj.get("id")
    if raw is None or raw == "":
        raise _Bad('record without "id"')
    if not isinstance(raw, str):
        raise _Bad('"id" must be a string such as "pmid:123"')
    doc_id = clean_text(_scrub(raw))
    if not _ID.match(doc_id):
        raise _Bad(f'"id" {doc_id[:60]!r} is not of the form "prefix:value" (e.g. "pmid:123", "local:aspirin-1")')
    return doc_id


def _year(obj: dict[str, Any]) -> int | None:
    value = obj.get("year")
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _Bad('"year" must be a number')
    if isinstance(value, int):
        year = value
    elif isinstance(value, str) and _YEAR.match(value):
        year = int(_YEAR.match(value).group(1))  # type: ignore[union-attr]
    else:
        raise _Bad(f'"year" must be a four-digit year, not {value!r}'[:120])
    if not 1000 <= year <= 9999:
        raise _Bad(f'"year" {year} is out of range')
    return year


def infer_title(text: str) -> str:
    """A title made from the first sentence of ``text``, cut at a word boundary near :data:`TITLE_MAX`."""
    sentences = split_sentences(text)
    first = _LEADING_LABEL.sub("", clean_text(sentences[0] if sentences else text)) or clean_text(text)
    if len(first) <= TITLE_MAX:
        return first
    cut = first[:TITLE_MAX]
    space = cut.rfind(" ")
    if space > TITLE_MAX // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"


def infer_kind(text: str, mesh_terms: tuple[str, ...] = ()) -> DocKind:
    """Study design from an abstract's wording (first matching rule wins; see the format docs)."""
    low = text.lower()
    mesh = {m.lower() for m in mesh_terms}
    if any(w in low for w in _SR_WORDS) or "meta-analysis" in mesh or "systematic review" in " ".join(mesh):
        return DocKind.SYSTEMATIC_REVIEW
    if any(w in low for w in _RCT_WORDS) and "trial" in low:
        return DocKind.RANDOMIZED_TRIAL
    if any(w in low for w in _OBS_WORDS) or any(m in mesh for m in _OBS_MESH):
        return DocKind.OBSERVATIONAL
    if any(w in low for w in _CASE_WORDS):
        return DocKind.CASE_REPORT
    return DocKind.OTHER


def _license(raw: str) -> str:
    """``"cc-by 4.0"`` → ``"CC BY 4.0"``, ``"cc-zero 1.0"`` → ``"CC0 1.0"``; anything else unchanged."""
    text = clean_text(raw)
    m = _LICENSE.match(text)
    if not m:
        return text
    name = _LICENSES.get(m.group(1).lower())
    if not name:
        return text
    version = m.group(2)
    if version and "." not in version:
        version += ".0"
    return f"{name} {version}" if version else name


def _heading(raw: str) -> str:
    heading = clean_text(raw).rstrip(":").strip()
    if heading.isupper():
        heading = _HEADING_DOT.sub(" › ", heading)
    return heading


def _is_boilerplate(heading: str) -> bool:
    low = heading.lower().lstrip("0123456789. ")
    return low.startswith(_BOILERPLATE)


def _append(sections: list[Section], heading: str, text: str) -> None:
    """Add a section; a repeated heading right after itself is merged into one section."""
    if not text:
        return
    if sections and sections[-1].heading == heading:
        sections[-1] = Section(heading, sections[-1].text + "\n" + text)
    else:
        sections.append(Section(heading, text))


def split_labelled_abstract(abstract: str) -> list[Section]:
    """``"BACKGROUND: …\\nMETHODS: …"`` → one section per upper-case label; no label → one "Abstract" section."""
    sections: list[Section] = []
    heading = "Abstract"
    for para in abstract.replace("\r", "\n").split("\n"):
        para = clean_text(para)
        if not _ALNUM.search(para):
            continue
        m = _LABEL.match(para)
        if m and not any(c.islower() for c in m.group(1)):
            label = _LABEL_PREFIX.sub("", m.group(1).strip()).strip(" .")
            heading = "Abstract" if label in ("", "ABSTRACT", "UNLABELLED", "UNLABELED") else _heading(label)
            para = m.group(2).strip()
        if not _is_boilerplate(heading):
            _append(sections, heading, clean_text(para))
    return sections


def _strip_running_title(title: str) -> str:
    """Remove a running title glued to the title ("…: A Randomized TrialMalaria and Cognition").

    A glue point (lower-case letter directly followed by an upper-case word) is cut when the tail has at least
    three words and at least half of its content words already occur before it.
    """
    for m in _GLUE.finditer(title):
        head, tail = title[: m.start()], title[m.start():]
        tail_words = [w for w in _WORD.findall(tail.lower()) if len(w) >= 4]
        if len(tail.split()) < 3 or not tail_words:
            continue
        head_words = set(_WORD.findall(head.lower()))
        if sum(w in head_words for w in tail_words) * 2 >= len(tail_words):
            return head.strip()
    return title


def _article_title(raw: str) -> str:
    """The usable part of a noisy article title, or "" when it is not a title at all."""
    first = clean_text(raw.replace("\r", "\n").split("\n", 1)[0])
    if not first or first.upper().startswith("ABSTRACT") or first.endswith(":"):
        return ""
    if len(first) < 15 or len(first.split()) < 3:
        return ""
    return _strip_running_title(first)


# --- the parser -----------------------------------------------------------------------------


class JsonlParser:
    """Parser for JSON-lines files in medcite's schema, the PMC article layout and the PubMedQA layout."""

    name = "jsonl"
    version = "1"
    description = "JSON lines (.jsonl/.ndjson; .json arrays): medcite schema, PMC article records, PubMedQA abstracts"

    def sniff(self, filename: str, head: bytes) -> bool:
        lower = filename.lower()
        body = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
        stripped = body.lstrip()
        if lower.endswith((".jsonl", ".ndjson")):
            return stripped.startswith(b"{")
        if lower.endswith(".json"):
            if stripped.startswith(b"["):
                return stripped[1:].lstrip()[:1] in (b"{", b"]", b"")
            if stripped.startswith(b"{"):
                # a JSON-lines file named .json: its first line must be one complete object
                line = stripped.split(b"\n", 1)[0]
                try:
                    return isinstance(json.loads(line), dict)
                except (ValueError, UnicodeError, RecursionError):
                    return False
        return False

    def parse(self, stream: BinaryIO, origin: str) -> Iterator[ParseEvent]:
        pending: list[RecordError] = []  # errors before the first usable record (the file may not be JSONL at all)
        usable = False
        seen_any = False
        for location, obj, error in self._items(stream, origin):
            seen_any = True
            if error is None:
                event = self._record(obj, location)
            else:
                event = RecordError(error, location)
            if isinstance(event, RecordError):
                if usable:
                    yield event
                    continue
                pending.append(event)
                if len(pending) >= MAX_LEADING_ERRORS:
                    raise self._unusable(origin, pending)
                continue
            if not usable:
                usable = True
                yield from pending
                pending.clear()
            yield event
        if not seen_any:
            raise ParseError("no JSON records in the file", path=origin,
                             hint="each line must hold one JSON object")
        if not usable:
            raise self._unusable(origin, pending)

    @staticmethod
    def _unusable(origin: str, errors: list[RecordError]) -> ParseError:
        first = errors[0]
        return ParseError(
            f"no usable record ({len(errors)} line(s) tried; first: {first.message})",
            path=origin, location=first.location,
            hint="expected one JSON object per line in the medcite, article or PubMedQA layout "
                 "(see docs/formats.md)",
        )

    def _items(self, stream: BinaryIO, origin: str) -> Iterator[tuple[str, Any, str | None]]:
        """(location, decoded object or None, error message or None) for every non-blank line / array item."""
        first = True
        lines = LineReader(stream, origin)  # a line over the record cap is refused, never read whole
        for n, raw in lines:
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ParseError("the file is not UTF-8 text", path=origin, location=f"line {n}",
                                 hint="JSON lines must be UTF-8; re-encode the file") from None
            if n == 1 and line.startswith("\ufeff"):
                line = line[1:]
            stripped = line.strip()
            if not stripped:
                continue
            if first and stripped.startswith("["):
                # a JSON array (``.json``) rather than JSON lines: read it whole
                yield from self._array(line, lines, origin, n)
                return
            first = False
            try:
                obj = json.loads(stripped)
            except (ValueError, RecursionError) as exc:
                msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc) or type(exc).__name__
                yield f"line {n}", None, f"not valid JSON ({msg})"
                continue
            yield f"line {n}", obj, None

    @staticmethod
    def _array(first: str, lines: LineReader, origin: str, line_no: int) -> Iterator[tuple[str, Any, str | None]]:
        try:
            text = first + lines.rest("the JSON array").decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("the file is not UTF-8 text", path=origin,
                             hint="JSON must be UTF-8; re-encode the file") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ParseError(f"not valid JSON ({exc.msg})", path=origin, location=f"line {exc.lineno + line_no - 1}",
                             hint="the file is truncated or corrupt") from None
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"not valid JSON ({exc})", path=origin, hint="the file is truncated or corrupt") from None
        if not isinstance(data, list):
            raise ParseError("a JSON file must hold an array of records", path=origin, location=f"line {line_no}",
                             hint="use one JSON object per line (.jsonl) or an array of objects (.json)")
        for i, obj in enumerate(data, 1):
            yield f"record {i}", obj, None

    def _record(self, obj: Any, location: str) -> ParseEvent:
        if not isinstance(obj, dict):
            return RecordError(f"a JSON object was expected, not {type(obj).__name__}", location)
        try:
            if "kind" in obj or "medcite" in obj:
                return self._medcite(obj)
            if "abstract_sections" in obj:
                return self._pubmedqa(obj)
            if any(k in obj for k in ("doc_type", "abstract", "journal", "sections")):
                return self._article(obj)
            return RecordError(
                "object matches none of the layouts (medcite: \"kind\"/\"medcite\"; article: \"abstract\"/"
                "\"sections\"/\"doc_type\"; PubMedQA: \"abstract_sections\")", location)
        except _Bad as exc:
            return RecordError(str(exc), location)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError) as exc:
            return RecordError(f"unreadable record: {exc}", location)

    # --- layout (a): medcite --------------------------------------------------------------

    def _medcite(self, obj: dict[str, Any]) -> ParseEvent:
        doc_id = _doc_id(obj)
        version = obj.get("version", 1)
        if version is None:
            version = 1
        if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version < 2**63:
            raise _Bad('"version" must be a positive integer')
        status_raw = clean_text(_str(obj, "status")).lower() or DocStatus.ACTIVE.value
        try:
            status = DocStatus(status_raw)
        except ValueError:
            raise _Bad(f'"status" must be one of {", ".join(s.value for s in DocStatus)}') from None
        if status is DocStatus.DELETED:
            return Deletion(doc_id, version=version)

        pub_types = _str_list(obj, "publication_types")
        kind_raw = clean_text(_str(obj, "kind")).lower()
        if kind_raw:
            try:
                kind = DocKind(kind_raw)
            except ValueError:
                raise _Bad(f'"kind" must be one of {", ".join(k.value for k in DocKind)}') from None
        else:
            kind = kind_from_publication_types(pub_types, default=DocKind.OTHER)

        raw_sections = obj.get("sections")
        if not isinstance(raw_sections, list):
            raise _Bad('"sections" must be a list of {"heading", "text"} objects')
        sections: list[Section] = []
        for item in raw_sections:
            if isinstance(item, str):
                heading, text = "Text", clean_block(_scrub(item))
            elif isinstance(item, dict):
                heading = clean_text(_str(item, "heading")) or "Text"
                text = clean_block(_str(item, "text"))
            else:
                raise _Bad('"sections" must be a list of {"heading", "text"} objects')
            if text:
                sections.append(Section(heading, text))
        if not sections:
            raise _Bad(f"{doc_id}: no section with text")

        metadata = obj.get("metadata")
        if metadata is None:
            metadata = {}
        if not isinstance(metadata, dict):
            raise _Bad('"metadata" must be an object')
        if _depth(metadata) > MAX_METADATA_DEPTH:
            raise _Bad(f'"metadata" is nested more than {MAX_METADATA_DEPTH} levels deep')
        metadata = dict(metadata)
        title = clean_text(_str(obj, "title"))
        if not title:
            title = infer_title(sections[0].text)
            metadata["title_inferred"] = True

        date_raw = clean_text(_str(obj, "date"))
        date: str | None = None
        year = _year(obj)
        if date_raw:
            m = _ISO_DATE.match(date_raw)
            if not m:
                raise _Bad(f'"date" must be YYYY, YYYY-MM or YYYY-MM-DD, not {date_raw[:40]!r}')
            date, date_year = iso_date(m.group(1), m.group(2), m.group(3))
            if date != date_raw:  # "2020-13-01": iso_date drops an impossible month or day
                raise _Bad(f'"date" {date_raw!r} is not a valid date')
            year = year or date_year

        return Document(
            doc_id=doc_id,
            kind=kind,
            title=title,
            sections=tuple(sections),
            source=clean_text(_str(obj, "source")),
            date=date,
            year=year,
            authors=_str_list(obj, "authors"),
            url=clean_text(_str(obj, "url")),
            pmid=_opt(obj, "pmid"),
            pmcid=_opt(obj, "pmcid"),
            doi=_opt(obj, "doi"),
            mesh_terms=_str_list(obj, "mesh_terms"),
            publication_types=pub_types,
            license=clean_text(_str(obj, "license")),
            status=status,
            version=version,
            metadata=metadata,
        )

    # --- layout (b): articles (PMC RCT set) ------------------------------------------------

    def _article(self, obj: dict[str, Any]) -> ParseEvent:
        doc_id = _doc_id(obj)
        sections: list[Section] = []
        raw_title = _str(obj, "title")
        abstract = _str(obj, "abstract")
        # some records carry their abstract (and more) in "title", after the real title's line
        spill = raw_title.replace("\r", "\n").split("\n", 1)[1].strip() if "\n" in raw_title.strip() else ""
        if spill and clean_text(spill)[:80] not in clean_text(abstract):
            sections.extend(split_labelled_abstract(spill))
        if abstract:
            for section in split_labelled_abstract(abstract):
                _append(sections, section.heading, section.text)
        n_abstract = len(sections)
        body = obj.get("sections")
        if body is not None and not isinstance(body, list):
            raise _Bad('"sections" must be a list of {"heading", "text"} objects')
        for item in body or ():
            if not isinstance(item, dict):
                raise _Bad('"sections" must be a list of {"heading", "text"} objects')
            heading = _heading(_str(item, "heading"))
            if heading.upper() == "BODY":
                heading = "Main text"
            if heading and _is_boilerplate(heading):
                continue
            _append(sections, heading or "Main text", clean_block(_str(item, "text")))
        if not sections:
            raise _Bad(f"{doc_id}: no abstract and no section text")

        metadata: dict[str, Any] = {}
        title = _article_title(raw_title)
        if not title:
            title = infer_title(sections[0].text)
            metadata["title_inferred"] = True
        doc_type = clean_text(_str(obj, "doc_type"))
        if doc_type:
            metadata["doc_type"] = doc_type
        if n_abstract == 0:
            metadata["no_abstract"] = True
        key = doc_type.lower().replace(" ", "_").replace("-", "_")
        kind = _DOC_TYPES.get(key) or kind_from_publication_types([doc_type.replace("_", " ")], default=DocKind.OTHER)

        year = _year(obj)
        pmcid = _opt(obj, "pmcid")
        url = clean_text(_str(obj, "url"))
        if not url and pmcid:
            url = f"https://www.ncbi.nlm.nih.gov/pmc/articles/{pmcid}/"
        return Document(
            doc_id=doc_id,
            kind=kind,
            title=title,
            sections=tuple(sections),
            # journal names in these sets keep JATS character references ("Addiction Science &#x00026; …")
            source=clean_text(html.unescape(_str(obj, "journal"))) or clean_text(html.unescape(_str(obj, "source"))),
            date=str(year) if year else None,
            year=year,
            authors=_str_list(obj, "authors"),
            url=url,
            pmid=_opt(obj, "pmid"),
            pmcid=pmcid,
            doi=_opt(obj, "doi"),
            mesh_terms=_str_list(obj, "mesh_terms"),
            license=_license(_str(obj, "license")),
            metadata=metadata,
        )

    # --- layout (c): PubMedQA ---------------------------------------------------------------

    def _pubmedqa(self, obj: dict[str, Any]) -> ParseEvent:
        doc_id = _doc_id(obj)
        parts = obj.get("abstract_sections")
        if not isinstance(parts, list):
            raise _Bad('"abstract_sections" must be a list of {"label", "text"} objects')
        sections: list[Section] = []
        for item in parts:
            if not isinstance(item, dict):
                raise _Bad('"abstract_sections" must be a list of {"label", "text"} objects')
            label = _heading(_str(item, "label"))
            if label.upper() in ("", "ABSTRACT", "UNLABELLED", "UNLABELED"):
                label = "Abstract"
            _append(sections, label, clean_block(_str(item, "text")))
        conclusion = clean_block(_str(obj, "conclusion"))
        _append(sections, "CONCLUSIONS", conclusion)
        if not sections:
            raise _Bad(f"{doc_id}: no abstract text")
        mesh = _str_list(obj, "mesh_terms")
        pmid = _opt(obj, "pmid") or (doc_id.split(":", 1)[1] if doc_id.startswith("pmid:") else None)
        year = _year(obj)
        title = infer_title(conclusion or sections[0].text)
        kind = infer_kind(" ".join(s.text for s in sections), mesh)
        return Document(
            doc_id=doc_id,
            kind=kind,
            title=title,
            sections=tuple(sections),
            date=str(year) if year else None,
            year=year,
            url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else "",
            pmid=pmid,
            mesh_terms=mesh,
            license="MIT (PubMedQA); abstract via NLM",
            metadata={"title_inferred": True, "kind_inferred": True},
        )


def document_to_record(doc: Document) -> dict[str, Any]:
    """A :class:`Document` as one JSON object of medcite's own layout (``json.dumps`` it, one per line)."""
    return {
        "medcite": SCHEMA_VERSION,
        "id": doc.doc_id,
        "kind": doc.kind.value,
        "title": doc.title,
        "sections": [{"heading": s.heading, "text": s.text} for s in doc.sections],
        "source": doc.source,
        "date": doc.date,
        "year": doc.year,
        "authors": list(doc.authors),
        "url": doc.url,
        "pmid": doc.pmid,
        "pmcid": doc.pmcid,
        "doi": doc.doi,
        "mesh_terms": list(doc.mesh_terms),
        "publication_types": list(doc.publication_types),
        "license": doc.license,
        "status": doc.status.value,
        "version": doc.version,
        "metadata": dict(doc.metadata),
    }
