"""The editorial review workflow: articles (submitted answers), reviewers, approvals, audit log.

    from medcite.review import Editorial, connect
    board = Editorial(connect("medcite.db"))          # or "postgresql://user@host/db"

See docs/review.md.
"""

from medcite.review.db import MIGRATIONS, ReviewDB, connect, review_url
from medcite.review.models import (
    ADMIN,
    APPROVED,
    CHANGES_REQUESTED,
    EDITOR,
    READER,
    REJECTED,
    REVIEWER,
    ROLES,
    STATE_LABELS,
    STATES,
    SUBMITTED,
    SYSTEM,
    UNDER_REVIEW,
    Article,
    AuditEntry,
    Comment,
    User,
    Version,
    render_text,
)
from medcite.review.workflow import Editorial

__all__ = [
    "ADMIN", "APPROVED", "CHANGES_REQUESTED", "EDITOR", "MIGRATIONS", "READER", "REJECTED", "REVIEWER", "ROLES",
    "STATE_LABELS", "STATES", "SUBMITTED", "SYSTEM", "UNDER_REVIEW", "Article", "AuditEntry", "Comment",
    "Editorial", "ReviewDB", "User", "Version", "connect", "render_text", "review_url",
]
