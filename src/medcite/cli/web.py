"""Web commands: serve, and the accounts the web app signs in with (user add, list, role, passwd, disable,
enable, token)."""

from __future__ import annotations

import os
import sys
from typing import Optional

import typer

from medcite.cli.common import app, err, handle_errors, make_service, out

#: medcite.review.ROLES, for help texts (tested equal): importing medcite.review loads the answer stack, which
#: `medcite --help` should not wait for
ROLES = ("reader", "editor", "reviewer", "admin")

user_app = typer.Typer(help="Accounts of the editorial board (web sign-in, API tokens).", no_args_is_help=True)
app.add_typer(user_app, name="user")


@app.command()
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0 for every interface)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    reload: bool = typer.Option(False, "--reload", help="Restart when the source changes (development)."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes (rate limits are per process)."),
    forwarded_allow_ips: Optional[str] = typer.Option(
        None, "--forwarded-allow-ips",
        help="Reverse proxies whose X-Forwarded-For/-Proto are trusted (comma-separated IPs, '*' for any); "
             "default: the web_trusted_proxies setting (none).",
    ),
) -> None:
    """Serve the web pages and the JSON API (docs/web.md, docs/api.md)."""
    with handle_errors():
        import uvicorn

        from medcite.settings import embed_threads_for

        svc = make_service(ctx)
        stats = svc.stats()  # fails early, with a clear message, when there is no store
        db = str(svc.settings.db)
        svc.close()
        if ctx.obj and ctx.obj.get("db"):
            os.environ["MEDCITE_DB"] = db  # worker processes build their settings from the environment
        if workers > 1 and not reload and not svc.settings.embed_threads:
            # N workers × every core each would oversubscribe the CPU when they embed at the same time
            os.environ["MEDCITE_EMBED_THREADS"] = str(embed_threads_for(workers))
        out.print(f"medcite: serving {stats['documents']:,} documents from {db} on http://{host}:{port}/")
        from medcite.web import server_options

        uvicorn.run(
            "medcite.web:factory", factory=True, host=host, port=port, reload=reload,
            workers=None if reload else workers, log_level="info",
            **server_options(svc.settings, forwarded_allow_ips),  # request deadlines, trusted proxies
        )


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="User name (no spaces)."),
    role: str = typer.Option(..., "--role", help=f"One of: {', '.join(ROLES)}."),
) -> None:
    """Create a user; the password is read from standard input (one line)."""
    with handle_errors():
        if sys.stdin.isatty():
            import getpass

            password = getpass.getpass("Password: ")
        else:
            password = sys.stdin.readline().rstrip("\r\n")
        from medcite.review import SYSTEM

        svc = make_service(ctx)
        board = svc.editorial
        first = not _has_users(board)
        user = board.add_user(name, role, password, actor=None if first else SYSTEM)
        out.print(f"created {user.role} {user.name}")


@user_app.command("token")
def user_token(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="User the token belongs to."),
    label: str = typer.Option("", "--label", help="What the token is for (shown in token lists)."),
) -> None:
    """Print a new API token for NAME (send it as 'Authorization: Bearer mct_…'); it is shown once."""
    with handle_errors():
        board = make_service(ctx).editorial
        token = board.create_token(board.get_user(name), label)
        sys.stdout.write(token + "\n")
        err.print("keep it secret: only its hash is stored, it cannot be shown again")


def _has_users(board: object) -> bool:
    from medcite.review import SYSTEM

    try:
        return bool(board.list_users(SYSTEM))  # type: ignore[attr-defined]
    except Exception:
        return True


# --- account management (as the local administrator) --------------------------------------------


def _read_password(prompt: str = "New password: ") -> str:
    """A password from the terminal (asked twice) or the first line of standard input — never an argument."""
    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass(prompt)
        if getpass.getpass("Repeat it: ") != password:
            from medcite.errors import ReviewError

            raise ReviewError("the two passwords differ", hint="run the command again")
        return password
    return sys.stdin.readline().rstrip("\r\n")


@user_app.command("list")
def user_list(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the users as JSON."),
) -> None:
    """List the accounts: name, role, active or disabled, created."""
    with handle_errors():
        import json

        from medcite.review import SYSTEM as LOCAL_ADMIN

        users = make_service(ctx).editorial.list_users(LOCAL_ADMIN)
        if as_json:
            rows = [{"name": u.name, "role": u.role, "disabled": u.disabled, "created_at": u.created_at}
                    for u in users]
            sys.stdout.write(json.dumps({"users": rows}, indent=2) + "\n")
            return
        if not users:
            err.print("no users yet — create the first with `medcite user add NAME --role admin`")
        for u in users:
            status = "disabled" if u.disabled else "active"
            sys.stdout.write(f"{u.name:<24} {u.role:<9} {status:<8} {u.created_at[:10]}\n")


@user_app.command("role")
def user_role(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="User name."),
    role: str = typer.Argument(..., help=f"New role: one of {', '.join(ROLES)}."),
) -> None:
    """Change a user's role (it applies to their open sessions at once)."""
    with handle_errors():
        from medcite.review import SYSTEM as LOCAL_ADMIN

        user = make_service(ctx).editorial.set_role(name, role, actor=LOCAL_ADMIN)
        out.print(f"{user.name} is now {user.role}")


@user_app.command("passwd")
def user_passwd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="User name."),
) -> None:
    """Set a user's password, read from standard input (one line) or asked twice; their sessions end."""
    with handle_errors():
        from medcite.review import SYSTEM as LOCAL_ADMIN

        password = _read_password()
        user = make_service(ctx).editorial.set_password(name, password, actor=LOCAL_ADMIN)
        out.print(f"password of {user.name} changed; their web sessions ended")


@user_app.command("disable")
def user_disable(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="User name."),
) -> None:
    """Disable an account: it cannot sign in, its sessions end and its API tokens stop working."""
    with handle_errors():
        from medcite.review import SYSTEM as LOCAL_ADMIN

        user = make_service(ctx).editorial.disable_user(name, actor=LOCAL_ADMIN)
        out.print(f"disabled {user.name}")


@user_app.command("enable")
def user_enable(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="User name."),
) -> None:
    """Enable a disabled account again (same password, same API tokens)."""
    with handle_errors():
        from medcite.review import SYSTEM as LOCAL_ADMIN

        user = make_service(ctx).editorial.enable_user(name, actor=LOCAL_ADMIN)
        out.print(f"enabled {user.name}")
