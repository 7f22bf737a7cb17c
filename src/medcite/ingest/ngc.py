"""National Guideline Clearinghouse (NGC, AHRQ) guideline summary XML.

One file (``ngc-11005.xml``) is one guideline summary: ``<Version>`` → ``<Section Name>`` → ``<Field Name Type>``
→ ``<FieldValue Value="(escaped HTML)"/>``. The whole summary becomes one :class:`~medcite.domain.Document` of
kind ``guideline``; the clinically useful fields (recommendations, population, benefits, harms, …) become its
sections. See docs/formats.md.
"""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import PurePath
from typing import BinaryIO, Iterator

from lxml import etree

from medcite.domain import DocKind, Document, ParseEvent, RecordError, Section
from medcite.ingest.base import parse_xml_root
from medcite.errors import ParseError
from medcite.ingest.pubmed import iso_date
from medcite.text import clean_text, html_to_text

__all__ = ["NGCParser", "SECTION_FIELDS", "fix_mojibake"]

#: NGC fields that become sections, in this order (the heading is the field name)
SECTION_FIELDS: tuple[str, ...] = (
    "Major Recommendations",
    "FDA Warning/Regulatory Alert",
    "Disease/Condition(s)",
    "Guideline Objective(s)",
    "Target Population",
    "Interventions and Practices Considered",
    "Major Outcomes Considered",
    "Type of Evidence Supporting the Recommendations",
    "Rating Scheme for the Strength of the Evidence",
    "Rating Scheme for the Strength of the Recommendations",
    "Potential Benefits",
    "Potential Harms",
    "Contraindications",
    "Qualifying Statements",
)

#: picklist fields kept as metadata lists
_LIST_FIELDS = {
    "Guideline Category": "guideline_category",
    "Clinical Specialty": "clinical_specialty",
    "Intended Users": "intended_users",
    "Methods Used to Analyze the Evidence": "methods_analyze_evidence",
}

_SNIFF = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*(?:<!DOCTYPE[^>\[]*>\s*)?(?:<!--.*?-->\s*)*<Version[\s>]",
    re.DOTALL,
)
_SNIFF_BODY = re.compile(rb"<Section\s[^>]*Name=")
_SNIFF_FIELD = re.compile(rb"<Field\s[^>]*Name=")

_FILE_NUMBER = re.compile(r"(?i)ngc[-_]?(\d+)")
_DATE = re.compile(r"(\d{4})(?:\s+([A-Za-z]{3,9})\.?(?:\s+(\d{1,2}))?)?")
_REVISED = re.compile(r"(?i)revised\s+(\d{4}(?:\s+[A-Za-z]{3,9}\.?(?:\s+\d{1,2})?)?)")
_HREF = re.compile(r"""href\s*=\s*["'](https?://[^"'\s]+)["']""", re.IGNORECASE)
_ORG_TYPE = re.compile(r"\s+-\s+[^-]*$")
_BOILERPLATE = frozenset({"none provided", "not stated", "none", "not applicable"})
# UTF-8 bytes that were decoded as Latin-1/cp1252 somewhere upstream ("ï¬\x81" for "ﬁ", "â\x80\x90" for "‐")
_MOJIBAKE = re.compile("[\u00c2-\u00f4][\u0080-\u00bf]{1,3}")
_LIGATURES = str.maketrans({"\ufb01": "fi", "\ufb02": "fl", "\ufb00": "ff", "\ufb03": "ffi", "\ufb04": "ffl"})
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")

# USPSTF "(B recommendation)", "(I statement)"; VA/DoD "[B]" / "[EO]" at a line end, "(Strong for; …)"
_GRADE_PATTERNS = (
    re.compile(r"\(([ABCD]) recommendation\)"),
    re.compile(r"\((I) statement\)"),
    re.compile(r"\[([ABCDI]|EO)\]\s*$", re.MULTILINE),
    re.compile(r"\(((?:Strong|Weak) (?:for|against))\s*[;)]", re.IGNORECASE),
)


def _fix_match(m: re.Match[str]) -> str:
    s = m.group()
    try:
        return s.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return s


def fix_mojibake(text: str) -> str:
    """Repair UTF-8 sequences that were mis-decoded as Latin-1, ligatures and private-use symbols."""
    if not text:
        return ""
    text = _MOJIBAKE.sub(_fix_match, text)
    return _PRIVATE_USE.sub("", text.translate(_LIGATURES))


def _date(raw: str) -> tuple[str | None, int | None]:
    m = _DATE.search(raw)
    if not m:
        return None, None
    return iso_date(m.group(1), m.group(2), m.group(3))


def _grades(text: str) -> list[str]:
    found: list[tuple[int, str]] = []
    for pattern in _GRADE_PATTERNS:
        for m in pattern.finditer(text):
            value = m.group(1)
            found.append((m.start(), value[:1].upper() + value[1:].lower() if " " in value else value))
    return list(dict.fromkeys(v for _, v in sorted(found)))


