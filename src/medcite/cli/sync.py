"""Sync commands: keep the store in step with PubMed (its files, or one E-utilities search)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.text import Text

from medcite.cli.common import app, err, handle_errors, make_service, out

if TYPE_CHECKING:
    from medcite.sync import SyncReport, SyncStep

sync_app = typer.Typer(help="Keep the store in step with a remote source (PubMed).", no_args_is_help=True)
app.add_typer(sync_app, name="sync")


@sync_app.command("pubmed")
def pubmed(
    ctx: typer.Context,
    base_url: Optional[str] = typer.Option(None, "--base-url", help="PubMed mirror holding pubmed/baseline/ and "
                                           "pubmed/updatefiles/ (default: sync_pubmed_url, NLM's server)."),
    download_dir: Optional[Path] = typer.Option(None, "--download-dir", help="Folder for downloads (default: "
                                                "sync_download_dir, or <db>.downloads/ beside the store)."),
    query: Optional[str] = typer.Option(None, "--query", help="Instead of the files, ingest the records this PubMed "
                                        "search finds, through E-utilities."),
    max_records: Optional[int] = typer.Option(None, "--max", min=1, max=10_000, help="With --query: ingest at most "
                                              "N records (default and most: 10,000, what E-utilities gives)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    embed: bool = typer.Option(True, "--embed/--no-embed",
                               help="Then embed new passages for dense retrieval (interruptible; search works meanwhile)."),
) -> None:
    """Download, verify and ingest PubMed's baseline and update files that the store does not have yet.

    Files are applied in order (baseline, then updates by number); each finished file is recorded in the store,
    so a re-run does nothing new and an interrupted run resumes at the file it stopped in."""
    if max_records is not None and query is None:
        raise typer.BadParameter("--max applies to --query only", param_hint="--max")
    with handle_errors():
        svc = make_service(ctx, sync_download_dir=download_dir)
        step = None if as_json else _print_step
        if query is not None:
            report = svc.sync_pubmed_query(query, max_records or 10_000, on_step=step)
        else:
            report = svc.sync_pubmed(base_url, on_step=step)
        _print_report(report, as_json)
        if embed and svc.settings.embedder != "none" and (report.total("added") or report.total("updated")
                                                          or report.total("deleted") or svc.dense_lags()):
            from medcite.cli.corpus import _run_embed

            _run_embed(svc, quiet=as_json)
        if report.error:
            raise typer.Exit(1)


def _print_step(step: SyncStep) -> None:
    mark = "[red]✗[/] " if step.step == "failed" else ""
    err.print(f"{mark}{Text(step.line())}", highlight=False, soft_wrap=True)


def _print_report(report: SyncReport, as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(report.to_dict()))
        return
    d = report.to_dict()
    if report.source == "pubmed-query":
        head = f"{report.ingested:,} of {report.listed:,} batches ingested"
    else:
        head = (f"{report.listed:,} files listed · {report.already_done:,} already ingested · "
                f"{report.ingested:,} ingested now · {report.downloaded:,} downloaded")
    out.print(f"[bold]{head}[/] · {d['records']:,} records ([green]{d['added']:,} added[/], {d['updated']:,} updated, "
              f"{d['unchanged']:,} unchanged) · {d['deleted']:,} deleted · {report.seconds:.1f} s", highlight=False,
              soft_wrap=True)
    for f in report.files:
        for line in f.record_errors:
            err.print(f"[yellow]![/] {Text(line)}")
    if report.error:
        err.print(f"[bold red]stopped:[/] {Text(report.error)}", soft_wrap=True)
        err.print("everything before this file is kept; run the same command again to resume", highlight=False)
