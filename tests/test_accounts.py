"""Account management: list, role, password, disable / enable — in the core, the CLI and the admin page."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from medcite.cli import app
from medcite.errors import Conflict, NotFound, PermissionDenied, ReviewError
from medcite.review import SYSTEM, Editorial
from test_review import PASSWORD, answer, board, clock, db_url, people  # noqa: F401  (fixtures)

NEW_PASSWORD = "a brand new passphrase"


def test_disable_ends_sessions_tokens_and_logins(board: Editorial, people: dict) -> None:
    admin, ed = people["admin"], people["editor"]
    sid, _ = board.create_session(ed)
    token = board.create_token(ed, "ci")
    with pytest.raises(PermissionDenied, match="reviewers cannot disable accounts"):
        board.disable_user("ed", actor=people["reviewer"])
    assert board.disable_user("ed", actor=admin).disabled
    assert board.session_user(sid) is None
    assert board.user_for_token(token) is None
    assert board.authenticate("ed", PASSWORD) is None
    with pytest.raises(PermissionDenied, match="'ed' is disabled"):
        board.submit(answer(), ed)  # a request already in flight is refused too
    assert [u.disabled for u in board.list_users(admin) if u.name == "ed"] == [True]
    assert board.enable_user("ed", actor=admin).disabled is False
    assert board.authenticate("ed", PASSWORD) == board.get_user("ed")
    assert board.user_for_token(token) is not None  # tokens were suspended, not revoked
    assert board.session_user(sid) is None  # ended sessions stay ended
    log = board.audit(None, admin)
    assert {"user_disabled", "user_enabled"} <= {e.action for e in log}
    assert any(e.action == "login_failed" and e.details.get("reason") == "account disabled" for e in log)


def test_last_admin_cannot_be_disabled_or_demoted(board: Editorial, people: dict) -> None:
    admin = people["admin"]
    with pytest.raises(Conflict, match="last admin"):
        board.disable_user("ada", actor=admin)
    board.set_role("rob", "admin", actor=admin)
    board.disable_user("rob", actor=admin)
    with pytest.raises(Conflict, match="last admin"):  # a disabled admin does not count
        board.set_role("ada", "reviewer", actor=admin)
    with pytest.raises(NotFound, match="medcite user list"):
        board.disable_user("nobody", actor=admin)


def test_set_password(board: Editorial, people: dict) -> None:
    admin, ed = people["admin"], people["editor"]
    keep, _ = board.create_session(ed)
    other, _ = board.create_session(ed)
    with pytest.raises(ReviewError, match="at least 8 characters"):
        board.set_password("ed", "short", actor=admin)
    with pytest.raises(PermissionDenied, match="editors cannot change other people's passwords"):
        board.set_password("eve", NEW_PASSWORD, actor=ed)
    board.set_password("ed", NEW_PASSWORD, actor=ed, keep_session=keep)  # their own, from a signed-in page
    assert board.session_user(keep) is not None and board.session_user(other) is None
    assert board.authenticate("ed", PASSWORD) is None
    assert board.authenticate("ed", NEW_PASSWORD) is not None
    board.set_password("ed", PASSWORD, actor=SYSTEM)
    assert board.session_user(keep) is None
    assert "password_changed" in {e.action for e in board.audit(None, admin)}
    assert all(NEW_PASSWORD not in str(e.details) for e in board.audit(None, admin))


# --- the CLI --------------------------------------------------------------------------------------


def _cli(db: Path, *args: str, input: str | None = None):
    return CliRunner().invoke(app, ["--db", str(db), "user", *args], input=input)


def test_cli_user_commands(tmp_path: Path) -> None:
    db = tmp_path / "medcite.db"
    assert _cli(db, "add", "ada", "--role", "admin", input="first passphrase\n").exit_code == 0
    for name in ("rita", "rob"):
        res = _cli(db, "add", name, "--role", "reviewer", input=f"{name} passphrase\n")
        assert res.exit_code == 0, res.output
    res = _cli(db, "list")
    assert res.exit_code == 0, res.output
    assert [line.split()[:3] for line in res.output.splitlines()] == [
        ["ada", "admin", "active"], ["rita", "reviewer", "active"], ["rob", "reviewer", "active"]]
    assert "is now editor" in _cli(db, "role", "rob", "editor").output
    res = _cli(db, "role", "rob", "boss")
    assert res.exit_code != 0 and "unknown role" in res.output
    assert _cli(db, "passwd", "rita", input="a new rita passphrase\n").exit_code == 0
    res = _cli(db, "passwd", "rita", input="short\n")
    assert res.exit_code != 0 and "too short" in res.output
    assert _cli(db, "disable", "rob").exit_code == 0
    res = _cli(db, "list", "--json")
    import json

    users = {u["name"]: u for u in json.loads(res.output)["users"]}
    assert users["rob"]["disabled"] and users["rob"]["role"] == "editor" and not users["rita"]["disabled"]
    res = _cli(db, "disable", "ada")
    assert res.exit_code != 0 and "last admin" in res.output
    assert _cli(db, "enable", "rob").exit_code == 0
    res = _cli(db, "disable", "nobody")
    assert res.exit_code != 0 and "no user 'nobody'" in res.output

    board = Editorial(str(db))
    try:
        assert board.authenticate("rita", "a new rita passphrase") is not None
        assert board.authenticate("rob", "rob passphrase") is not None
    finally:
        board.close()


def test_cli_passwords_are_never_arguments() -> None:
    from medcite.cli.web import user_add, user_passwd
    import inspect

    for fn in (user_add, user_passwd):
        assert "password" not in inspect.signature(fn).parameters
