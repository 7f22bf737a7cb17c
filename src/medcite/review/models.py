"""Value objects of the editorial workflow, the states and roles, and the text rendering used for diffs."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from medcite.errors import ReviewError

# --- roles -----------------------------------------------------------------------------------

READER, EDITOR, REVIEWER, ADMIN = "reader", "editor", "reviewer", "admin"
ROLES: tuple[str, ...] = (READER, EDITOR, REVIEWER, ADMIN)
AUTHORS = frozenset({EDITOR, REVIEWER, ADMIN})  # may submit articles
REVIEWERS = frozenset({REVIEWER, ADMIN})  # may take, edit, comment on and decide any article

# --- states ----------------------------------------------------------------------------------

SUBMITTED, UNDER_REVIEW, APPROVED = "submitted", "under_review", "approved"
CHANGES_REQUESTED, REJECTED = "changes_requested", "rejected"
STATES: tuple[str, ...] = (SUBMITTED, UNDER_REVIEW, APPROVED, CHANGES_REQUESTED, REJECTED)
STATE_LABELS = {
    SUBMITTED: "Submitted",
    UNDER_REVIEW: "Under review",
    APPROVED: "Approved",
    CHANGES_REQUESTED: "Changes requested",
    REJECTED: "Rejected",
}
EDITABLE_BY_AUTHOR = frozenset({SUBMITTED, CHANGES_REQUESTED})
EDITABLE_BY_REVIEWER = frozenset({SUBMITTED, UNDER_REVIEW, CHANGES_REQUESTED})

MIN_PASSWORD_CHARS = 8
MAX_ANSWER_DEPTH = 32  # an answer nested deeper is refused: stored data must never crash a reader


@dataclass(frozen=True)
class User:
    id: str
    name: str
    role: str
    created_at: str = ""
    disabled: bool = False  # a disabled account cannot sign in; its sessions and tokens stop working

    @property
    def is_reviewer(self) -> bool:
        return self.role in REVIEWERS

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


#: The local administrator: the CLI and the ingest pipeline act as it. A web face must never pass it;
#: it passes the signed-in :class:`User` (or ``None`` for an anonymous visitor).
SYSTEM = User(id="", name="system", role=ADMIN)


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    state: str
    audience: str
    answer: dict[str, Any]
    author: str
    reviewer: str | None
    reviewed_by: str | None
    version: int  # row version for optimistic locking: +1 on every change (edit, transition, flag)
    created_at: str
    updated_at: str
    approved_at: str | None
    needs_rereview: bool
    rereview_reason: str
    last_updated: str  # for the "Last updated" line: approved_at while approved, else updated_at
    author_id: str = ""
    revision: int = 1  # content revision: the number of the latest entry of versions()
    note: str = ""  # the note of the last decision (changes requested / rejected / approved)
    rereview_at: str | None = None

    @property
    def public(self) -> bool:
        return self.state == APPROVED

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)


@dataclass(frozen=True)
class Version:
    article_id: str
    number: int
    answer: dict[str, Any]
    author: str
    created_at: str
    note: str
    diff: str  # unified diff of render_text() against the previous version ('' for an unchanged text)


@dataclass(frozen=True)
class Comment:
    id: str
    article_id: str
    author: str
    text: str
    created_at: str


@dataclass(frozen=True)
class AuditEntry:
    id: str
    at: str
    actor: str
    action: str
    article_id: str | None
    details: dict[str, Any] = field(default_factory=dict)


# --- answers ---------------------------------------------------------------------------------


def check_answer_dict(answer: Any) -> dict[str, Any]:
    """Validate the parts of an answer the workflow relies on; return a JSON-clean deep copy."""
    if not isinstance(answer, Mapping):
        raise ReviewError(
            f"an article must be an answer object (a dict), not {type(answer).__name__}",
            hint="submit the JSON of `medcite ask --json` or Answer.model_dump()",
        )
    question = answer.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ReviewError("the answer has no question", hint="an article's title is its question; fill in 'question'")
    if not isinstance(answer.get("bottom_line", ""), str):
        raise ReviewError("the answer's 'bottom_line' must be text")
    sections = answer.get("sections", [])
    if not isinstance(sections, list) or not all(isinstance(s, Mapping) for s in sections):
        raise ReviewError("the answer's 'sections' must be a list of {heading, markdown} objects")
    refs = answer.get("references", [])
    if not isinstance(refs, list) or not all(isinstance(r, Mapping) and r.get("doc_id") for r in refs):
        raise ReviewError("every entry of the answer's 'references' needs a 'doc_id'")
    if _nested_deeper_than(answer, MAX_ANSWER_DEPTH):
        raise ReviewError(f"the answer is nested more than {MAX_ANSWER_DEPTH} levels deep",
                          hint="flatten its 'metadata' (an Answer is only a few levels deep)")
    try:
        return json.loads(json.dumps(answer, ensure_ascii=False))
    except (TypeError, ValueError) as exc:
        raise ReviewError(f"the answer is not JSON-serialisable: {exc}") from None


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether dicts/lists in ``value`` nest more than ``limit`` levels (iterative: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def cited_doc_ids(answer: Mapping[str, Any]) -> list[str]:
    seen: dict[str, None] = {}
    for ref in answer.get("references", []) or []:
        seen.setdefault(str(ref["doc_id"]), None)
    return list(seen)


def render_text(answer: Mapping[str, Any]) -> str:
    """A stable plain-text rendering of an answer's content (question, bottom line, sections, references)."""
    lines = [f"# {answer.get('question', '')}".rstrip(), ""]
    metadata = answer.get("metadata")
    if isinstance(metadata, Mapping) and str(metadata.get("headline") or "").strip():
        lines += [f"Headline: {str(metadata['headline']).strip()}", ""]
    lines += ["## Bottom line", ""]
    lines += str(answer.get("bottom_line", "")).splitlines() or [""]
    for section in answer.get("sections", []) or []:
        lines += ["", f"## {section.get('heading', '')}".rstrip(), ""]
        lines += str(section.get("markdown", "")).splitlines() or [""]
    refs = answer.get("references", []) or []
    if refs:
        lines += ["", "## References", ""]
        for i, ref in enumerate(refs, 1):
            lines.append(f"{ref.get('n', i)}. {ref.get('title', '')} `{ref.get('doc_id')}`".replace("  ", " "))
    return "\n".join(line.rstrip() for line in lines) + "\n"


def diff_text(old: Mapping[str, Any] | None, new: Mapping[str, Any], old_label: str, new_label: str) -> str:
    """Unified diff of the rendered texts of two answers (``old=None``: against nothing)."""
    a = render_text(old).splitlines(keepends=True) if old is not None else []
    b = render_text(new).splitlines(keepends=True)
    return "".join(difflib.unified_diff(a, b, fromfile=old_label, tofile=new_label))
