"""The editorial workflow, run against SQLite and a real PostgreSQL server (fixture ``postgres_url``)."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from medcite.errors import Conflict, NotFound, PermissionDenied, ReviewError
from medcite.review import SYSTEM, Editorial, connect
from medcite.review.db import _parse

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # tests only: real hashes are slow
PASSWORD = "correct horse"


class Clock:
    """Real time plus an offset tests can advance."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/review.db"
        return
    import psycopg

    base = request.getfixturevalue("postgres_url")
    schema = "t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def board(db_url: str, clock: Clock):
    b = Editorial(connect(db_url), hasher=FAST_HASHER, clock=clock)
    yield b
    b.close()


@pytest.fixture
def people(board: Editorial):
    admin = board.add_user("ada", "admin", PASSWORD)  # the very first user needs no actor
    mk = lambda name, role: board.add_user(name, role, PASSWORD, actor=admin)  # noqa: E731
    return {
        "admin": admin,
        "editor": mk("ed", "editor"),
        "editor2": mk("eve", "editor"),
        "reviewer": mk("rita", "reviewer"),
        "reviewer2": mk("rob", "reviewer"),
        "reader": mk("rae", "reader"),
    }


def answer(question: str = "Does aspirin prevent heart attacks?", bottom: str = "Yes, modestly [1].",
           docs: tuple[str, ...] = ("pmid:1",)) -> dict:
    return {
        "question": question,
        "audience": "clinician",
        "bottom_line": bottom,
        "sections": [{"heading": "Evidence", "markdown": "Trials show a small benefit [1]."}],
        "statements": [{"id": "s1", "text": bottom, "citations": [1], "section": "Bottom line"}],
        "references": [{"n": i, "doc_id": d, "title": f"Trial {d}"} for i, d in enumerate(docs, 1)],
    }


def under_review(board: Editorial, people: dict, **kw):
    art = board.submit(answer(**kw), people["editor"])
    return board.take(art.id, people["reviewer"])


# --- the happy path ---------------------------------------------------------------------------


def test_happy_path(board: Editorial, people: dict) -> None:
    ed, rita, rob = people["editor"], people["reviewer"], people["reviewer2"]
    art = board.submit(answer(), ed)
    assert (art.state, art.title, art.audience, art.author, art.version) == (
        "submitted", "Does aspirin prevent heart attacks?", "clinician", "ed", 1)
    art = board.take(art.id, rita)
    assert (art.state, art.reviewer) == ("under_review", "rita")
    art = board.edit(art.id, rita, answer(bottom="Yes, but bleeding offsets it [1]."), note="balance harms")
    assert (art.state, art.reviewer) == ("under_review", None)  # her edit goes to another reviewer
    board.comment(art.id, rita, "Added the bleeding risk.")
    art = board.approve(art.id, rob, expected_version=art.version)
    assert art.state == "approved" and art.public and art.reviewed_by == "rob"
    assert art.approved_at and art.last_updated == art.approved_at and not art.needs_rereview
    # public now: anonymous visitors see it, in the list too
    assert board.get(art.id, None).answer["bottom_line"] == "Yes, but bleeding offsets it [1]."
    assert [a.id for a in board.list(None)] == [art.id]
    assert [a.id for a in board.list(None, query="ASPIRIN")] == [art.id]
    assert board.list(None, query="warfarin") == []
    assert [c.text for c in board.comments(art.id, ed)] == ["Added the bleeding risk."]
    actions = [e.action for e in board.audit(art.id, rita)]
    assert actions == ["submitted", "taken", "edited", "commented", "approved"]
    entry = board.audit(art.id, people["admin"])[-1]
    assert entry.actor == "rob" and entry.article_id == art.id and entry.details["to_state"] == "approved"


