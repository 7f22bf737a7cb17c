"""MedQuAD question/answer XML (NIH patient information, one file per topic).

Each file holds one topic (``<Document id source url>`` with ``<Focus>``, UMLS annotations, synonyms) and its
question/answer pairs. Every pair with a non-empty answer becomes one :class:`~medcite.domain.Document` of kind
``patient_info`` whose title is the question and whose single section is the answer; pairs with an empty
``<Answer>`` (MedQuAD removed some answers for copyright reasons) are skipped silently.

Two older layouts found in the collection are read too: ``<doc docid corpus url>`` with lower-case
``<qaPairs><pair><question/><answer/>`` (NINDS) and ``<DiseaseFile fid source url>`` (CDC).
See docs/formats.md.
"""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import BinaryIO, Iterator

from lxml import etree

from medcite.domain import DocKind, Document, ParseEvent, RecordError, Section
from medcite.ingest.base import parse_xml_root
from medcite.errors import ParseError
from medcite.text import clean_block, clean_text

__all__ = ["MedQuADParser", "SOURCE_NAMES"]

_ROOTS = {"document": ("id", "source"), "doc": ("docid", "corpus"), "diseasefile": ("fid", "source")}

# root element first (after an optional BOM, XML declaration and comments), then a MedQuAD child in the head
_SNIFF_ROOT = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*(?:<!DOCTYPE[^>\[]*>\s*)?(?:<!--.*?-->\s*)*<(Document|doc|DiseaseFile)[\s>]",
    re.DOTALL,
)
_SNIFF_CHILD = {
    b"Document": re.compile(rb"<(?:QAPairs|Focus|FocusAnnotations)[\s>]"),
    b"doc": re.compile(rb"<(?:qaPairs|doctitle-focus)[\s>]"),
    b"DiseaseFile": re.compile(rb"<(?:QAPairs|Focus)[\s>]"),
}

#: MedQuAD source codes → readable organisation names
SOURCE_NAMES: dict[str, str] = {
    "CancerGov": "National Cancer Institute (CancerGov)",
    "GARD": "Genetic and Rare Diseases Information Center (GARD)",
    "GHR": "Genetics Home Reference",
    "MPlusHealthTopics": "MedlinePlus",
    "NIDDK": "National Institute of Diabetes and Digestive and Kidney Diseases (NIDDK)",
    "NINDS": "National Institute of Neurological Disorders and Stroke (NINDS)",
    "NIHSeniorHealth": "NIHSeniorHealth (National Institute on Aging)",
    "NHLBI": "National Heart, Lung, and Blood Institute (NHLBI)",
    "CDC": "Centers for Disease Control and Prevention (CDC)",
    "ADAM": "A.D.A.M. Medical Encyclopedia (MedlinePlus)",
    "MPlusDrugs": "MedlinePlus Drug Information",
    "MPlusHerbsSupplements": "MedlinePlus Herbs and Supplements",
}

#: folder names of the MedQuAD distribution (``4_MPlus_Health_Topics_QA``) → source code
_FOLDER_SOURCES = {
    "cancergov": "CancerGov", "gard": "GARD", "ghr": "GHR", "mplushealthtopics": "MPlusHealthTopics",
    "niddk": "NIDDK", "ninds": "NINDS", "seniorhealth": "NIHSeniorHealth", "nihseniorhealth": "NIHSeniorHealth",
    "nhlbi": "NHLBI", "cdc": "CDC", "adam": "ADAM", "mplusdrugs": "MPlusDrugs",
    "mplusherbssupplements": "MPlusHerbsSupplements",
}
_FOLDER = re.compile(r"^\d+_(.+?)(?:_QA)?(?:_XML)?$", re.IGNORECASE)

