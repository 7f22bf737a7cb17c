"""FDA Structured Product Labeling (SPL) drug labels: HL7 v3 XML, root ``<document xmlns="urn:hl7-org:v3">``.

One file is one label version and becomes one :class:`~medcite.domain.Document` (``spl:<setId>``, version from
``<versionNumber>``, so a newer label replaces an older one of the same set). Every titled label section
(``component/section``) becomes a :class:`~medcite.domain.Section`; nested subsections are headed
``"Parent › Child"``. See docs/formats.md.
"""

from __future__ import annotations

import re
from typing import BinaryIO, Iterator

from lxml import etree

from medcite.domain import DocKind, Document, ParseEvent, RecordError, Section
from medcite.ingest.base import parse_xml_root
from medcite.errors import ParseError
from medcite.ingest.pubmed import iso_date
from medcite.text import clean_block, clean_text

__all__ = ["SPLParser", "section_text"]

V3 = "urn:hl7-org:v3"
_N = f"{{{V3}}}"
_NS = {"v": V3}
PATH_SEPARATOR = " › "

#: LOINC code of the untitled "SPL UNCLASSIFIED SECTION": its text continues its parent's heading
_UNCLASSIFIED = "42229-5"
#: LOINC code of the indexing section of pharmacologic-class indexing files (no label text, only codes)
_INDEXING = "48779-3"

_SNIFF_NS = re.compile(rb"""xmlns(?::\w+)?\s*=\s*["']urn:hl7-org:v3["']""")
_SNIFF_ROOT = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:(?:<!--.*?-->|<\?.*?\?>)\s*)*(?:<!DOCTYPE[^>\[]*>\s*)?(?:(?:<!--.*?-->|<\?.*?\?>)\s*)*<(?:\w+:)?document[\s>]",
    re.DOTALL,
)

_BLOCK = frozenset({"paragraph", "item", "tr", "caption", "list", "table", "thead", "tbody", "tfoot", "footnote",
                    "title"})
_SKIP = frozenset({"renderMultiMedia", "footnoteRef", "col", "colgroup"})
_HIGHLIGHTS_BOILERPLATE = re.compile(
    r"^(?:these highlights do not include|see full prescribing information|initial u\.?s\.? approval)", re.I)
_APPROVAL = re.compile(r"(?i)initial u\.?s\.? approval:?\s*(\d{4})")
_DIGITS8 = re.compile(r"^(\d{4})(\d{2})?(\d{2})?")
_DISPLAY_SUFFIX = re.compile(r"\s+section$", re.IGNORECASE)
_DISPLAY_PREFIX = re.compile(r"^OTC\s*-\s*", re.IGNORECASE)
_INNER_DOT = re.compile(r"(?<=[A-Za-z])\.(?=[A-Za-z])")
_CELL_SEP = "\u241f"  # a private marker between table cells, turned into " | " after cleaning


def _flatten_ws(text: str) -> str:
    """Line breaks inside XML text are layout, not content: only block elements and <br/> break lines."""
    return text.replace("\r", " ").replace("\n", " ")


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _flat(el: etree._Element | None) -> str:
    """Text of an element with its parts separated by spaces (``TRIAMINIC<suffix>Children's…``)."""
    if el is None:
        return ""
    return clean_text(" ".join(t for t in el.itertext() if t.strip()))


def section_text(text_el: etree._Element | None) -> str:
    """The text of an SPL ``<text>`` element: one line per paragraph, list item and table row.

    Table cells are separated by ``" | "``; images (``renderMultiMedia``) and footnote markers are dropped.
    """
    if text_el is None:
        return ""
    parts: list[str] = []

    def walk(el: etree._Element) -> None:
        name = _local(el.tag)
        if name in _SKIP or not name:
            return
        block = name in _BLOCK
        if block:
            parts.append("\n")
        elif name == "br":
            parts.append("\n")
        elif name in ("td", "th") and el.getprevious() is not None:
            parts.append(_CELL_SEP)
        if name == "item":
            parts.append("• ")
        if el.text:
            parts.append(_flatten_ws(el.text))
        for child in el:
            walk(child)
            if child.tail:
                parts.append(_flatten_ws(child.tail))
        if block:
            parts.append("\n")

    walk(text_el)
    lines = []
    for line in clean_block("".join(parts)).split("\n"):
        cells = [c.strip() for c in line.split(_CELL_SEP)]
        line = " | ".join(c for c in cells if c)
        if line and line != "•":
            lines.append(line)
    return "\n".join(lines)


