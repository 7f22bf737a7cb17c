"""The documentation keeps up with the code: every CLI command is documented and has help text; every setting
is in docs/configuration.md (with the default the code uses)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest
import typer
from typer.testing import CliRunner

from medcite.cli import app
from medcite.settings import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"

#: where each command belongs; everything not listed belongs to docs/cli.md.
#: (Any of cli.md, web.md and llm.md counts as documenting it.)
DOC_FOR = {
    "medcite serve": "web.md",
    "medcite user": "web.md",
    "medcite user add": "web.md",
    "medcite user token": "web.md",
    "medcite llm": "llm.md",
    "medcite llm check": "llm.md",
    "medcite eval mcq": "llm.md",
    "medcite eval pubmedqa": "llm.md",
}
COMMAND_DOCS = ("cli.md", "web.md", "llm.md")


def _walk(cmd: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, cmd
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        yield from _walk(sub, (*path, name))


def _commands() -> list[tuple[tuple[str, ...], Any]]:
    return [(p, c) for p, c in _walk(typer.main.get_command(app), ()) if not getattr(c, "hidden", False)]


COMMANDS = _commands()
NAMES = [" ".join(("medcite", *p)) for p, _ in COMMANDS]


def test_the_walk_finds_the_known_commands() -> None:
    for name in ("medcite ask", "medcite search", "medcite eval retrieval", "medcite eval answers", "medcite schema answer",
                 "medcite llm check", "medcite user add", "medcite serve", "medcite embed", "medcite reindex"):
        assert name in NAMES, NAMES


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=NAMES)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    cmd = dict(COMMANDS)[path]
    text = (cmd.help or cmd.short_help or "").strip()
    assert text, f"`{' '.join(('medcite', *path))}` has no help text"
    res = CliRunner().invoke(app, [*path, "--help"])
    assert res.exit_code == 0, res.output
    assert "Usage" in res.output
    assert text.splitlines()[0][:30] in " ".join(res.output.split())
    for param in getattr(cmd, "params", []):
        if getattr(param, "hidden", False) or param.param_type_name != "option" or param.name == "help":
            continue
        assert (getattr(param, "help", None) or "").strip(), f"`{' '.join(('medcite', *path))}` option {param.opts} has no help"


def _doc_text(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def test_every_command_is_documented() -> None:
    docs = {name: " ".join(_doc_text(name).split()) for name in COMMAND_DOCS}
    missing = []
    for full in NAMES[1:]:  # the root itself is the whole of cli.md
        pattern = re.compile(r"(?<![\w-])" + re.escape(full) + r"(?![\w-])")
        if not any(pattern.search(text) for text in docs.values()):
            missing.append(f"{full} (belongs in docs/{DOC_FOR.get(full, 'cli.md')})")
    assert not missing, "commands missing from the docs:\n" + "\n".join(missing)


def test_doc_for_names_real_commands() -> None:
    stale = [n for n in DOC_FOR if n not in NAMES]
    assert not stale, f"DOC_FOR lists commands that no longer exist: {stale}"


def _config_rows() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for line in _doc_text("configuration.md").splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        m = re.fullmatch(r"`([a-z_0-9]+)`", cells[0]) if cells else None
        if m:
            rows[m.group(1)] = cells
    return rows


def test_every_setting_is_in_configuration_md() -> None:
    text = _doc_text("configuration.md")
    missing = [name for name in Settings.model_fields if f"`{name}`" not in text]
    assert not missing, "settings missing from docs/configuration.md: " + ", ".join(missing)


def _doc_default(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    return None


def test_documented_defaults_match_the_code() -> None:
    """Where configuration.md states a plain default (one `literal`), it is the default the code uses."""
    rows = _config_rows()
    wrong = []
    for name, field in Settings.model_fields.items():
        cells = rows.get(name)
        if not cells or len(cells) < 3:
            continue
        m = re.fullmatch(r"`([^`]*)`", cells[2])
        code = _doc_default(field.default)
        if not m or code is None:
            continue
        doc = m.group(1)
        same = doc == code
        try:
            same = same or float(doc.replace("_", "")) == float(code)
        except ValueError:
            pass
        if not same:
            wrong.append(f"{name}: docs say {doc!r}, the code uses {code!r}")
    assert not wrong, "docs/configuration.md defaults differ from settings.py:\n" + "\n".join(wrong)
