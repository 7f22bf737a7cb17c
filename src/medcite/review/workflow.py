"""The editorial workflow: answers submitted as articles, reviewed, approved, flagged for re-review.

States: submitted → under_review → approved | changes_requested | rejected; changes_requested →
(resubmit) → submitted; an approved article can be sent back (request_changes) and, when a cited
document changed, is flagged ``needs_rereview`` until a reviewer approves it again. An approved article citing a
document that is then retracted goes back to under review (:meth:`Editorial.return_for_retractions`).

Two-person rule: nobody approves a text they wrote. The approver must not be the author of any version
since the last approval (``approved_revision``); an edit by the assigned reviewer drops the assignment, so the
article stays under review for someone else (who may take it or approve it).

Every transition is an optimistic-locking ``UPDATE … WHERE id = ? AND version = ?``: of two
concurrent decisions on the same version exactly one wins; the other gets :class:`Conflict`.
Every change is written to the append-only audit log in the same transaction.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from medcite.errors import Conflict, NotFound, PermissionDenied, ReviewError
from medcite.review.accounts import Accounts, _new_id
from medcite.review.db import Tx
from medcite.review.recompute import recompute
from medcite.review.models import (
    APPROVED, AUTHORS, CHANGES_REQUESTED, EDITABLE_BY_AUTHOR, EDITABLE_BY_REVIEWER, REJECTED, STATE_LABELS,
    STATES, SUBMITTED, SYSTEM, UNDER_REVIEW, Article, Comment, User, Version, check_answer_dict, cited_doc_ids, diff_text,
)

_ARTICLE_SQL = (
    "SELECT a.*, au.name AS author_name, rv.name AS reviewer_name, rb.name AS reviewed_by_name "
    "FROM review_articles a JOIN review_users au ON au.id = a.author_id "
    "LEFT JOIN review_users rv ON rv.id = a.reviewer_id "
    "LEFT JOIN review_users rb ON rb.id = a.reviewed_by_id"
)
_EDIT_RETRIES = 8


def _article(row: dict[str, Any]) -> Article:
    approved_at = row["approved_at"]
    return Article(
        id=row["id"], title=row["title"], state=row["state"], audience=row["audience"],
        answer=json.loads(row["answer"]), author=row["author_name"], reviewer=row["reviewer_name"],
        reviewed_by=row["reviewed_by_name"], version=int(row["version"]), created_at=row["created_at"],
        updated_at=row["updated_at"], approved_at=approved_at, needs_rereview=bool(row["needs_rereview"]),
        rereview_reason=row["rereview_reason"] or "",
        last_updated=approved_at if row["state"] == APPROVED and approved_at else row["updated_at"],
        author_id=row["author_id"], revision=int(row["revision"]), note=row["note"] or "",
        rereview_at=row["rereview_at"],
    )


def _label(state: str) -> str:
    return STATE_LABELS.get(state, state).lower()


class _Stale(Exception):
    """The row changed between our read and our conditional UPDATE."""


class Editorial(Accounts):
    """The editorial board's service: call it from the CLI and the web app (one per process)."""

    # --- helpers -------------------------------------------------------------------------------

    def _load(self, tx: Tx, article_id: str) -> dict[str, Any]:
        row = tx.one(f"{_ARTICLE_SQL} WHERE a.id = ?", (article_id,))
        if row is None:
            raise NotFound(f"no article {article_id!r}", hint="list articles to find its id")
        return row

    @staticmethod
    def _can_see(row: dict[str, Any], viewer: User | None) -> bool:
        return row["state"] == APPROVED or (
            viewer is not None and (viewer.is_reviewer or viewer.id == row["author_id"])
        )

    def _visible(self, tx: Tx, article_id: str, viewer: User | None) -> tuple[dict[str, Any], User | None]:
        viewer = self._current_or_anonymous(tx, viewer)
        row = self._load(tx, article_id)
        if not self._can_see(row, viewer):
            raise PermissionDenied(
                f"article {article_id} is not public yet ({_label(row['state'])})",
                hint="only its author, reviewers and admins can see it before approval — sign in",
            )
        return row, viewer

    def _current_or_anonymous(self, tx: Tx, viewer: User | None) -> User | None:
        try:
            return self._current(tx, viewer)
        except PermissionDenied:
            return None  # a stale or deleted account reads as an anonymous visitor

    def _reviewer(self, tx: Tx, user: User | None, what: str) -> User:
        current = self._current(tx, user)
        if current is None or not current.is_reviewer:
            who = "anonymous visitors" if current is None else f"{current.role}s"
            raise PermissionDenied(f"{who} cannot {what}", hint="only reviewers and admins can")
        return current

    def _update(self, tx: Tx, row: dict[str, Any], **changes: Any) -> None:
        """``UPDATE … SET …, version = version + 1 WHERE id = ? AND version = ?``; raise _Stale on 0 rows."""
        changes["updated_at"] = self._now()
        sets = ", ".join(f"{k} = ?" for k in changes)
        n = tx.execute(
            f"UPDATE review_articles SET {sets}, version = version + 1 WHERE id = ? AND version = ?",
            (*changes.values(), row["id"], row["version"]),
        )
        if n != 1:
            raise _Stale()

    @staticmethod
    def _stale_conflict(article_id: str) -> Conflict:
        return Conflict(f"article {article_id} was changed by someone else", hint="reload it and try again")

    @staticmethod
    def _editors_since_approval(tx: Tx, row: dict[str, Any]) -> set[str]:
        """Who wrote a version after the last approved revision (everyone since v1 if never approved)."""
        rows = tx.all("SELECT DISTINCT author_id FROM review_versions WHERE article_id = ? AND number > ?",
                      (row["id"], int(row.get("approved_revision") or 0)))
        return {r["author_id"] for r in rows}

    def _set_citations(self, tx: Tx, article_id: str, answer: dict[str, Any]) -> None:
        tx.execute("DELETE FROM review_citations WHERE article_id = ?", (article_id,))
        for doc_id in cited_doc_ids(answer):
            tx.execute("INSERT INTO review_citations(article_id, doc_id) VALUES (?, ?)", (article_id, doc_id))

    def record_security_event(self, action: str, **details: Any) -> None:
        """Append a security event (a sign-in lockout, …) to the audit log, as the system."""
        with self.db.transaction() as tx:
            self._audit(tx, SYSTEM, action, None, **details)

    # --- articles: writing ---------------------------------------------------------------------

    def submit(self, answer: dict[str, Any], author: User) -> Article:
        """Submit an answer as a new article (state ``submitted``); editors, reviewers and admins may."""
        answer = check_answer_dict(answer)
        article_id = _new_id()
        with self.db.transaction() as tx:
            current = self._current(tx, author)
            if current is None or current.role not in AUTHORS or not current.id:
                who = "anonymous visitors" if current is None else f"{current.role}s"
                raise PermissionDenied(f"{who} cannot submit articles", hint="ask an admin for the editor role")
            now = self._now()
            tx.execute(
                "INSERT INTO review_articles(id, title, state, audience, answer, author_id, version, revision, "
                "created_at, updated_at) VALUES (?,?,?,?,?,?,1,1,?,?)",
                (article_id, answer["question"].strip(), SUBMITTED, str(answer.get("audience") or "clinician"),
                 json.dumps(answer, ensure_ascii=False), current.id, now, now),
            )
            tx.execute(
                "INSERT INTO review_versions(article_id, number, answer, author_id, created_at, note, diff) "
                "VALUES (?,?,?,?,?,?,?)",
                (article_id, 1, json.dumps(answer, ensure_ascii=False), current.id, now, "submitted",
                 diff_text(None, answer, "/dev/null", "v1")),
            )
            self._set_citations(tx, article_id, answer)
            self._audit(tx, current, "submitted", article_id, title=answer["question"].strip())
            return _article(self._load(tx, article_id))

    def take(self, article_id: str, reviewer: User) -> Article:
        """Assign a submitted article to ``reviewer`` (→ ``under_review``)."""
        with self.db.transaction() as tx:
            current = self._reviewer(tx, reviewer, "take articles for review")
            row = self._load(tx, article_id)
            if row["author_id"] == current.id:
                raise PermissionDenied("you cannot review your own submission", hint="another reviewer must take it")
            unassigned = row["state"] == UNDER_REVIEW and not row["reviewer_id"]
            if row["state"] != SUBMITTED and not unassigned:
                raise Conflict(f"cannot take article {article_id}: it is {_label(row['state'])}",
                               hint="only submitted articles (or ones under review with no reviewer) can be taken")
            if current.id in self._editors_since_approval(tx, row):
                raise PermissionDenied("you cannot review an article you edited",
                                       hint="the second pair of eyes must see the final text: another reviewer "
                                            "must take it")
            try:
                self._update(tx, row, state=UNDER_REVIEW, reviewer_id=current.id)
            except _Stale:
                raise self._stale_conflict(article_id) from None
            self._audit(tx, current, "taken", article_id, from_state=row["state"], to_state=UNDER_REVIEW)
            return _article(self._load(tx, article_id))

    def edit(self, article_id: str, user: User, new_answer: dict[str, Any], note: str = "",
             *, expected_version: int | None = None) -> Article:
        """Record a new version of the article's answer, with a unified diff against the previous one.

        With ``expected_version`` the edit fails with Conflict if anyone changed the article since;
        without it, an edit racing another is re-applied on top of the winner (both versions are kept,
        each with its diff against its true predecessor — no edit is ever silently lost).
        """
        answer = recompute(check_answer_dict(new_answer))  # references, numbers and certainty follow the text
        for _ in range(_EDIT_RETRIES):
            try:
                with self.db.transaction() as tx:
                    return self._edit_once(tx, article_id, user, answer, note, expected_version)
            except _Stale:
                if expected_version is not None:
                    raise self._stale_conflict(article_id) from None
        raise self._stale_conflict(article_id)

    def _edit_once(self, tx: Tx, article_id: str, user: User, answer: dict[str, Any], note: str,
                   expected_version: int | None) -> Article:
        current = self._current(tx, user)
        row = self._load(tx, article_id)
        if current is None:
            raise PermissionDenied("anonymous visitors cannot edit articles", hint="sign in")
        own = current.id == row["author_id"] and current.role in AUTHORS
        if not (current.is_reviewer or own):
            raise PermissionDenied(f"{current.role}s cannot edit other people's articles",
                                   hint="only the author, reviewers and admins can")
        allowed = EDITABLE_BY_REVIEWER if current.is_reviewer else EDITABLE_BY_AUTHOR
        if row["state"] not in allowed:
            raise Conflict(f"cannot edit article {article_id}: it is {_label(row['state'])}",
                           hint="approved articles go back to the author through 'request changes'; "
                                "authors edit while submitted or when changes are requested")
        if expected_version is not None and int(row["version"]) != expected_version:
            raise self._stale_conflict(article_id)
        number = int(row["revision"]) + 1
        diff = diff_text(json.loads(row["answer"]), answer, f"v{number - 1}", f"v{number}")
        extra: dict[str, Any] = {}
        if row["state"] == UNDER_REVIEW and row["reviewer_id"] == current.id:
            extra["reviewer_id"] = None  # two-person rule: an edited text goes to another reviewer
        self._update(tx, row, answer=json.dumps(answer, ensure_ascii=False), title=answer["question"].strip(),
                     audience=str(answer.get("audience") or row["audience"]), revision=number, **extra)
        tx.execute(
            "INSERT INTO review_versions(article_id, number, answer, author_id, created_at, note, diff) "
            "VALUES (?,?,?,?,?,?,?)",
            (article_id, number, json.dumps(answer, ensure_ascii=False), current.id, self._now(), note or "", diff),
        )
        self._set_citations(tx, article_id, answer)
        self._audit(tx, current, "edited", article_id, revision=number, note=note or "")
        return _article(self._load(tx, article_id))

    def comment(self, article_id: str, user: User, text: str) -> Comment:
        """A review comment: reviewers and admins on any article, authors on their own."""
        text = (text or "").strip()
        if not text:
            raise ReviewError("a comment cannot be empty", hint="write what should change and why")
        with self.db.transaction() as tx:
            current = self._current(tx, user)
            row = self._load(tx, article_id)
            if current is None or not (current.is_reviewer or current.id == row["author_id"]):
                who = "anonymous visitors" if current is None else f"{current.role}s"
                raise PermissionDenied(f"{who} cannot comment on this article",
                                       hint="reviewers, admins and the article's author can")
            c = Comment(id=_new_id(), article_id=article_id, author=current.name, text=text, created_at=self._now())
            tx.execute("INSERT INTO review_comments(id, article_id, user_id, text, created_at) VALUES (?,?,?,?,?)",
                       (c.id, article_id, current.id, text, c.created_at))
            self._audit(tx, current, "commented", article_id, comment_id=c.id, text=text)
            return c

    def approve(self, article_id: str, reviewer: User, expected_version: int, note: str = "") -> Article:
        """Approve (publish) the article as seen at ``expected_version``; also re-confirms a flagged one."""
        return self._decide(article_id, reviewer, expected_version, APPROVED, note, "approved")

    def request_changes(self, article_id: str, reviewer: User, note: str, expected_version: int) -> Article:
        """Send the article back to its author (also withdraws an approved one); ``note`` is required."""
        return self._decide(article_id, reviewer, expected_version, CHANGES_REQUESTED, note, "changes_requested")

    def reject(self, article_id: str, reviewer: User, note: str, expected_version: int) -> Article:
        """Reject the article for good; ``note`` (the reason) is required."""
        return self._decide(article_id, reviewer, expected_version, REJECTED, note, "rejected")

    _FROM = {
        APPROVED: (UNDER_REVIEW, APPROVED),
        CHANGES_REQUESTED: (UNDER_REVIEW, APPROVED),
        REJECTED: (SUBMITTED, UNDER_REVIEW),
    }
    _VERB = {APPROVED: "approve", CHANGES_REQUESTED: "request changes to", REJECTED: "reject"}

    def _decide(self, article_id: str, reviewer: User, expected_version: int, to: str, note: str,
                action: str) -> Article:
        note = (note or "").strip()
        verb = self._VERB[to]
        if to != APPROVED and not note:
            raise ReviewError(f"a note is required to {verb} an article",
                              hint="tell the author what must change, or why it is rejected")
        with self.db.transaction() as tx:
            current = self._reviewer(tx, reviewer, f"{verb} articles")
            row = self._load(tx, article_id)
            if to == APPROVED and row["author_id"] == current.id:
                raise PermissionDenied("you cannot approve your own submission", hint="another reviewer must approve it")
            if to == APPROVED and current.id in self._editors_since_approval(tx, row):
                raise PermissionDenied(
                    f"you cannot approve article {article_id}: you edited it since its last approval",
                    hint="the second pair of eyes must see the final text — another reviewer must approve it")
            state = row["state"]
            if state not in self._FROM[to] or (to == APPROVED and state == APPROVED and not row["needs_rereview"]):
                raise Conflict(f"cannot {verb} article {article_id}: it is {_label(state)}",
                               hint=f"{verb} works on articles that are "
                                    f"{' or '.join(_label(s) for s in self._FROM[to])}"
                                    + (" (approved ones only when flagged for re-review)" if to == APPROVED else ""))
            if int(row["version"]) != int(expected_version):
                raise self._stale_conflict(article_id)
            changes: dict[str, Any] = {"state": to, "note": note}
            if to == APPROVED:
                changes.update(reviewed_by_id=current.id, approved_at=self._now(), needs_rereview=0,
                               rereview_reason="", rereview_at=None, approved_revision=int(row["revision"]))
            try:
                self._update(tx, row, **changes)
            except _Stale:
                raise self._stale_conflict(article_id) from None
            self._audit(tx, current, action, article_id, from_state=state, to_state=to, note=note,
                        version=int(expected_version))
            return _article(self._load(tx, article_id))

    def resubmit(self, article_id: str, author: User) -> Article:
        """Send an article back to the queue after the requested changes (→ ``submitted``)."""
        with self.db.transaction() as tx:
            current = self._current(tx, author)
            row = self._load(tx, article_id)
            if current is None or not (current.is_admin or (current.id == row["author_id"] and current.role in AUTHORS)):
                raise PermissionDenied("only the article's author (or an admin) can resubmit it")
            if row["state"] != CHANGES_REQUESTED:
                raise Conflict(f"cannot resubmit article {article_id}: it is {_label(row['state'])}",
                               hint="only articles with changes requested can be resubmitted")
            try:
                self._update(tx, row, state=SUBMITTED, reviewer_id=None)
            except _Stale:
                raise self._stale_conflict(article_id) from None
            self._audit(tx, current, "resubmitted", article_id, from_state=CHANGES_REQUESTED, to_state=SUBMITTED)
            return _article(self._load(tx, article_id))

    def flag_changed_documents(self, doc_ids: Iterable[str], reason: str) -> int:
        """Flag approved articles citing any of ``doc_ids`` for re-review; return how many were flagged."""
        ids = sorted({str(d) for d in doc_ids if d})
        if not ids:
            return 0
        flagged: set[str] = set()
        with self.db.transaction() as tx:
            now = self._now()
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                marks = ",".join("?" * len(chunk))
                rows = tx.all(
                    "SELECT DISTINCT a.id, c.doc_id FROM review_articles a "
                    f"JOIN review_citations c ON c.article_id = a.id WHERE a.state = ? AND c.doc_id IN ({marks})",
                    (APPROVED, *chunk),
                )
                by_article: dict[str, list[str]] = {}
                for r in rows:
                    by_article.setdefault(r["id"], []).append(r["doc_id"])
                for article_id, docs in sorted(by_article.items()):
                    tx.execute(
                        "UPDATE review_articles SET needs_rereview = 1, rereview_reason = ?, rereview_at = ?, "
                        "version = version + 1, updated_at = ? WHERE id = ? AND state = ?",
                        (reason or "a cited document changed", now, now, article_id, APPROVED),
                    )
                    self._audit(tx, SYSTEM, "flagged_for_rereview", article_id, reason=reason, doc_ids=sorted(docs))
                    flagged.add(article_id)
        return len(flagged)

    def return_for_retractions(self, doc_ids: Iterable[str]) -> int:
        """Move approved (published) articles citing any of ``doc_ids`` — newly retracted documents — back to
        under review, unassigned and flagged for re-review, with an audit entry naming each retracted reference;
        return how many moved. The article stays out of public view until a reviewer approves it again."""
        ids = sorted({str(d) for d in doc_ids if d})
        if not ids:
            return 0
        moved = 0
        with self.db.transaction() as tx:
            now = self._now()
            by_article: dict[str, set[str]] = {}
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for r in tx.all(
                    "SELECT DISTINCT a.id, c.doc_id FROM review_articles a "
                    f"JOIN review_citations c ON c.article_id = a.id WHERE a.state = ? AND c.doc_id IN ({marks})",
                    (APPROVED, *chunk),
                ):
                    by_article.setdefault(r["id"], set()).add(r["doc_id"])
            for article_id, docs in sorted(by_article.items()):
                row = self._load(tx, article_id)
                refs = [r for r in json.loads(row["answer"]).get("references") or [] if str(r.get("doc_id")) in docs]
                named = [{"n": r.get("n"), "doc_id": str(r.get("doc_id")), "title": str(r.get("title") or "")}
                         for r in refs] or [{"n": None, "doc_id": d, "title": ""} for d in sorted(docs)]
                reason = "; ".join(
                    f"reference [{r['n']}] “{r['title']}” ({r['doc_id']}) was retracted" if r["n"] is not None
                    else f"cited document {r['doc_id']} was retracted" for r in named)
                n = tx.execute(
                    "UPDATE review_articles SET state = ?, reviewer_id = NULL, needs_rereview = 1, "
                    "rereview_reason = ?, rereview_at = ?, version = version + 1, updated_at = ? "
                    "WHERE id = ? AND state = ?",
                    (UNDER_REVIEW, reason, now, now, article_id, APPROVED),
                )
                if n != 1:
                    continue
                self._audit(tx, SYSTEM, "returned_to_review", article_id, from_state=APPROVED, to_state=UNDER_REVIEW,
                            reason=reason, retracted=named)
                moved += 1
        return moved

    # --- articles: reading ---------------------------------------------------------------------

    def get(self, article_id: str, viewer: User | None) -> Article:
        with self.db.read() as tx:
            row, _ = self._visible(tx, article_id, viewer)
            return _article(row)

    def list(self, viewer: User | None, state: str | None = None, query: str | None = None,
             *, limit: int = 500) -> list[Article]:
        """Articles the viewer may see, newest change first; ``query`` matches title and text."""
        if state is not None and state not in STATES:
            raise ReviewError(f"unknown state {state!r}", hint=f"choose one of: {', '.join(STATES)}")
        with self.db.read() as tx:
            viewer = self._current_or_anonymous(tx, viewer)
            where, params = [], []
            if viewer is None:
                where.append("a.state = ?")
                params.append(APPROVED)
            elif not viewer.is_reviewer:
                where.append("(a.state = ? OR a.author_id = ?)")
                params += [APPROVED, viewer.id]
            if state:
                where.append("a.state = ?")
                params.append(state)
            if query and query.strip():
                like = "%" + query.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                where.append("(LOWER(a.title) LIKE ? ESCAPE '\\' OR LOWER(a.answer) LIKE ? ESCAPE '\\')")
                params += [like, like]
            sql = _ARTICLE_SQL + (" WHERE " + " AND ".join(where) if where else "")
            rows = tx.all(sql + " ORDER BY a.updated_at DESC, a.id LIMIT ?", (*params, int(limit)))
        return [_article(r) for r in rows]

    def versions(self, article_id: str, viewer: User | None) -> list[Version]:
        with self.db.read() as tx:
            self._visible(tx, article_id, viewer)
            rows = tx.all(
                "SELECT v.*, u.name AS author_name FROM review_versions v JOIN review_users u ON u.id = v.author_id "
                "WHERE v.article_id = ? ORDER BY v.number", (article_id,))
        return [Version(article_id=r["article_id"], number=int(r["number"]), answer=json.loads(r["answer"]),
                        author=r["author_name"], created_at=r["created_at"], note=r["note"], diff=r["diff"])
                for r in rows]

    def comments(self, article_id: str, viewer: User | None) -> list[Comment]:
        """Review comments: the author, reviewers and admins see them (not the public)."""
        with self.db.read() as tx:
            row, viewer = self._visible(tx, article_id, viewer)
            if viewer is None or not (viewer.is_reviewer or viewer.id == row["author_id"]):
                raise PermissionDenied("review comments are visible to the author, reviewers and admins only")
            rows = tx.all(
                "SELECT c.*, u.name AS author_name FROM review_comments c JOIN review_users u ON u.id = c.user_id "
                "WHERE c.article_id = ? ORDER BY c.created_at, c.id", (article_id,))
        return [Comment(id=r["id"], article_id=r["article_id"], author=r["author_name"], text=r["text"],
                        created_at=r["created_at"]) for r in rows]
