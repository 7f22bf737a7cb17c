"""LLM commands: `medcite llm check`, `medcite eval mcq`, `medcite eval pubmedqa` (docs/llm.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from medcite.cli.common import app, err, handle_errors, make_service, out
from medcite.cli.evaluate import eval_app
from medcite.errors import ConfigError

llm_app = typer.Typer(help="The optional LLM: check the configured server.", no_args_is_help=True)
app.add_typer(llm_app, name="llm")


@llm_app.command("check")
def llm_check(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Does the configured server answer, how fast, and does it support JSON Schema output?"""
    with handle_errors():
        res = make_service(ctx).llm_check()
        if as_json:
            sys.stdout.write(json.dumps(res, indent=2) + "\n")
        else:
            status = "[green]ok[/]" if res["ok"] else "[red]failed[/]"
            out.print(f"LLM server {res['base_url'] or '(none)'} · model {res['model'] or '(none)'}: {status}")
            if res["ok"]:
                schema = {True: "yes", False: "no (plain JSON prompts are used)", None: "unknown"}[res["json_schema"]]
                out.print(f"latency {res['latency_ms']:.0f} ms · JSON Schema output: {schema}")
            else:
                err.print(f"[red]{res['error']}[/]")
        if not res["ok"]:
            raise typer.Exit(1)


def _bench(ctx: typer.Context, items: list[Any], retrieval: bool, k: int) -> dict[str, Any]:
    from medcite.evaluation.llm_bench import run

    svc = make_service(ctx)
    model = svc.chat_model()
    if model is None:
        raise ConfigError("no LLM configured — set MEDCITE_LLM_BASE_URL and MEDCITE_LLM_MODEL",
                          hint="see docs/llm.md")
    retrieve = (lambda q: [h.text for h in svc.retrieve(q, k).hits]) if retrieval else None
    return run(items, model, retrieve)


def _print(report: dict[str, Any], as_json: bool, title: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    table = Table(title=f"{title} · {report['model']} · retrieval {'on' if report['retrieval'] else 'off'}",
                  title_justify="left")
    for col in ("subset", "n", "accuracy", "unparsed", "errors"):
        table.add_column(col, justify="left" if col == "subset" else "right")
    for name, s in report["subsets"].items():
        table.add_row(name, str(s["n"]), f"{s['accuracy']:.3f}", str(s["unparsed"]), str(s["errors"]))
    if len(report["subsets"]) > 1:
        table.add_row("all (micro)", str(report["n"]), f"{report['accuracy']:.3f}", "", "")
        table.add_row("all (macro)", "", f"{report['macro_accuracy']:.3f}", "", "")
    out.print(table)


@eval_app.command("mcq")
def eval_mcq(
    ctx: typer.Context,
    file: Path = typer.Option(Path("../shared/eval/mirage_dev.json"), "--file", help="MIRAGE JSON file."),
    subset: list[str] = typer.Option([], "--subset", help="Only these subsets (medqa, medmcqa, pubmedqa, …)."),
    retrieval: bool = typer.Option(True, "--retrieval/--no-retrieval",
                                   help="Give the model passages retrieved with the question only."),
    k: int = typer.Option(8, "--k", min=1, max=32, help="Passages per question when retrieving."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Only the first N questions of each subset."),
    as_json: bool = typer.Option(False, "--json", help="Print the report (with per-question rows) as JSON."),
) -> None:
    """Multiple-choice accuracy of the LLM (MIRAGE / MedRAG protocol), per subset."""
    from medcite.evaluation.llm_bench import load_mirage

    with handle_errors():
        items = load_mirage(file, subset)
        if limit:
            by_subset: dict[str, list[Any]] = {}
            for item in items:
                by_subset.setdefault(item.subset, []).append(item)
            items = [i for group in by_subset.values() for i in group[:limit]]
        _print(_bench(ctx, items, retrieval, k), as_json, "MIRAGE")


@eval_app.command("pubmedqa")
def eval_pubmedqa(
    ctx: typer.Context,
    file: Path = typer.Option(Path("../shared/eval/pubmedqa_dev.jsonl"), "--file", help="PubMedQA JSON lines."),
    retrieval: bool = typer.Option(True, "--retrieval/--no-retrieval",
                                   help="Give the model passages retrieved with the question."),
    k: int = typer.Option(8, "--k", min=1, max=32, help="Passages per question when retrieving."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Only the first N questions."),
    as_json: bool = typer.Option(False, "--json", help="Print the report (with per-question rows) as JSON."),
) -> None:
    """Yes/no/maybe accuracy of the LLM on PubMedQA."""
    from medcite.evaluation.llm_bench import load_pubmedqa

    with handle_errors():
        items = load_pubmedqa(file)[: limit or None]
        _print(_bench(ctx, items, retrieval, k), as_json, "PubMedQA")
