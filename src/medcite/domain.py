"""Plain data types shared by every stage (ingest → store → index → retrieve → answer → review)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable, Mapping


class DocKind(str, Enum):
    """What kind of evidence a document is, strongest first in clinical weight."""

    GUIDELINE = "guideline"
    SYSTEMATIC_REVIEW = "systematic_review"
    RANDOMIZED_TRIAL = "randomized_trial"
    OBSERVATIONAL = "observational"
    CASE_REPORT = "case_report"
    REVIEW = "review"
    DRUG_LABEL = "drug_label"
    PATIENT_INFO = "patient_info"
    OTHER = "other"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS: dict[DocKind, str] = {
    DocKind.GUIDELINE: "Guideline",
    DocKind.SYSTEMATIC_REVIEW: "Systematic review",
    DocKind.RANDOMIZED_TRIAL: "Randomized trial",
    DocKind.OBSERVATIONAL: "Observational study",
    DocKind.CASE_REPORT: "Case report",
    DocKind.REVIEW: "Review",
    DocKind.DRUG_LABEL: "Drug label",
    DocKind.PATIENT_INFO: "Patient information",
    DocKind.OTHER: "Other",
}


class DocStatus(str, Enum):
    ACTIVE = "active"
    DELETED = "deleted"
    RETRACTED = "retracted"
    SUPERSEDED = "superseded"


#: statuses whose passages are searchable
SEARCHABLE_STATUSES = (DocStatus.ACTIVE.value, DocStatus.SUPERSEDED.value)


# --- publication types → kind -------------------------------------------------------------

_PUBTYPE_KIND: list[tuple[str, DocKind]] = [
    ("practice guideline", DocKind.GUIDELINE),
    ("guideline", DocKind.GUIDELINE),
    ("consensus development conference", DocKind.GUIDELINE),
    ("systematic review", DocKind.SYSTEMATIC_REVIEW),
    ("meta-analysis", DocKind.SYSTEMATIC_REVIEW),
    ("randomized controlled trial", DocKind.RANDOMIZED_TRIAL),
    ("pragmatic clinical trial", DocKind.RANDOMIZED_TRIAL),
    ("equivalence trial", DocKind.RANDOMIZED_TRIAL),
    ("controlled clinical trial", DocKind.RANDOMIZED_TRIAL),
    ("clinical trial, phase iii", DocKind.RANDOMIZED_TRIAL),
    ("observational study", DocKind.OBSERVATIONAL),
    ("comparative study", DocKind.OBSERVATIONAL),
    ("multicenter study", DocKind.OBSERVATIONAL),
    ("evaluation study", DocKind.OBSERVATIONAL),
    ("validation study", DocKind.OBSERVATIONAL),
    ("clinical trial", DocKind.OBSERVATIONAL),
    ("case reports", DocKind.CASE_REPORT),
    ("review", DocKind.REVIEW),
    ("patient education handout", DocKind.PATIENT_INFO),
]

_RETRACTED_TYPES = ("retracted publication",)


def kind_from_publication_types(pub_types: list[str] | tuple[str, ...], *, default: DocKind = DocKind.OTHER) -> DocKind:
    """Derive a :class:`DocKind` from PubMed-style publication types (strongest wins)."""
    lowered = [p.strip().lower() for p in pub_types]
    for needle, kind in _PUBTYPE_KIND:
        if any(p == needle or p.startswith(needle) for p in lowered):
            return kind
    return default


def status_from_publication_types(pub_types: list[str] | tuple[str, ...]) -> DocStatus:
    lowered = [p.strip().lower() for p in pub_types]
    return DocStatus.RETRACTED if any(p in _RETRACTED_TYPES for p in lowered) else DocStatus.ACTIVE


# --- retractions and corrections ----------------------------------------------------------

#: notices a paper can carry, most serious first: the values of ``Reference.notice`` and of the badges
RETRACTED, EXPRESSION_OF_CONCERN, ERRATUM = "retracted", "expression_of_concern", "erratum"
NOTICES: tuple[str, ...] = (RETRACTED, EXPRESSION_OF_CONCERN, ERRATUM)
NOTICE_LABELS: dict[str, str] = {
    RETRACTED: "Retracted",
    EXPRESSION_OF_CONCERN: "Expression of concern",
    ERRATUM: "Erratum",
}
#: PubMed ``CommentsCorrections/@RefType`` on the original paper, pointing at its notice
NOTICE_IN: dict[str, str] = {
    "RetractionIn": RETRACTED,
    "ExpressionOfConcernIn": EXPRESSION_OF_CONCERN,
    "ErratumIn": ERRATUM,
}
#: PubMed ``CommentsCorrections/@RefType`` on the notice, pointing at the original paper
NOTICE_FOR: dict[str, str] = {
    "RetractionOf": RETRACTED,
    "ExpressionOfConcernFor": EXPRESSION_OF_CONCERN,
    "ErratumFor": ERRATUM,
}


def worst_notice(notices: Iterable[str | None]) -> str | None:
    """The most serious of ``notices`` (retracted > expression of concern > erratum); None when there is none."""
    present = {n for n in notices if n}
    return next((n for n in NOTICES if n in present), None)


def own_notices(metadata: Mapping[str, Any] | None) -> list[str]:
    """The notices a document's own record announces (PubMed ``RetractionIn``, ``ErratumIn``, …)."""
    out: list[str] = []
    for c in (metadata or {}).get("corrections") or ():
        if isinstance(c, Mapping) and c.get("type") in NOTICE_IN:
            out.append(NOTICE_IN[c["type"]])
    return out


