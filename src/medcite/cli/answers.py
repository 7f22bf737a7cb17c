"""Answer commands: ask, schema."""

from __future__ import annotations

import json
import re
import sys
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from medcite.cli.common import KIND_CHOICES, app, err, gc_paused, handle_errors, make_service, out

if TYPE_CHECKING:  # imported where used, so that `medcite --help` stays fast
    from medcite.answer.schema import Answer

schema_app = typer.Typer(help="Print JSON Schemas of medcite's output objects.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")


@app.command()
def ask(
    ctx: typer.Context,
    question: str = typer.Argument(..., help="A clinical question."),
    audience: str = typer.Option("clinician", "--audience", help="clinician or patient."),
    as_json: bool = typer.Option(False, "--json", help="Print the Answer object as JSON (docs/answer-schema.md)."),
    as_markdown: bool = typer.Option(False, "--markdown", help="Print the answer as Markdown."),
    k: Optional[int] = typer.Option(None, "--k", min=1, max=200,
                                    help="Passages retrieved before composing (default 50, as the web app and "
                                         "`medcite eval answers` use)."),
    kind: list[str] = typer.Option([], "--kind", help=f"Only cite these kinds: {', '.join(KIND_CHOICES)}."),
    since: Optional[int] = typer.Option(None, "--since", help="Only evidence from this year on."),
    llm: Optional[bool] = typer.Option(None, "--llm/--no-llm",
                                       help="Let the configured LLM write the answer (default: MEDCITE_LLM_DEFAULT)."),
) -> None:
    """Answer a question with cited sentences of the corpus."""
    with handle_errors(), gc_paused():
        if audience not in ("clinician", "patient"):
            raise typer.BadParameter("audience must be clinician or patient")
        for kd in kind:
            if kd not in KIND_CHOICES:
                raise typer.BadParameter(f"unknown kind {kd!r}; choose from {', '.join(KIND_CHOICES)}")
        from medcite.index.lexical import Filters

        svc = make_service(ctx)
        filters = Filters(kinds=tuple(kind), year_min=since) if (kind or since) else None
        # (a one-off question on the command line is not recorded for "related questions": only the web app,
        # whose readers share them, records asked questions — redacted)
        answer = svc.ask(question, audience=audience, k=k, filters=filters, llm=llm, remember=False)
        from medcite.llm.marks import mark_flagged

        answer = mark_flagged(answer)  # unsupported LLM sentences carry a visible mark
        if as_json:
            sys.stdout.write(answer.model_dump_json(indent=2) + "\n")
        elif as_markdown:
            from medcite.answer.render import to_markdown

            sys.stdout.write(to_markdown(answer) + "\n")
        else:
            render_answer(answer)


_BOLD = re.compile(r"\*\*(.+?)\*\*")


def _inline(line: str) -> Text:
    text = Text()
    pos = 0
    for m in _BOLD.finditer(line):
        text.append(line[pos:m.start()])
        text.append(m.group(1), style="bold")
        pos = m.end()
    text.append(line[pos:])
    return text


def markdown_view(markdown: str) -> Group:
    """The composer's Markdown subset — paragraphs, ``- `` bullets, ``**bold**`` — laid out for the terminal,
    bullets with a hanging indent.

    Answers use nothing else, so a full Markdown renderer (and its ~0.1 s of imports per `medcite ask`) is not
    needed; anything else is shown as written.
    """
    parts: list[Text | Table] = []
    grid: Table | None = None
    for line in markdown.strip().splitlines():
        if line.startswith(("- ", "* ")):
            if grid is None:
                grid = Table.grid(padding=(0, 1))
                grid.add_column(width=3, justify="right")
                grid.add_column()
                parts.append(grid)
            grid.add_row(Text("•"), _inline(line[2:]))  # (Text: a str cell is read as markup, see render_answer)
            continue
        grid = None
        parts.append(_inline(line))
    return Group(*parts)


def render_answer(answer: Answer) -> None:
    """A rich terminal view: headings, citation numbers, the labelled reference list (with a RETRACTED, ERRATUM or
    EXPRESSION OF CONCERN mark in words before a reference that carries one)."""
    from rich.panel import Panel

    from medcite.answer.notices import notice_label

    out.print(Text(answer.question, style="bold underline"))
    style = "yellow" if answer.insufficient_evidence else "green"
    # (a Text title: a str one is read as markup, which loads Rich's emoji table, ~5 ms of every answer)
    out.print(Panel(markdown_view(answer.bottom_line), title=Text("Bottom line"), border_style=style,
                    title_align="left"))
    for section in answer.sections:
        out.print(Text(section.heading, style="bold cyan"))
        out.print(markdown_view(section.markdown))
        out.print()
    if answer.references:
        out.print(Text("References", style="bold cyan"))
        for r in answer.references:
            line = Text(f"[{r.n}] ", style="bold")
            if r.notice:
                line.append(f"{notice_label(r.notice).upper()} ", style="bold white on red")
            line.append(f"{r.label}", style="magenta")
            line.append(f" · {r.title}")
            tail = " · ".join(str(x) for x in (r.source, r.year) if x)
            if tail:
                line.append(f" · {tail}", style="dim")
            line.append(f" · {r.doc_id}", style="dim")
            out.print(line)
    if answer.related_reading:
        out.print(Text("\nRelated reading", style="bold cyan"))
        for d in answer.related_reading:
            out.print(Text(f"  {d.label}: {d.title} ({d.doc_id})"))
    if answer.related_questions:
        out.print(Text("\nRelated questions", style="bold cyan"))
        for q in answer.related_questions:
            out.print(Text(f"  • {q}"))
    grade = f"reading grade {answer.reading_grade:.1f} · " if answer.reading_grade is not None else ""
    out.print(Text(f"\n{grade}{answer.composer} · {answer.timings_ms.get('total', 0):.0f} ms", style="dim"))
    err.print(Text(answer.disclaimer, style="dim italic"))


@schema_app.command("answer")
def schema_answer() -> None:
    """Print the JSON Schema of the Answer object."""
    from medcite.answer.schema import Answer

    sys.stdout.write(json.dumps(Answer.model_json_schema(), indent=2) + "\n")