# "…cell).    - Leukemia may…": runs of spaces before " - " (and "- " at a line start) are list bullets
# (tabs are turned into spaces first; the patterns start with literal spaces, which regex scans fast)
_BULLET_INLINE = re.compile(r"  +- +(?=\S)")
_BULLET_START = re.compile(r"(?m)^ *- +(?=\S)")
# "…and disease.         A lymphoid stem cell…": a long run of spaces after a sentence is a paragraph break
_PARAGRAPH_GAP = re.compile(r"([.!?:])    +(?=\S)")
_SPACE_QMARK = re.compile(r"\s+\?")
_DOUBLE_QMARK = re.compile(r"\?(?:\s*\?)+")
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _local(tag: object) -> str:
    """Lower-case local name of an element tag ('' for comments and processing instructions)."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def _text(el: etree._Element | None) -> str:
    if el is None:
        return ""
    return clean_text("".join(el.itertext()))


def _index(root: etree._Element) -> dict[str, list[etree._Element]]:
    """Every element of the tree by lower-case local name, in document order (one pass over the tree)."""
    index: dict[str, list[etree._Element]] = {}
    for el in root.iter(etree.Element):
        index.setdefault(_local(el.tag), []).append(el)
    return index


def _texts(index: dict[str, list[etree._Element]], name: str) -> list[str]:
    """Cleaned, de-duplicated texts of every element called ``name`` (case-insensitive)."""
    out: dict[str, None] = {}
    for el in index.get(name, ()):
        t = _text(el)
        if t:
            out[t] = None
    return list(out)


def _child(parent: etree._Element, name: str) -> etree._Element | None:
    for el in parent:
        if _local(el.tag) == name:
            return el
    return None


def answer_text(raw: str) -> str:
    """Answer text: list bullets (``"    - item"``) and paragraphs (a sentence end followed by 4+ spaces) on
    their own lines, then :func:`clean_block`."""
    text = raw.replace("\r", "\n").replace("\t", " ")
    text = _BULLET_START.sub("• ", text)
    text = _BULLET_INLINE.sub("\n• ", text)
    text = _PARAGRAPH_GAP.sub("\\1\n", text)
    return clean_block(text)


def question_text(raw: str) -> str:
    """Question text, tidied: ``"What is (are) X ?"`` → ``"What is (are) X?"``, first letter upper-case."""
    q = _DOUBLE_QMARK.sub("?", _SPACE_QMARK.sub("?", clean_text(raw)))
    return q[:1].upper() + q[1:] if q else q


def _file_parts(origin: str) -> tuple[str, str]:
    """(file stem, folder name) of the origin path, ignoring a trailing ``.gz``."""
    p = PurePath(origin.replace("\\", "/"))
    name = p.name[:-3] if p.name.endswith(".gz") else p.name
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return stem, p.parent.name


def _source_from_folder(folder: str) -> str:
    m = _FOLDER.match(folder)
    if not m:
        return ""
    return _FOLDER_SOURCES.get(m.group(1).replace("_", "").lower(), "")


class MedQuADParser:
    """Parser for MedQuAD question/answer XML files."""

    name = "medquad"
    version = "1"
    description = "MedQuAD NIH question/answer XML — one patient-information document per answered question"

    def sniff(self, filename: str, head: bytes) -> bool:
        m = _SNIFF_ROOT.match(head)
        if not m:
            return False
        return bool(_SNIFF_CHILD[m.group(1)].search(head, m.end()))

    def parse(self, stream: BinaryIO, origin: str) -> Iterator[ParseEvent]:
        root = parse_xml_root(stream, origin, "MedQuAD XML", "check that the file is a complete MedQuAD XML file", remove_comments=True)
        try:
            events = list(self._events(root, origin))
        except (ValueError, TypeError, LookupError, AttributeError, UnicodeError, RecursionError) as exc:
            raise ParseError(f"cannot read MedQuAD XML: {exc}", path=origin,
                             hint="check that the file is a complete MedQuAD XML file") from None
        yield from events

    def _events(self, root: etree._Element, origin: str) -> Iterator[ParseEvent]:
        root_name = _local(root.tag)
        if root_name not in _ROOTS:
            shown = root.tag if isinstance(root.tag, str) else "?"
            raise ParseError(
                f"wrong root element <{shown}>, expected <Document>", path=origin, location="line 1",
                hint="this is not MedQuAD XML; pick the right --format",
            )
        id_attr, source_attr = _ROOTS[root_name]
        stem, folder = _file_parts(origin)
        source_code = clean_text(root.get(source_attr)) or _source_from_folder(folder) or "MedQuAD"
        doc_key = clean_text(root.get(id_attr))
        # the same Document id is reused by several files of one source (CancerGov 0000013_2.xml,
        # 0000013_2_1.xml, …): the file name, when it extends the id, tells them apart
        if not doc_key or (stem != doc_key and stem.startswith(doc_key + "_")):
            doc_key = stem or doc_key
        id_prefix = f"medquad:{_ID_UNSAFE.sub('_', source_code)}-{_ID_UNSAFE.sub('_', doc_key)}"
        index = _index(root)
        focus = next(iter(_texts(index, "focus") or _texts(index, "doctitle-focus")), "")
        base_meta: dict[str, object] = {
            "focus": focus,
            "synonyms": _texts(index, "synonym"),
            "cuis": _texts(index, "cui"),
            "semantic_types": _texts(index, "semantictype"),
        }
        group = _texts(index, "semanticgroup")
        if group:
            base_meta["semantic_group"] = group[0]
        category = _texts(index, "category")
        if category:
            base_meta["category"] = category[0]
        source = SOURCE_NAMES.get(source_code, source_code)
        url = clean_text(root.get("url"))
        seen: set[str] = set()
        position = 0
        for pair in index.get("qapair", []) + index.get("pair", []):
            position += 1
            where = f"record {position}"
            a_el = _child(pair, "answer")
            answer = answer_text("".join(a_el.itertext())) if a_el is not None else ""
            if not answer:
                continue  # MedQuAD ships some pairs without their answer: not an error
            q_el = _child(pair, "question")
            question = question_text("".join(q_el.itertext())) if q_el is not None else ""
            pid = clean_text(pair.get("pid")) or str(position)
            doc_id = f"{id_prefix}-{_ID_UNSAFE.sub('_', pid)}"
            if doc_id in seen:
                yield RecordError(f"duplicate QA pair id {pid!r} in one file", where)
                continue
            seen.add(doc_id)
            title = question or (f"About {focus}" if focus else f"MedQuAD answer {pid}")
            metadata = {k: list(v) if isinstance(v, list) else v for k, v in base_meta.items()}
            metadata.update(
                qtype=clean_text(q_el.get("qtype")) if q_el is not None else "",
                question=question,
                medquad_id=(clean_text(q_el.get("qid")) if q_el is not None else "") or f"{doc_key}-{pid}",
                document_id=clean_text(root.get(id_attr)),
            )
            yield Document(
                doc_id=doc_id,
                kind=DocKind.PATIENT_INFO,
                title=title,
                sections=(Section(title, answer),),
                source=source,
                url=url,
                license="CC BY 4.0",
                metadata=metadata,
            )