def test_versions_with_diffs(board: Editorial, people: dict) -> None:
    rita = people["reviewer"]
    art = under_review(board, people)
    board.edit(art.id, rita, answer(bottom="Only for high-risk patients [1]."), note="narrow")
    board.edit(art.id, rita, answer(bottom="Only for high-risk patients [1, 2].", docs=("pmid:1", "pmid:2")))
    vs = board.versions(art.id, people["editor"])
    assert [v.number for v in vs] == [1, 2, 3]
    assert [v.author for v in vs] == ["ed", "rita", "rita"] and vs[1].note == "narrow"
    assert "-Yes, modestly [1]." in vs[1].diff and "+Only for high-risk patients [1]." in vs[1].diff
    assert vs[1].diff.startswith("--- v1\n+++ v2\n")
    assert "+2. Trial pmid:2 `pmid:2`" in vs[2].diff and "Bottom line" not in vs[2].diff.split("@@")[-1][:1]
    assert board.get(art.id, rita).revision == 3


def test_changes_requested_then_resubmitted(board: Editorial, people: dict) -> None:
    ed, rita, rob = people["editor"], people["reviewer"], people["reviewer2"]
    art = under_review(board, people)
    art = board.request_changes(art.id, rita, "Cite the guideline.", expected_version=art.version)
    assert art.state == "changes_requested" and art.note == "Cite the guideline."
    art = board.edit(art.id, ed, answer(docs=("pmid:1", "guideline:uspstf")), note="added guideline")
    art = board.resubmit(art.id, ed)
    assert art.state == "submitted" and art.reviewer is None
    art = board.take(art.id, rob)
    art = board.approve(art.id, rob, art.version)
    assert art.state == "approved" and art.reviewed_by == "rob"


# --- notes, permissions, transitions ------------------------------------------------------------


def test_notes_are_required(board: Editorial, people: dict) -> None:
    art = under_review(board, people)
    rita = people["reviewer"]
    with pytest.raises(ReviewError, match="note is required to request changes"):
        board.request_changes(art.id, rita, "", art.version)
    with pytest.raises(ReviewError, match="note is required to reject"):
        board.reject(art.id, rita, "   ", art.version)
    assert board.reject(art.id, rita, "Off topic.", art.version).state == "rejected"


def test_permission_matrix(board: Editorial, people: dict) -> None:
    ed, eve, rita, rae, admin = (people[k] for k in ("editor", "editor2", "reviewer", "reader", "admin"))
    art = board.submit(answer(), ed)
    with pytest.raises(PermissionDenied, match="readers cannot submit"):
        board.submit(answer(), rae)
    with pytest.raises(PermissionDenied, match="editors cannot take"):
        board.take(art.id, eve)
    # anonymous visitors and other editors cannot see drafts; author, reviewers, admins can
    with pytest.raises(PermissionDenied, match="not public yet"):
        board.get(art.id, None)
    with pytest.raises(PermissionDenied):
        board.get(art.id, eve)
    with pytest.raises(PermissionDenied):
        board.versions(art.id, None)
    assert board.list(None) == [] and board.list(eve) == [] and board.list(rae) == []
    for viewer in (ed, rita, admin):
        assert board.get(art.id, viewer).id == art.id
        assert [a.id for a in board.list(viewer)] == [art.id]
    with pytest.raises(PermissionDenied, match="cannot edit other people's articles"):
        board.edit(art.id, eve, answer(bottom="Hijacked."))
    art = board.take(art.id, rita)
    with pytest.raises(Conflict, match="under review"):  # authors edit only while submitted / changes requested
        board.edit(art.id, ed, answer(bottom="Sneaky."))
    with pytest.raises(PermissionDenied, match="readers cannot approve"):
        board.approve(art.id, rae, art.version)
    with pytest.raises(PermissionDenied, match="editors cannot approve"):
        board.approve(art.id, ed, art.version)
    with pytest.raises(PermissionDenied, match="anonymous visitors cannot approve"):
        board.approve(art.id, None, art.version)  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied, match="cannot comment"):
        board.comment(art.id, eve, "nice")
    with pytest.raises(PermissionDenied, match="audit log"):
        board.audit(art.id, ed)
    with pytest.raises(PermissionDenied, match="audit log"):
        board.audit(None, None)
    # a reviewer cannot approve (or take) their own submission
    own = board.submit(answer("Statins for primary prevention?"), rita)
    with pytest.raises(PermissionDenied, match="own submission"):
        board.take(own.id, rita)
    own = board.take(own.id, people["reviewer2"])
    with pytest.raises(PermissionDenied, match="cannot approve your own submission"):
        board.approve(own.id, rita, own.version)
    assert board.approve(own.id, admin, own.version).state == "approved"


