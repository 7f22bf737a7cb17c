"""Evaluation commands: `medcite eval retrieval | answers`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from medcite.cli.common import app, err, handle_errors, make_service, out

eval_app = typer.Typer(help="Evaluate retrieval and answers on benchmark files.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


@eval_app.command("retrieval")
def eval_retrieval(
    ctx: typer.Context,
    dataset: str = typer.Option(..., "--dataset", help="bioasq or pubmedqa (file layouts in docs/evaluation.md)."),
    queries: Path = typer.Option(..., "--queries", help="Questions file (JSON lines)."),
    corpus: Optional[Path] = typer.Option(None, "--corpus", help="Corpus file (default: the shared one)."),
    k: int = typer.Option(10, "--k", min=1, max=100, help="Cut-off for nDCG and MRR."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    run_out: Optional[Path] = typer.Option(None, "--run-out", help="Write a TREC run file."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write a PNG of recall@k curves."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Only the first N questions."),
    retriever: list[str] = typer.Option([], "--retriever", help="Only these: lexical, dense, hybrid; add +rerank "
                                        "(hybrid+rerank) to reorder the top 20 with the answer model."),
) -> None:
    """Score lexical, dense and hybrid retrieval side by side."""
    from medcite.evaluation.retrieval import plot_curves, write_trec

    with handle_errors():
        svc = make_service(ctx)
        chosen = tuple(retriever) or ("lexical", "dense", "hybrid")
        for r in chosen:
            if r.removesuffix("+rerank") not in ("lexical", "dense", "hybrid"):
                raise typer.BadParameter(f"unknown retriever {r!r}")
        summary, results = svc.eval_retrieval(dataset, queries, corpus, k=k, retrievers=chosen, limit=limit)
        if run_out:
            write_trec(results, run_out)
        if plot:
            plot_curves(results, plot, f"{dataset}: recall@k ({summary['n_queries']} questions)")
        if as_json:
            sys.stdout.write(json.dumps(summary, indent=2) + "\n")
            return
        names = list(summary["retrievers"])
        table = Table(title=f"{dataset} · {summary['n_queries']} questions", title_justify="left")
        table.add_column("metric")
        for n in names:
            table.add_column(n, justify="right")
        metrics = list(next(iter(summary["retrievers"].values())).keys()) if names else []
        for m in metrics:
            table.add_row(m, *[f"{summary['retrievers'][n][m]:.4g}" for n in names])
        out.print(table)
        if "dense" not in names:
            err.print("[yellow]dense retrieval unavailable: no embedder configured[/]")


@eval_app.command("answers")
def eval_answers(
    ctx: typer.Context,
    questions: Path = typer.Option(..., "--questions", help="Questions with gold documents and key facts (JSON lines)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    audience: Optional[str] = typer.Option(None, "--audience", help="Override every question's audience."),
) -> None:
    """Answer quality: gold citations, key facts, abstention, citation validity, latency."""
    with handle_errors():
        report = make_service(ctx).eval_answers(questions, audience=audience)
        if as_json:
            sys.stdout.write(json.dumps(report, indent=2) + "\n")
            return
        table = Table(title=f"answers · {report['n_questions']} questions "
                            f"({report['n_answerable']} answerable)", title_justify="left")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for key in ("gold_cited", "key_facts", "fact_in_bottom_line", "abstention", "false_abstention",
                    "citation_validity",
                    "p50_ms", "p95_ms"):
            table.add_row(key, f"{report[key]:.4g}")
        for aud, grade in report["reading_grade"].items():
            src = report["source_reading_grade"][aud]
            table.add_row(f"reading grade ({aud})", "—" if grade is None else f"{grade:.1f}")
            table.add_row(f"  … of the passages quoted ({aud})", "—" if src is None else f"{src:.1f}")
        out.print(table)
        for row in report["per_question"]:
            if "error" in row:
                err.print(f"[red]{row['qid']}: {row['error']}[/]")
            elif (row["answerable"] and (not row["cites_gold"] or row["abstained"])) or \
                    (not row["answerable"] and not row["abstained"]) or not row["valid"]:
                err.print(f"[yellow]{row['qid']}[/]: abstained={row['abstained']} cites_gold={row['cites_gold']} "
                          f"valid={row['valid']} cited={row['cited'][:4]}")