# --- documents ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    heading: str
    text: str


@dataclass(frozen=True)
class Document:
    """A unit of evidence: a guideline, an abstract, a full-text article, a drug label, a patient Q&A.

    ``doc_id`` is stable across re-ingests (``pmid:…``, ``pmc:PMC…``, ``medquad:…``, ``ngc:…``, ``spl:…``).
    ``version`` orders revisions of the same record (PubMed ``<PMID Version>``, SPL version number):
    an older version never replaces a newer one.
    """

    doc_id: str
    kind: DocKind
    title: str
    sections: tuple[Section, ...]
    source: str = ""
    date: str | None = None
    year: int | None = None
    authors: tuple[str, ...] = ()
    url: str = ""
    pmid: str | None = None
    pmcid: str | None = None
    doi: str | None = None
    mesh_terms: tuple[str, ...] = ()
    publication_types: tuple[str, ...] = ()
    license: str = ""
    status: DocStatus = DocStatus.ACTIVE
    version: int = 1
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def content_hash(self) -> str:
        """A hash of everything that defines the document; equal hash ⇒ re-ingest changes nothing."""
        payload = {
            "doc_id": self.doc_id,
            "kind": self.kind.value,
            "title": self.title,
            "sections": [[s.heading, s.text] for s in self.sections],
            "source": self.source,
            "date": self.date,
            "year": self.year,
            "authors": list(self.authors),
            "url": self.url,
            "pmid": self.pmid,
            "pmcid": self.pmcid,
            "doi": self.doi,
            "mesh": list(self.mesh_terms),
            "pub_types": list(self.publication_types),
            "license": self.license,
            "status": self.status.value,
            "version": self.version,
            "metadata": self.metadata,
        }
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.blake2b(blob.encode("utf-8"), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Deletion:
    """A parser's instruction to mark a document deleted (PubMed ``<DeleteCitation>``).

    If the document is not in the store yet, a tombstone is recorded so that a later ingest of an
    older copy (same or lower ``version``) cannot bring it back.
    """

    doc_id: str
    version: int = 1


@dataclass(frozen=True)
class RecordError:
    """One malformed record inside an otherwise readable file; the rest of the file is kept."""

    message: str
    location: str = ""


ParseEvent = Document | Deletion | RecordError


@dataclass(frozen=True)
class Passage:
    """A retrieval unit: whole sentences of one section, with offsets into the section text."""

    passage_id: str
    doc_id: str
    section_index: int
    heading: str
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Hit:
    """One search result and how it was found (every stage's rank and score)."""

    passage_id: str
    doc_id: str
    rank: int
    score: float
    kind: str
    title: str
    heading: str
    text: str
    source: str = ""
    year: int | None = None
    status: str = DocStatus.ACTIVE.value
    url: str = ""
    stages: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "passage_id": self.passage_id,
            "rank": self.rank,
            "score": self.score,
            "kind": self.kind,
            "title": self.title,
            "heading": self.heading,
            "text": self.text,
            "source": self.source,
            "year": self.year,
            "url": self.url,
            "stages": dict(self.stages),
        }


@dataclass
class IngestReport:
    """What one ``medcite ingest`` run did."""

    files: int = 0
    files_failed: int = 0
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped_older: int = 0
    passages: int = 0
    flagged_articles: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def documents(self) -> int:
        return self.added + self.updated + self.unchanged

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "files_failed": self.files_failed,
            "added": self.added,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "skipped_older": self.skipped_older,
            "passages": self.passages,
            "flagged_articles": self.flagged_articles,
            "errors": list(self.errors),
            "seconds": round(self.seconds, 3),
        }