def test_role_changes_apply_at_once(board: Editorial, people: dict) -> None:
    rita = people["reviewer"]
    art = under_review(board, people)
    board.set_role("rita", "reader", actor=people["admin"])
    with pytest.raises(PermissionDenied, match="readers cannot approve"):
        board.approve(art.id, rita, art.version)  # the stale User object carries no power


def test_illegal_transitions_and_unknown_ids(board: Editorial, people: dict) -> None:
    rita = people["reviewer"]
    art = under_review(board, people)
    rejected = board.reject(art.id, rita, "Not answerable from the corpus.", art.version)
    with pytest.raises(Conflict, match="it is rejected"):
        board.approve(art.id, rita, rejected.version)
    art2 = under_review(board, people, question="Metformin in pregnancy?")
    approved = board.approve(art2.id, rita, art2.version)
    with pytest.raises(Conflict, match="it is approved"):
        board.take(art2.id, people["reviewer2"])
    with pytest.raises(Conflict, match="it is approved"):
        board.approve(art2.id, rita, approved.version)  # not flagged: nothing to re-confirm
    with pytest.raises(Conflict, match="changed by someone else"):
        board.request_changes(art2.id, rita, "Outdated.", approved.version - 1)
    with pytest.raises(NotFound):
        board.get("nope", rita)
    with pytest.raises(NotFound):
        board.approve("nope", rita, 1)
    with pytest.raises(ReviewError, match="unknown state"):
        board.list(rita, state="published")


# --- concurrency --------------------------------------------------------------------------------


def _race(n: int, fn) -> tuple[list, list]:
    barrier, wins, errors, lock = threading.Barrier(n), [], [], threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        try:
            result = fn(i)
            with lock:
                wins.append(result)
        except Exception as exc:  # noqa: BLE001 - collected and checked below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return wins, errors


def test_concurrent_approvals_exactly_one_wins(board: Editorial, people: dict) -> None:
    deciders = [people["reviewer"], people["reviewer2"], people["admin"], people["reviewer"]]
    for round_ in range(3):
        art = under_review(board, people, question=f"Question {round_}?")
        wins, errors = _race(len(deciders), lambda i: board.approve(art.id, deciders[i], art.version))
        assert len(wins) == 1 and len(errors) == len(deciders) - 1, errors
        assert all(isinstance(e, Conflict) for e in errors), errors
        final = board.get(art.id, None)
        assert final.state == "approved" and final.version == art.version + 1
        assert [e.action for e in board.audit(art.id, people["admin"])].count("approved") == 1


def test_concurrent_decisions_exactly_one_wins(board: Editorial, people: dict) -> None:
    art = under_review(board, people)
    rita, rob = people["reviewer"], people["reviewer2"]
    calls = [lambda: board.approve(art.id, rita, art.version),
             lambda: board.reject(art.id, rob, "No.", art.version),
             lambda: board.request_changes(art.id, rob, "More.", art.version)]
    wins, errors = _race(3, lambda i: calls[i]())
    assert len(wins) == 1 and all(isinstance(e, Conflict) for e in errors) and len(errors) == 2
    assert board.get(art.id, rita).state == wins[0].state


