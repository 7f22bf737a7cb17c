"""Shared pieces of the CLI: the Typer app, consoles, settings and the one place errors are mapped."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional

import typer
from rich.console import Console
from rich.text import Text

from medcite.domain import DocKind
from medcite.errors import MedciteError

if TYPE_CHECKING:  # the service (and the answer, index and settings stacks it loads) is imported when a command
    from medcite.service import Medcite  # runs, not for `medcite --help`



def _usage_name(self: typer.core.TyperArgument) -> str:
    """An argument in a usage line as click writes it — ``QUERY``, ``PATHS...``, ``[PATH]`` — where typer 0.29
    writes ``{query}``."""
    name = (self.metavar or self.name or "").upper()
    if not self.required:
        name = f"[{name}]"
    return name + ("..." if self.nargs != 1 else "")


typer.core.TyperArgument._usage_display_name = _usage_name  # type: ignore[method-assign]

app = typer.Typer(
    help="medcite — cited answers to clinical questions from a medical corpus you own.",
    no_args_is_help=True,
    add_completion=False,
    # plain help and usage errors (click's own layout): the boxed rich layout costs ~0.1 s of imports per command
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

KIND_CHOICES = [k.value for k in DocKind]


@app.callback()
def _main(
    ctx: typer.Context,
    db: Optional[Path] = typer.Option(None, "--db", help="SQLite store file (default ./medcite.db; env MEDCITE_DB)."),
) -> None:
    """Global options shared by every command."""
    ctx.obj = {"db": db}


def make_service(ctx: typer.Context, **overrides: object) -> Medcite:
    from medcite.service import Medcite
    from medcite.settings import load_settings

    return Medcite(load_settings(db=ctx.obj.get("db") if ctx.obj else None, **overrides))


@contextmanager
def handle_errors() -> Iterator[None]:
    """Map medcite errors once: a one-line message on stderr and a non-zero exit."""
    try:
        yield
    except MedciteError as exc:
        err.print(f"[bold red]error:[/] {Text(str(exc))}")
        raise typer.Exit(exc.exit_code) from None


