"""Users, API tokens and web sessions of the editorial board, and the shared core (clock, audit log).

Passwords are hashed with Argon2id (argon2-cffi). API tokens and session ids are random secrets
shown once; only their SHA-256 is stored, so a copy of the database grants no access.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from medcite.errors import Conflict, NotFound, PermissionDenied, ReviewError
from medcite.review.db import ReviewDB, Tx, connect
from medcite.review.models import ADMIN, MIN_PASSWORD_CHARS, ROLES, SYSTEM, AuditEntry, User

TOKEN_PREFIX = "mct_"
DEFAULT_SESSION_TTL_S = 8 * 3600


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _new_id() -> str:
    return uuid.uuid4().hex


def _user(row: dict[str, Any], prefix: str = "") -> User:
    return User(id=row[f"{prefix}id"], name=row[f"{prefix}name"], role=row[f"{prefix}role"],
                created_at=row[f"{prefix}created_at"], disabled=bool(row.get(f"{prefix}disabled_at")))


class Accounts:
    """The core of :class:`~medcite.review.workflow.Editorial`: users, tokens, sessions, audit."""

    def __init__(
        self,
        db: ReviewDB | str | Path,
        *,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.db = db if isinstance(db, ReviewDB) else connect(db)
        self.hasher = hasher or PasswordHasher()
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._last = ""
        self._time_lock = threading.Lock()
        self._dummy_hash: str | None = None

    def close(self) -> None:
        self.db.close()

    # --- core ----------------------------------------------------------------------------------

    def _now_dt(self) -> datetime:
        now = self._clock()
        return now if now.tzinfo else now.replace(tzinfo=timezone.utc)

    def _now(self) -> str:
        """ISO-8601 UTC with microseconds, strictly increasing within this process (audit order)."""
        with self._time_lock:
            now = self._now_dt().astimezone(timezone.utc)
            stamp = now.isoformat(timespec="microseconds")
            if stamp <= self._last:
                last = datetime.fromisoformat(self._last)
                stamp = (last + timedelta(microseconds=1)).isoformat(timespec="microseconds")
            self._last = stamp
            return stamp

    def _audit(self, tx: Tx, actor: User | None, action: str, article_id: str | None = None, **details: Any) -> None:
        tx.execute(
            "INSERT INTO review_audit(id, at, actor_id, actor_name, action, article_id, details) VALUES (?,?,?,?,?,?,?)",
            (_new_id(), self._now(), actor.id if actor and actor.id else None,
             actor.name if actor else "anonymous", action, article_id,
             json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)),
        )

    def _current(self, tx: Tx, user: User | None) -> User | None:
        """The user as the database knows them now (role changes apply at once); SYSTEM as is."""
        if user is None or user is SYSTEM:
            return user
        row = tx.one("SELECT * FROM review_users WHERE id = ?", (user.id,))
        if row is None:
            raise PermissionDenied(f"unknown user {user.name!r}", hint="sign in again")
        if row.get("disabled_at"):
            raise PermissionDenied(f"the account {row['name']!r} is disabled", hint="ask an admin to enable it")
        return _user(row)

    def _require_admin(self, tx: Tx, actor: User | None, what: str) -> User:
        current = self._current(tx, actor)
        if current is None or current.role != ADMIN:
            who = "anonymous visitors" if current is None else f"{current.role}s"
            raise PermissionDenied(f"{who} cannot {what}", hint="only an admin can")
        return current

    # --- users -------------------------------------------------------------------------------

    def add_user(self, name: str, role: str, password: str, *, actor: User | None = None) -> User:
        """Create a user. ``actor`` must be an admin (or SYSTEM); ``None`` only creates the very first user."""
        name = (name or "").strip()
        if not name or len(name) > 100 or any(ch.isspace() or not ch.isprintable() for ch in name):
            raise ReviewError(f"invalid user name {name!r}", hint="use 1–100 printable characters without spaces")
        _check_role(role)
        _check_password(password)
        password_hash = self.hasher.hash(password)  # slow on purpose: outside the transaction
        user = User(id=_new_id(), name=name, role=role, created_at=self._now())
        try:
            with self.db.transaction() as tx:
                if actor is None:
                    if tx.one("SELECT id FROM review_users LIMIT 1"):
                        raise PermissionDenied("anonymous visitors cannot create users", hint="sign in as an admin")
                else:
                    actor = self._require_admin(tx, actor, "create users")
                if tx.one("SELECT id FROM review_users WHERE name = ?", (name,)):
                    raise Conflict(f"a user named {name!r} already exists", hint="pick another name")
                tx.execute(
                    "INSERT INTO review_users(id, name, role, password_hash, created_at) VALUES (?,?,?,?,?)",
                    (user.id, name, role, password_hash, user.created_at),
                )
                self._audit(tx, actor or user, "user_created", user=name, role=role)
        except self.db.integrity_errors:
            raise Conflict(f"a user named {name!r} already exists", hint="pick another name") from None
        return user

    def authenticate(self, name: str, password: str) -> User | None:
        """The user if the password is right, else None (the same work is done for unknown names)."""
        with self.db.read() as tx:
            row = tx.one("SELECT * FROM review_users WHERE name = ?", ((name or "").strip(),))
        stored = row["password_hash"] if row else self._dummy()
        try:
            ok = self.hasher.verify(stored, password or "")
        except (VerificationError, InvalidHashError):
            ok = False
        ok = ok and row is not None
        with self.db.transaction() as tx:
            if not ok:
                self._audit(tx, _user(row) if row else None, "login_failed", name=name)
                return None
            if row.get("disabled_at"):
                self._audit(tx, _user(row), "login_failed", name=name, reason="account disabled")
                return None
            user = _user(row)
            if self.hasher.check_needs_rehash(stored):
                tx.execute("UPDATE review_users SET password_hash = ? WHERE id = ?", (self.hasher.hash(password), user.id))
            self._audit(tx, user, "login")
        return user

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(secrets.token_hex(16))
        return self._dummy_hash

    def get_user(self, name_or_id: str) -> User:
        with self.db.read() as tx:
            row = tx.one("SELECT * FROM review_users WHERE id = ? OR name = ?", (name_or_id, name_or_id))
        if row is None:
            raise NotFound(f"no user {name_or_id!r}", hint="list users with `medcite user list`")
        return _user(row)

    def list_users(self, viewer: User | None) -> list[User]:
        with self.db.read() as tx:
            self._require_admin(tx, viewer, "list users")
            return [_user(r) for r in tx.all("SELECT * FROM review_users ORDER BY name")]

    def set_role(self, name_or_id: str, role: str, *, actor: User | None) -> User:
        _check_role(role)
        with self.db.transaction() as tx:
            actor = self._require_admin(tx, actor, "change roles")
            row = tx.one("SELECT * FROM review_users WHERE id = ? OR name = ?", (name_or_id, name_or_id))
            if row is None:
                raise NotFound(f"no user {name_or_id!r}")
            if row["role"] == ADMIN and role != ADMIN and not row.get("disabled_at"):
                admins = tx.one("SELECT COUNT(*) AS n FROM review_users WHERE role = ? AND disabled_at IS NULL",
                                (ADMIN,))
                if admins and int(admins["n"]) <= 1:
                    raise Conflict(f"{row['name']!r} is the last admin", hint="make someone else admin first")
            tx.execute("UPDATE review_users SET role = ? WHERE id = ?", (role, row["id"]))
            self._audit(tx, actor, "role_changed", user=row["name"], old=row["role"], new=role)
            return _user({**row, "role": role})

    def set_password(self, name_or_id: str, password: str, *, actor: User | None,
                     keep_session: str = "") -> User:
        """Set a user's password (an admin, or the user themself); their other web sessions end."""
        _check_password(password)
        password_hash = self.hasher.hash(password)  # slow on purpose: outside the transaction
        with self.db.transaction() as tx:
            current = self._current(tx, actor)
            row = self._user_row(tx, name_or_id)
            if current is None or (current.role != ADMIN and current.id != row["id"]):
                who = "anonymous visitors" if current is None else f"{current.role}s"
                raise PermissionDenied(f"{who} cannot change other people's passwords", hint="only an admin can")
            tx.execute("UPDATE review_users SET password_hash = ? WHERE id = ?", (password_hash, row["id"]))
            tx.execute("DELETE FROM review_sessions WHERE user_id = ? AND id_hash <> ?",
                       (row["id"], _sha256(keep_session) if keep_session else ""))
            self._audit(tx, current, "password_changed", user=row["name"])
            return _user(row)

    def disable_user(self, name_or_id: str, *, actor: User | None) -> User:
        """Disable an account: it cannot sign in, its sessions end, its API tokens stop working (admins only)."""
        with self.db.transaction() as tx:
            actor = self._require_admin(tx, actor, "disable accounts")
            row = self._user_row(tx, name_or_id)
            if row["role"] == ADMIN and not row.get("disabled_at"):
                admins = tx.one("SELECT COUNT(*) AS n FROM review_users WHERE role = ? AND disabled_at IS NULL",
                                (ADMIN,))
                if admins and int(admins["n"]) <= 1:
                    raise Conflict(f"{row['name']!r} is the last admin", hint="make someone else admin first")
            if not row.get("disabled_at"):
                tx.execute("UPDATE review_users SET disabled_at = ? WHERE id = ?", (self._now(), row["id"]))
                self._audit(tx, actor, "user_disabled", user=row["name"])
            tx.execute("DELETE FROM review_sessions WHERE user_id = ?", (row["id"],))
            return _user({**row, "disabled_at": row.get("disabled_at") or "yes"})

    def enable_user(self, name_or_id: str, *, actor: User | None) -> User:
        """Enable a disabled account again (admins only); it signs in with its old password."""
        with self.db.transaction() as tx:
            actor = self._require_admin(tx, actor, "enable accounts")
            row = self._user_row(tx, name_or_id)
            if row.get("disabled_at"):
                tx.execute("UPDATE review_users SET disabled_at = NULL WHERE id = ?", (row["id"],))
                self._audit(tx, actor, "user_enabled", user=row["name"])
            return _user({**row, "disabled_at": None})

    @staticmethod
    def _user_row(tx: Tx, name_or_id: str) -> dict[str, Any]:
        row = tx.one("SELECT * FROM review_users WHERE id = ? OR name = ?", (name_or_id, name_or_id))
        if row is None:
            raise NotFound(f"no user {name_or_id!r}", hint="list users with `medcite user list`")
        return row

    # --- API tokens ----------------------------------------------------------------------------

    def create_token(self, user: User, label: str = "") -> str:
        """A new API token for ``user``; the secret is returned once and only its hash is stored."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = _new_id()
        with self.db.transaction() as tx:
            current = self._current(tx, user)
            if current is None or current is SYSTEM:
                raise PermissionDenied("API tokens belong to a user", hint="sign in first")
            tx.execute(
                "INSERT INTO review_tokens(id, user_id, label, token_hash, created_at) VALUES (?,?,?,?,?)",
                (token_id, current.id, label or "", _sha256(secret), self._now()),
            )
            self._audit(tx, current, "token_created", token_id=token_id, label=label or "")
        return secret

    def user_for_token(self, token: str) -> User | None:
        if not token:
            return None
        with self.db.read() as tx:
            row = tx.one(
                "SELECT u.* FROM review_tokens t JOIN review_users u ON u.id = t.user_id "
                "WHERE t.token_hash = ? AND t.revoked_at IS NULL AND u.disabled_at IS NULL",
                (_sha256(token),),
            )
        return _user(row) if row else None

    def list_tokens(self, user: User) -> list[dict[str, Any]]:
        """The tokens of ``user`` (id, label, created_at, revoked_at) — never the secrets."""
        with self.db.read() as tx:
            current = self._current(tx, user)
            if current is None:
                raise PermissionDenied("anonymous visitors have no tokens", hint="sign in first")
            return tx.all(
                "SELECT id, label, created_at, revoked_at FROM review_tokens WHERE user_id = ? ORDER BY created_at",
                (current.id,),
            )

    def revoke_token(self, user: User, token: str) -> None:
        """Revoke a token given its secret or its id; its owner or an admin may."""
        with self.db.transaction() as tx:
            current = self._current(tx, user)
            row = tx.one("SELECT * FROM review_tokens WHERE token_hash = ? OR id = ?", (_sha256(token), token))
            if row is None:
                raise NotFound("no such API token", hint="list your tokens to find its id")
            if current is None or (current.role != ADMIN and current.id != row["user_id"]):
                raise PermissionDenied("only its owner or an admin can revoke a token")
            if row["revoked_at"] is None:
                tx.execute("UPDATE review_tokens SET revoked_at = ? WHERE id = ?", (self._now(), row["id"]))
                self._audit(tx, current, "token_revoked", token_id=row["id"], label=row["label"])

    # --- web sessions --------------------------------------------------------------------------

    def create_session(self, user: User, ttl_s: int = DEFAULT_SESSION_TTL_S) -> tuple[str, str]:
        """A new session: ``(session_id, csrf_token)``; only the session id's hash is stored."""
        if ttl_s <= 0:
            raise ReviewError("a session needs a positive lifetime (ttl_s)")
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self._now_dt()
        with self.db.transaction() as tx:
            current = self._current(tx, user)
            if current is None or current is SYSTEM:
                raise PermissionDenied("sessions belong to a signed-in user")
            tx.execute("DELETE FROM review_sessions WHERE expires_at < ?", (_iso(now),))  # housekeeping
            tx.execute(
                "INSERT INTO review_sessions(id_hash, user_id, csrf_token, created_at, expires_at) VALUES (?,?,?,?,?)",
                (_sha256(session_id), current.id, csrf, _iso(now), _iso(now + timedelta(seconds=ttl_s))),
            )
        return session_id, csrf

    def session_user(self, session_id: str) -> tuple[User, str] | None:
        """``(user, csrf_token)`` of a live session, or None (unknown or expired)."""
        if not session_id:
            return None
        with self.db.read() as tx:
            row = tx.one(
                "SELECT u.*, s.csrf_token, s.expires_at FROM review_sessions s "
                "JOIN review_users u ON u.id = s.user_id WHERE s.id_hash = ?",
                (_sha256(session_id),),
            )
        if row is None or row["expires_at"] <= _iso(self._now_dt()) or row.get("disabled_at"):
            return None
        return _user(row), row["csrf_token"]

    def end_session(self, session_id: str) -> None:
        with self.db.transaction() as tx:
            row = tx.one(
                "SELECT u.* FROM review_sessions s JOIN review_users u ON u.id = s.user_id WHERE s.id_hash = ?",
                (_sha256(session_id or ""),),
            )
            if row:
                tx.execute("DELETE FROM review_sessions WHERE id_hash = ?", (_sha256(session_id),))
                self._audit(tx, _user(row), "logout")

    # --- audit log -----------------------------------------------------------------------------

    def audit(self, article_id: str | None = None, viewer: User | None = None, *, limit: int = 1000) -> list[AuditEntry]:
        """Audit entries, oldest first (of one article, or all); reviewers and admins only."""
        with self.db.read() as tx:
            current = self._current(tx, viewer)
            if current is None or not current.is_reviewer:
                who = "anonymous visitors" if current is None else f"{current.role}s"
                raise PermissionDenied(f"{who} cannot read the audit log", hint="reviewers and admins can")
            where, params = ("WHERE article_id = ?", [article_id]) if article_id else ("", [])
            rows = tx.all(
                f"SELECT * FROM (SELECT * FROM review_audit {where} ORDER BY at DESC, id DESC LIMIT ?) recent "
                "ORDER BY at, id",
                (*params, int(limit)),
            )
        return [
            AuditEntry(id=r["id"], at=r["at"], actor=r["actor_name"], action=r["action"],
                       article_id=r["article_id"], details=json.loads(r["details"] or "{}"))
            for r in rows
        ]


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_CHARS:
        raise ReviewError(
            f"password too short: it needs at least {MIN_PASSWORD_CHARS} characters",
            hint="choose a longer password (a passphrase of several words is best)",
        )


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ReviewError(f"unknown role {role!r}", hint=f"choose one of: {', '.join(ROLES)}")