def test_concurrent_edits_lose_nothing(board: Editorial, people: dict) -> None:
    rita = people["reviewer"]
    art = under_review(board, people)
    n = 6
    wins, errors = _race(n, lambda i: board.edit(art.id, rita, answer(bottom=f"Edit {i}."), note=f"e{i}"))
    assert errors == [] and len(wins) == n
    vs = board.versions(art.id, rita)
    assert [v.number for v in vs] == list(range(1, n + 2))
    assert sorted(v.note for v in vs[1:]) == sorted(f"e{i}" for i in range(n))
    for prev, cur in zip(vs, vs[1:]):  # each diff is against its true predecessor
        assert f"-{prev.answer['bottom_line']}" in cur.diff and f"+{cur.answer['bottom_line']}" in cur.diff
    assert board.get(art.id, rita).answer == vs[-1].answer
    # with expected_version, a stale edit is refused instead
    seen = board.get(art.id, rita).version
    wins, errors = _race(3, lambda i: board.edit(art.id, rita, answer(bottom=f"X{i}."), expected_version=seen))
    assert len(wins) == 1 and len(errors) == 2 and all(isinstance(e, Conflict) for e in errors)


# --- re-review flags ----------------------------------------------------------------------------


def test_flag_changed_documents(board: Editorial, people: dict) -> None:
    rita, admin = people["reviewer"], people["admin"]
    a1 = under_review(board, people, question="Q1?", docs=("pmid:1", "pmid:2"))
    a1 = board.approve(a1.id, rita, a1.version)
    a2 = under_review(board, people, question="Q2?", docs=("pmid:3",))
    a2 = board.approve(a2.id, rita, a2.version)
    draft = board.submit(answer("Q3?", docs=("pmid:1",)), people["editor"])
    assert board.flag_changed_documents([], "nothing") == 0
    assert board.flag_changed_documents(["pmid:404"], "unknown") == 0
    assert board.flag_changed_documents(["pmid:1", "pmid:2", "pmid:9"], "pmid:1 retracted") == 1
    flagged = board.get(a1.id, None)
    assert flagged.needs_rereview and flagged.rereview_reason == "pmid:1 retracted" and flagged.rereview_at
    assert flagged.state == "approved"  # stays public, shown with a warning
    assert not board.get(a2.id, None).needs_rereview and not board.get(draft.id, rita).needs_rereview
    entry = [e for e in board.audit(a1.id, admin) if e.action == "flagged_for_rereview"][0]
    assert entry.actor == "system" and entry.details["doc_ids"] == ["pmid:1", "pmid:2"]
    with pytest.raises(Conflict, match="changed by someone else"):
        board.approve(a1.id, rita, a1.version)  # flagging bumped the version
    again = board.approve(a1.id, people["reviewer2"], flagged.version)
    assert not again.needs_rereview and again.rereview_reason == "" and again.reviewed_by == "rob"


# --- users, passwords, tokens, sessions ---------------------------------------------------------


def test_users(board: Editorial, people: dict) -> None:
    admin = people["admin"]
    with pytest.raises(Conflict, match="already exists"):
        board.add_user("ed", "editor", PASSWORD, actor=admin)
    with pytest.raises(ReviewError, match="at least 8 characters"):
        board.add_user("new", "editor", "short", actor=admin)
    with pytest.raises(ReviewError, match="unknown role"):
        board.add_user("new", "boss", PASSWORD, actor=admin)
    with pytest.raises(PermissionDenied, match="anonymous visitors cannot create users"):
        board.add_user("new", "editor", PASSWORD)
    with pytest.raises(PermissionDenied, match="reviewers cannot create users"):
        board.add_user("new", "editor", PASSWORD, actor=people["reviewer"])
    assert board.add_user("cli", "editor", PASSWORD, actor=SYSTEM).role == "editor"
    assert [u.name for u in board.list_users(admin)] == ["ada", "cli", "ed", "eve", "rae", "rita", "rob"]
    with pytest.raises(PermissionDenied):
        board.list_users(people["editor"])
    assert board.set_role("eve", "reviewer", actor=admin).role == "reviewer"
    assert board.get_user("eve").role == "reviewer"
    with pytest.raises(Conflict, match="last admin"):
        board.set_role("ada", "reader", actor=admin)
    with pytest.raises(NotFound):
        board.get_user("nobody")
    actions = [e.action for e in board.audit(None, admin)]
    assert actions.count("user_created") == 7 and "role_changed" in actions


