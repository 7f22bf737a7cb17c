"""Answer commands: ask, schema."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Optional

import typer
from rich.text import Text

from medcite.cli.common import KIND_CHOICES, app, err, handle_errors, make_service, out

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
    with handle_errors():
        if audience not in ("clinician", "patient"):
            raise typer.BadParameter("audience must be clinician or patient")
        for kd in kind:
            if kd not in KIND_CHOICES:
                raise typer.BadParameter(f"unknown kind {kd!r}; choose from {', '.join(KIND_CHOICES)}")
        from medcite.index.lexical import Filters

        svc = make_service(ctx)
        filters = Filters(kinds=tuple(kind), year_min=since) if (kind or since) else None
        answer = svc.ask(question, audience=audience, k=k, filters=filters, llm=llm)
        from medcite.llm.marks import mark_flagged

        answer = mark_flagged(answer)  # unsupported LLM sentences carry a visible mark
        if as_json:
            sys.stdout.write(answer.model_dump_json(indent=2) + "\n")
        elif as_markdown:
            from medcite.answer.render import to_markdown

            sys.stdout.write(to_markdown(answer) + "\n")
        else:
            render_answer(answer)


def render_answer(answer: Answer) -> None:
    """A rich terminal view: headings, citation numbers, the labelled reference list."""
    from rich.markdown import Markdown
    from rich.panel import Panel

    out.print(Text(answer.question, style="bold underline"))
    style = "yellow" if answer.insufficient_evidence else "green"
    out.print(Panel(Markdown(answer.bottom_line), title="Bottom line", border_style=style, title_align="left"))
    for section in answer.sections:
        out.print(Text(section.heading, style="bold cyan"))
        out.print(Markdown(section.markdown))
        out.print()
    if answer.references:
        out.print(Text("References", style="bold cyan"))
        for r in answer.references:
            line = Text(f"[{r.n}] ", style="bold")
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
