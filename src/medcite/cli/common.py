"""Shared pieces of the CLI: the Typer app, consoles, settings and the one place errors are mapped."""

from __future__ import annotations

import gc
import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Optional, get_args, get_origin

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


class _PlainParam:
    """Typer's coercion of one parameter without pydantic where the value needs none: a string for a ``str``,
    strings for a ``list[str]``, a string for a ``Path`` (then typer's own path checks); no value at all.

    typer 0.29 builds a pydantic ``TypeAdapter`` for every parameter of the command that runs, given or not
    (~0.1 s of imports and schema building per `medcite ask`). Those cases give the same values as typer's
    adapters; any other annotation or value (an int, a bool from the environment, bytes …) goes to the
    adapter typer builds, when it is first needed."""

    __slots__ = ("descriptor", "kind", "path_type", "_typer_param")

    def __init__(self, descriptor: Any, kind: str, path_type: Any = None) -> None:
        self.descriptor, self.kind, self.path_type = descriptor, kind, path_type
        self._typer_param: Any = None

    def _typer(self) -> Any:
        if self._typer_param is None:
            self._typer_param = _build_runtime_param(self.descriptor)
        return self._typer_param

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        many = param.multiple or param.nargs == -1
        if value is None:
            return () if many else None
        if self.kind == "str" and not many and type(value) is str:
            return value
        if self.kind == "strs" and many and isinstance(value, (list, tuple)) and all(type(v) is str for v in value):
            return list(value)
        if self.kind == "path" and not many and type(value) is str:
            return _coerce_cli_path(self.path_type(value), self.descriptor.parameter_info, path_type=self.path_type,
                                    param=param, ctx=ctx)
        return self._typer().coerce(value, param=param, ctx=ctx)

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        return self._typer()._coerce_value(value, param=param, ctx=ctx)


def _plain_runtime_param(self: Any) -> Any:
    """``_TyperParameter.get_runtime_param`` with :class:`_PlainParam` in front of typer's adapters."""
    if self._runtime_param is None:
        desc = self.type_descriptor
        info, ann = desc.parameter_info, desc.annotation
        kind, path_type = "other", None
        if info.parser is None and desc.file_annotation is None:
            if ann is str:
                kind = "str"
            elif get_origin(ann) is list and get_args(ann) == (str,):
                kind = "strs"
            elif isinstance(ann, type) and issubclass(ann, Path):
                path_type = info.path_type or ann
                kind = "path" if isinstance(path_type, type) and issubclass(path_type, Path) else "other"
        self._runtime_param = _PlainParam(desc, kind, path_type)
    return self._runtime_param


try:  # typer is pinned (pyproject.toml); should its internals move, typer's own coercion runs unchanged
    from typer._coercion import build_runtime_param as _build_runtime_param
    from typer._param_types import coerce_cli_path as _coerce_cli_path

    if callable(getattr(typer.core._TyperParameter, "get_runtime_param", None)):
        typer.core._TyperParameter.get_runtime_param = _plain_runtime_param  # type: ignore[method-assign]
except ImportError:  # pragma: no cover
    pass

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
    # medcite uses no pydantic plugins; looking for them reads every installed package's entry points (~30 ms of
    # each command's start). PYDANTIC_DISABLE_PLUGINS set by the user (even empty) is kept.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    ctx.obj = {"db": db}


def make_service(ctx: typer.Context, **overrides: object) -> Medcite:
    from medcite.service import Medcite
    from medcite.settings import load_settings

    return Medcite(load_settings(db=ctx.obj.get("db") if ctx.obj else None, **overrides))


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a one-shot command (`medcite ask`) imports its stack and answers,
    back on after it. Those imports and the answer create few reference cycles but ~10⁶ objects, and the
    collections they trigger walk every object already alive: ~0.1 s of an `ask`. What is alive at the end is
    frozen (``gc.freeze``) before the collector is back on, else its first collection would walk all of it
    (~40 ms, just before the process exits)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.enable()


@contextmanager
def handle_errors() -> Iterator[None]:
    """Map medcite errors once: a one-line message on stderr and a non-zero exit."""
    try:
        yield
    except MedciteError as exc:
        line = Text("error:", style="bold red")
        line.append(f" {exc}")  # as text: brackets in a message ("medcite[ray]") are not markup
        err.print(line)
        raise typer.Exit(exc.exit_code) from None