def test_authenticate(board: Editorial, people: dict) -> None:
    assert board.authenticate("ed", PASSWORD) == people["editor"]
    assert board.authenticate("ed", "wrong password") is None
    assert board.authenticate("nobody", PASSWORD) is None
    assert board.authenticate("ed", "") is None
    log = board.audit(None, people["admin"])
    assert [(e.action, e.actor) for e in log if e.action.startswith("login")] == [
        ("login", "ed"), ("login_failed", "ed"), ("login_failed", "anonymous"), ("login_failed", "ed")]
    assert all("password" not in str(e.details).lower() for e in log)


def test_tokens(board: Editorial, people: dict, db_url: str) -> None:
    ed = people["editor"]
    secret = board.create_token(ed, "ci upload")
    assert secret.startswith("mct_") and len(secret) > 40
    assert board.user_for_token(secret) == ed
    assert board.user_for_token(secret + "x") is None and board.user_for_token("") is None
    with board.db.read() as tx:
        stored = tx.all("SELECT * FROM review_tokens")
    assert secret not in str(stored)
    with pytest.raises(PermissionDenied):
        board.revoke_token(people["editor2"], secret)
    tokens = board.list_tokens(ed)
    assert [t["label"] for t in tokens] == ["ci upload"]
    board.revoke_token(ed, tokens[0]["id"])
    assert board.user_for_token(secret) is None
    with pytest.raises(NotFound):
        board.revoke_token(ed, "mct_unknown")
    actions = [e.action for e in board.audit(None, people["admin"])]
    assert "token_created" in actions and "token_revoked" in actions


def test_sessions(board: Editorial, people: dict, clock: Clock) -> None:
    ed = people["editor"]
    sid, csrf = board.create_session(ed, ttl_s=60)
    assert board.session_user(sid) == (ed, csrf)
    with board.db.read() as tx:
        assert sid not in str(tx.all("SELECT * FROM review_sessions"))
    assert board.session_user("forged") is None
    clock.advance(61)
    assert board.session_user(sid) is None  # expired
    sid2, _ = board.create_session(ed, ttl_s=60)
    board.end_session(sid2)
    assert board.session_user(sid2) is None
    assert "logout" in [e.action for e in board.audit(None, people["admin"])]


# --- storage ------------------------------------------------------------------------------------


def test_audit_log_is_append_only(board: Editorial, people: dict) -> None:
    with pytest.raises(Exception, match="append-only"):
        with board.db.transaction() as tx:
            tx.execute("UPDATE review_audit SET action = 'forged'")
    with pytest.raises(Exception, match="append-only"):
        with board.db.transaction() as tx:
            tx.execute("DELETE FROM review_audit")
    assert len(board.audit(None, people["admin"])) == 6


def test_migrations_are_idempotent(db_url: str) -> None:
    first = connect(db_url)
    assert first.applied() >= {"0001_review_users_articles_audit", "0002_review_audit_append_only"}
    second = connect(db_url)
    assert second.migrate() == []
    first.close()
    second.close()


def test_shares_the_evidence_store_file(tmp_path: Path) -> None:
    from medcite.store.sqlite import Store

    path = tmp_path / "medcite.db"
    Store(path).close()
    board = Editorial(connect(path), hasher=FAST_HASHER)
    board.add_user("ada", "admin", PASSWORD)
    board.close()
    with Store(path) as store:  # the evidence store still opens; its tables are untouched
        assert store.document_count() == 0


def test_url_parsing() -> None:
    assert _parse("medcite.db") == ("sqlite", "medcite.db")
    assert _parse("sqlite:///rel/x.db") == ("sqlite", "rel/x.db")
    assert _parse("sqlite:////abs/x.db") == ("sqlite", "/abs/x.db")
    assert _parse("postgresql://u@h/db")[0] == "postgresql"
    with pytest.raises(Exception, match="unsupported"):
        _parse("mysql://u@h/db")


def test_stale_conflict_message_says_reload_once() -> None:
    from medcite.review.workflow import Editorial

    exc = Editorial._stale_conflict("a1")
    text = f"{exc}"
    assert "changed by someone else" in text and text.count("reload") == 1