def _pretty_display(name: str) -> str:
    """``"OTC - ACTIVE INGREDIENT SECTION"`` → ``"Active ingredient"``; ``"Boxed Warning section"`` → ``"Boxed warning"``."""
    name = _DISPLAY_PREFIX.sub("", _DISPLAY_SUFFIX.sub("", clean_text(name)))
    name = _INNER_DOT.sub(" ", name)  # "PACKAGE LABEL.PRINCIPAL DISPLAY PANEL"
    if not name:
        return ""
    return name[:1].upper() + name[1:].lower()


def _date(value: str | None) -> tuple[str | None, int | None]:
    m = _DIGITS8.match((value or "").strip())
    if not m:
        return None, None
    return iso_date(m.group(1), m.group(2), m.group(3))


def _unique(items: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for item in items:
        if item and item.lower() not in seen:
            seen[item.lower()] = item
    return list(seen.values())


class SPLParser:
    """Parser for FDA SPL drug label XML."""

    name = "spl"
    version = "1"
    description = "FDA Structured Product Labeling (HL7 v3 SPL) drug labels — one document per label"

    def sniff(self, filename: str, head: bytes) -> bool:
        return bool(_SNIFF_ROOT.match(head) and _SNIFF_NS.search(head))

    def parse(self, stream: BinaryIO, origin: str) -> Iterator[ParseEvent]:
        root = parse_xml_root(stream, origin, "SPL XML", "check that the file is a complete SPL label", remove_comments=True, remove_pis=True)
        if root.tag != f"{_N}document":
            shown = root.tag if isinstance(root.tag, str) else "?"
            raise ParseError(
                f"wrong root element <{shown}>, expected <document xmlns=\"urn:hl7-org:v3\">",
                path=origin, location="line 1", hint="this is not an SPL drug label; pick the right --format",
            )
        try:
            event = self._document(root)
        except (ValueError, TypeError, LookupError, AttributeError, UnicodeError, RecursionError,
                etree.LxmlError) as exc:
            event = RecordError(f"cannot read SPL label: {exc}", "record 1")
        yield event

    # --- the label -------------------------------------------------------------------------

    def _document(self, root: etree._Element) -> ParseEvent:
        set_el = root.find(f"{_N}setId")
        set_id = clean_text(set_el.get("root")) if set_el is not None else ""
        if not set_id:
            return RecordError("SPL document without <setId root>", "record 1")
        id_el = root.find(f"{_N}id")
        spl_id = clean_text(id_el.get("root")) if id_el is not None else ""
        version = 1
        ver_el = root.find(f"{_N}versionNumber")
        raw_version = (ver_el.get("value") or "").strip() if ver_el is not None else ""
        if raw_version.isdigit() and 0 < int(raw_version) < 2**31:
            version = int(raw_version)
        eff = root.find(f"{_N}effectiveTime")
        date, year = _date(eff.get("value") if eff is not None else None)
        code_el = root.find(f"{_N}code")
        doc_type = clean_text(code_el.get("displayName")) if code_el is not None else ""

        labeler = _flat(root.find(f"{_N}author/{_N}assignedEntity/{_N}representedOrganization/{_N}name"))
        products = _unique(
            [_flat(n) for n in root.iterfind(".//v:manufacturedProduct/v:manufacturedProduct/v:name", _NS)]
            + [_flat(n) for n in root.iterfind(".//v:manufacturedProduct/v:manufacturedMedicine/v:name", _NS)]
        )
        generics = _unique([_flat(n) for n in root.iterfind(".//v:genericMedicine/v:name", _NS)])

        sections: list[Section] = []
        loinc: list[str] = []
        substances: list[str] = []
        body = root.find(f"{_N}component/{_N}structuredBody")
        if body is not None:
            for sec in body.iterfind(f"{_N}component/{_N}section"):
                self._walk(sec, [], sections, loinc, substances)
        if not sections:
            return RecordError("SPL label without any section text", "record 1")

        raw_title_lines = self._title_lines(root.find(f"{_N}title"))
        raw_title = " ".join(raw_title_lines)
        title = clean_text(" ".join(line for line in raw_title_lines if not _HIGHLIGHTS_BOILERPLATE.match(line)))
        names = products or substances
        if not title:
            title = f"{', '.join(names)} label" if names else (f"{doc_type.title()}" if doc_type else "Drug label")
        elif title.lower() == "drug facts" and names:
            title = f"{', '.join(names)} (Drug Facts)"

        metadata: dict[str, object] = {
            "spl_id": spl_id,
            "products": names,
            "loinc_sections": list(dict.fromkeys(loinc)),
        }
        if generics:
            metadata["generic_names"] = generics
        if doc_type:
            metadata["document_type"] = doc_type
        if raw_title and raw_title != title:
            metadata["spl_title"] = raw_title
        approval = _APPROVAL.search(raw_title)
        if approval:
            metadata["initial_us_approval"] = int(approval.group(1))

        return Document(
            doc_id=f"spl:{set_id}",
            kind=DocKind.DRUG_LABEL,
            title=title,
            sections=tuple(sections),
            source=labeler,
            date=date,
            year=year,
            url=f"https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid={set_id}",
            license="CC0",
            version=version,
            metadata=metadata,
        )

    @staticmethod
    def _title_lines(title_el: etree._Element | None) -> list[str]:
        """The document title split at ``<br/>`` into cleaned lines."""
        if title_el is None:
            return []
        parts: list[str] = [_flatten_ws(title_el.text or "")]
        for child in title_el.iter():
            if child is title_el:
                continue
            if _local(child.tag) == "br":
                parts.append("\n")
            elif child.text:
                parts.append(_flatten_ws(child.text))
            if child.tail:
                parts.append(_flatten_ws(child.tail))
        return [line for line in (clean_text(x) for x in "".join(parts).split("\n")) if line]

    def _walk(self, sec: etree._Element, path: list[str], out: list[Section], loinc: list[str],
              substances: list[str]) -> None:
        code_el = sec.find(f"{_N}code")
        code = clean_text(code_el.get("code")) if code_el is not None else ""
        display = clean_text(code_el.get("displayName")) if code_el is not None else ""
        if code:
            loinc.append(code)
        title = _flat(sec.find(f"{_N}title"))
        if title:
            own = path + [title]
        elif code == _INDEXING:
            own = path + ["Pharmacologic class"]
        elif code == _UNCLASSIFIED or not display:
            own = path  # an untitled unclassified block continues its parent
        else:
            own = path + [_pretty_display(display)]
        heading = PATH_SEPARATOR.join(own) or "Label"
        text = section_text(sec.find(f"{_N}text"))
        if code == _INDEXING:
            text = "\n".join(t for t in (text, self._indexing_text(sec, substances)) if t)
        if text:
            if out and out[-1].heading == heading:
                out[-1] = Section(heading, out[-1].text + "\n" + text)
            else:
                out.append(Section(heading, text))
        for child in sec.iterfind(f"{_N}component/{_N}section"):
            self._walk(child, own, out, loinc, substances)

    @staticmethod
    def _indexing_text(sec: etree._Element, substances: list[str]) -> str:
        """Pharmacologic class indexing: ``"METHOXSALEN: Photoabsorption [MoA]; Psoralen [EPC]; …"``."""
        lines = []
        for subst in sec.iterfind("v:subject/v:identifiedSubstance/v:identifiedSubstance", _NS):
            name = _flat(subst.find(f"{_N}name"))
            classes = [clean_text(c.get("displayName"))
                       for c in subst.iterfind("v:asSpecializedKind/v:generalizedMaterialKind/v:code", _NS)]
            classes = [c for c in classes if c]
            if name:
                substances.append(name)
            if name and classes:
                lines.append(f"{name}: {'; '.join(classes)}.")
        return "\n".join(lines)