def _developer(name: str) -> str:
    """``"U.S. Preventive Services Task Force - Independent Expert Panel"`` → the organisation only."""
    short = _ORG_TYPE.sub("", name).strip()
    return short or name


class NGCParser:
    """Parser for National Guideline Clearinghouse summary XML."""

    name = "ngc"
    version = "1"
    description = "National Guideline Clearinghouse summary XML (<Version><Section><Field>) — one guideline per file"

    def sniff(self, filename: str, head: bytes) -> bool:
        m = _SNIFF.match(head)
        return bool(m and _SNIFF_BODY.search(head, m.end()) and _SNIFF_FIELD.search(head, m.end()))

    def parse(self, stream: BinaryIO, origin: str) -> Iterator[ParseEvent]:
        root = parse_xml_root(stream, origin, "NGC XML", "check that the file is a complete NGC summary")
        if root.tag != "Version":
            shown = root.tag if isinstance(root.tag, str) else "?"
            raise ParseError(
                f"wrong root element <{shown}>, expected <Version>", path=origin, location="line 1",
                hint="this is not NGC guideline XML; pick the right --format",
            )
        try:
            event = self._document(root, origin)
        except (ValueError, TypeError, LookupError, AttributeError, UnicodeError, RecursionError,
                etree.LxmlError) as exc:
            event = RecordError(f"cannot read NGC summary: {exc}", "record 1")
        yield event

    @staticmethod
    def _fields(root: etree._Element) -> dict[str, list[str]]:
        """Field name → raw values (the first occurrence of a repeated field wins)."""
        fields: dict[str, list[str]] = {}
        for section in root.iterfind("Section"):
            for fld in section.iterfind("Field"):
                name = clean_text(fld.get("Name"))
                if not name or name in fields:
                    continue
                # line breaks in HTML source are layout: only block elements (<p>, <li>, <br>) break lines
                fields[name] = [fix_mojibake(v.get("Value") or "").replace("\r", " ").replace("\n", " ")
                                for v in fld.iterfind("FieldValue")]
        return fields

    def _document(self, root: etree._Element, origin: str) -> ParseEvent:
        fields = self._fields(root)

        def text_of(name: str) -> str:
            return "\n".join(t for t in (html_to_text(v) for v in fields.get(name, ())) if t)

        title = clean_text(text_of("Guideline Title").replace("\n", " ")).rstrip(".").strip()
        sections: list[Section] = []
        for name in SECTION_FIELDS:
            body = text_of(name)
            if body and body.strip(" .").lower() not in _BOILERPLATE:
                sections.append(Section(name, body))
        if not sections:
            return RecordError("NGC summary without any recommendation or scope text", "record 1")

        m = _FILE_NUMBER.search(PurePath(origin.replace("\\", "/")).name)
        if m:
            doc_id = f"ngc:{int(m.group(1))}"
        elif title:
            # no NGC number in the file name: a stable id from the title
            doc_id = "ngc:t" + hashlib.blake2b(title.encode("utf-8"), digest_size=6).hexdigest()
        else:
            return RecordError("cannot tell the NGC number (no ngc-<n> file name) nor the title", "record 1")

        developers = [_developer(clean_text(html_to_text(v))) for v in fields.get("Guideline Developer(s)", ())]
        developers = [d for d in developers if d]
        released_raw = clean_text(text_of("Date Released").replace("\n", " "))
        first_date, first_year = _date(released_raw)
        date, year = first_date, first_year
        revised = _REVISED.search(released_raw)
        metadata: dict[str, object] = {}
        if revised:
            # "1996 (revised 2014 Dec 16)": the summary describes the revision, so its date is the document's
            rev_date, rev_year = _date(revised.group(1))
            if rev_year:
                date, year = rev_date, rev_year
                metadata["date_first_released"] = first_date
        if released_raw:
            metadata["date_released"] = released_raw
        citation = clean_text(text_of("Bibliographic Source(s)").replace("\n", " "))
        if citation:
            metadata["citation"] = citation
        if developers:
            metadata["developers"] = developers
        status = clean_text(text_of("Guideline Status").replace("\n", " "))
        if status:
            metadata["guideline_status"] = status
        grades = _grades(sections[0].text) if sections[0].heading == "Major Recommendations" else []
        if grades:
            metadata["grades"] = grades
        for field_name, key in _LIST_FIELDS.items():
            values = [clean_text(html_to_text(v)) for v in fields.get(field_name, ())]
            values = [v for v in values if v]
            if values:
                metadata[key] = values

        url = ""
        for raw in fields.get("Guideline Availability", ()):
            hm = _HREF.search(raw)
            if hm:
                url = html.unescape(hm.group(1))
                break

        return Document(
            doc_id=doc_id,
            kind=DocKind.GUIDELINE,
            title=title or f"NGC guideline {doc_id.split(':', 1)[1]}",
            sections=tuple(sections),
            source="; ".join(dict.fromkeys(developers)),
            date=date,
            year=year,
            url=url,
            license="public domain",
            metadata=metadata,
        )
