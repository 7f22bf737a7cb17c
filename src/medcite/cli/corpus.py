"""Corpus commands: ingest, demo, search, stats, reindex."""

from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Optional

import typer
from rich.markup import escape
from rich.text import Text

from medcite.cli.common import KIND_CHOICES, handle_errors, make_service, app, err, out

if TYPE_CHECKING:
    from medcite.domain import Hit, IngestReport

# --- ingest ---------------------------------------------------------------------------------

#: seconds between two plain progress lines when stderr is not a terminal (a log, CI, `make demo | tee`)
PLAIN_PROGRESS_EVERY = 5.0


class PlainProgress:
    """Progress as plain text lines on stderr, at most one every :data:`PLAIN_PROGRESS_EVERY` seconds."""

    def __init__(self, what: str, total: int | None = None) -> None:
        self.what, self.total = what, total
        self.files = self.docs = 0
        self.started = self.last = time.perf_counter()

    def ingest(self, event: str, n: int, path: Path | None) -> None:
        """The ingest pipeline's progress callback."""
        if event == "docs":
            self.docs += n
        elif event == "done":
            self.files += 1
        if self._due():
            elapsed = time.perf_counter() - self.started
            sys.stderr.write(f"{self.what}: {self.files:,}/{self.total or 0:,} files · {self.docs:,} documents · "
                             f"{self.docs / elapsed:,.0f} documents/s · {elapsed:.0f} s\n")
            sys.stderr.flush()

    def embed(self, done: int, total: int) -> None:
        """The embedder's progress callback."""
        if self._due():
            elapsed = time.perf_counter() - self.started
            sys.stderr.write(f"{self.what}: {done:,}/{total:,} passages · {done / elapsed:,.0f} passages/s · "
                             f"{elapsed:.0f} s\n")
            sys.stderr.flush()

    def _due(self) -> bool:
        now = time.perf_counter()
        if now - self.last < PLAIN_PROGRESS_EVERY:
            return False
        self.last = now
        return True


@contextmanager
def _ingest_progress(total_files: int, enabled: bool):
    if not enabled:
        yield None
        return
    if not err.is_terminal:
        yield PlainProgress("ingest", total_files).ingest
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn

    class _DocsPerSecond(ProgressColumn):
        def render(self, task) -> Text:  # type: ignore[override]
            docs = task.fields.get("docs", 0)
            elapsed = task.elapsed or 0.0
            rate = docs / elapsed if elapsed > 0 else 0.0
            return Text(f"{docs:,} docs · {rate:,.0f} docs/s", style="cyan")

    progress = Progress(
        TextColumn("[bold]ingest[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        _DocsPerSecond(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[file]}", style="dim"),
        console=err,
        transient=True,
    )
    with progress:
        task = progress.add_task("ingest", total=total_files, docs=0, file="")

        def update(event: str, n: int, path: Path | None) -> None:
            if event == "file":
                progress.update(task, file=path.name if path else "")
            elif event == "docs":
                progress.update(task, docs=progress.tasks[0].fields["docs"] + n)
            elif event == "done":
                progress.advance(task)

        yield update


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def problems(report: IngestReport) -> str:
    """The report's error lines counted the way they are: whole files not stored, single records skipped."""
    records = len(report.errors) - report.files_failed
    parts = [_plural(report.files_failed, "file") + " not ingested"] if report.files_failed else []
    if records > 0:
        parts.append(_plural(records, "record") + " skipped")
    return " and ".join(parts) or "no errors"


def _print_report(report: IngestReport, as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(report.to_dict()))
    for line in report.errors:
        err.print(f"[red]✗[/] {Text(line)}")
    if not as_json:
        rate = report.documents / report.seconds if report.seconds else 0.0
        out.print(
            f"[bold]{_plural(report.files, 'file')}[/] · [green]{report.added:,} added[/] · {report.updated:,} updated · "
            f"{report.deleted:,} deleted · {report.unchanged:,} unchanged · "
            f"{'[red]' if report.errors else ''}{problems(report)}{'[/]' if report.errors else ''} "
            f"· {report.passages:,} passages · {report.seconds:.1f} s ({rate:,.0f} docs/s)"
        )


@app.command()
def ingest(
    ctx: typer.Context,
    paths: list[str] = typer.Argument(..., help="Files, folders or glob patterns (.gz is read transparently)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    embed: bool = typer.Option(True, "--embed/--no-embed",
                               help="Then embed new passages for dense retrieval (interruptible; search works meanwhile)."),
    ray: bool = typer.Option(False, "--ray", help="Parse (and then embed) on Ray workers: a local Ray cluster, or "
                             "the one at --ray-address; this process stores (needs medcite[ray])."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", metavar="ADDRESS",
                                              help="Ray cluster to join: its head's HOST:6379 (auto on a cluster machine); "
                                              "implies --ray (env MEDCITE_RAY_ADDRESS)."),
    ray_workers: Optional[int] = typer.Option(None, "--ray-workers", min=1,
                                              help="Files parsed at once, then embedding workers (default: one per "
                                              "CPU of the cluster)."),
) -> None:
    """Ingest files into the evidence store (idempotent; one transaction per file)."""
    with handle_errors():
        svc = make_service(ctx, ray_address=ray_address, ray_workers=ray_workers)
        ray = ray or ray_address is not None
        from medcite.ingest.pipeline import expand_paths

        files, _ = expand_paths(paths)
        with _ingest_progress(len(files), svc.settings.progress) as progress:
            report = svc.ingest(paths, progress=progress, ray=ray)
        _print_report(report, as_json)
        changed = report.added or report.updated or report.deleted
        if embed and svc.settings.embedder != "none" and (changed or svc.dense_lags()):
            _run_embed(svc, quiet=as_json, ray=ray)
        if report.errors:
            raise typer.Exit(1)


def _run_embed(svc, limit: int | None = None, quiet: bool = False, ray: bool = False) -> None:
    """Embed pending passages with a progress bar; Ctrl-C keeps what is done (search never waits)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    enabled = svc.settings.progress and err.is_terminal and not quiet
    plain = PlainProgress("embed") if svc.settings.progress and not err.is_terminal and not quiet else None
    progress = Progress(TextColumn("[bold]embed[/]"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[rate]}", style="cyan"), TimeElapsedColumn(),
                        console=err, transient=True, disable=not enabled)
    started = time.perf_counter()
    try:
        with progress:
            task = progress.add_task("embed", total=None, rate="")

            def update(done: int, total: int) -> None:
                rate = done / max(1e-6, time.perf_counter() - started)
                progress.update(task, completed=done, total=total, rate=f"{rate:,.0f} passages/s")
                if plain is not None:
                    plain.embed(done, total)

            res = svc.embed(progress=update, limit=limit, ray=ray)
    except KeyboardInterrupt:
        err.print("[yellow]dense indexing interrupted — what was embedded is saved; "
                  "run `medcite embed` to continue (lexical search works meanwhile)[/]")
        return
    if not quiet:
        out.print(f"dense index: {res['embedded']:,} passages embedded, {res['removed']:,} removed "
                  f"in {res['seconds']} s ({res['passages_per_s']} passages/s)")


@app.command()
def embed(
    ctx: typer.Context,
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Embed at most N pending passages."),
    status: bool = typer.Option(False, "--status", help="Only show how far dense indexing has got."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Drop the vector index (missing, corrupt or from another "
                                 "embedder) and embed every passage again."),
    ray: bool = typer.Option(False, "--ray", help="Embed on Ray workers (one ONNX thread each; a GPU each with "
                             "ray_gpus_per_worker): a local Ray cluster, or the one at --ray-address; this process "
                             "writes the vectors (needs medcite[ray])."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", metavar="ADDRESS",
                                              help="Ray cluster to join: its head's HOST:6379 (auto on a cluster machine); "
                                              "implies --ray (env MEDCITE_RAY_ADDRESS)."),
    ray_workers: Optional[int] = typer.Option(None, "--ray-workers", min=1,
                                              help="Embedding workers (default: one per CPU of the cluster)."),
) -> None:
    """Embed new passages for dense retrieval (incremental; interrupt any time)."""
    with handle_errors():
        svc = make_service(ctx, ray_address=ray_address, ray_workers=ray_workers)
        ray = ray or ray_address is not None
        if rebuild:
            svc.drop_vectors()
        if status:
            st = svc.dense_status()
            sys.stdout.write(json.dumps(st, indent=2) + "\n")
            return
        _run_embed(svc, limit=limit, ray=ray)


@app.command()
def demo(
    ctx: typer.Context,
    corpus: Optional[Path] = typer.Option(None, "--corpus", help="Corpus folder (default ../shared/corpus)."),
    embed: bool = typer.Option(False, "--embed/--no-embed",
                               help="Also build the dense index now (≈25 min for the shared corpus on 2 cores)."),
) -> None:
    """Ingest the demo corpus into a fresh database and show what to try next."""
    with handle_errors():
        svc = make_service(ctx)
        corpus_dir = corpus or svc.settings.corpus
        from medcite.ingest.pipeline import expand_paths

        files, _ = expand_paths([corpus_dir])
        out.print(f"Building a fresh evidence store [bold]{svc.settings.db}[/] from [bold]{corpus_dir}[/] …")
        with _ingest_progress(len(files), svc.settings.progress) as progress:
            report = svc.demo(corpus_dir, progress=progress)
        _print_report(report, False)
        q = "at what age should colorectal cancer screening start"
        res = svc.search(q, k=20)
        out.print(f"\n[bold]Try it:[/] medcite search \"{q}\"")
        for n, h in enumerate(first_per_document(res.hits, 3), 1):
            out.print(f"  {n}. {escape(f'[{h.kind}]')} {escape(h.title)} ({escape(h.doc_id)})")
        answer = svc.ask("At what age should colorectal cancer screening start?", remember=False)
        out.print(f"\n[bold]Ask:[/] medcite ask \"{answer.question}\"")
        out.print(Text(f"  {answer.bottom_line}"))
        if embed:
            _run_embed(svc)
        else:
            out.print("\nSearch and answers work now with lexical retrieval. For hybrid (lexical + dense) retrieval run "
                      "[bold]medcite embed[/] (interruptible; ≈25 min for this corpus on 2 cores).")
        out.print("\nNext: [bold]medcite ask \"QUESTION\"[/] · [bold]medcite serve[/] · [bold]medcite stats[/] · "
                  "[bold]medcite --help[/]")
        if report.errors:
            err.print(f"[yellow]{problems(report)} (see above); everything else is in the store.[/]")


def first_per_document(hits: Iterable[Hit], n: int) -> list[Hit]:
    """The best hit of each of the first *n* documents (a search ranks passages; one document has many)."""
    seen: set[str] = set()
    out_: list[Hit] = []
    for h in hits:
        if h.doc_id not in seen:
            seen.add(h.doc_id)
            out_.append(h)
            if len(out_) == n:
                break
    return out_


# --- search & stats -------------------------------------------------------------------------


@app.command()
def search(
    ctx: typer.Context,
    query: str = typer.Argument(..., help="Words or a question; operators and punctuation are treated as text."),
    k: int = typer.Option(10, "--k", min=1, max=1000, help="Number of hits."),
    kind: list[str] = typer.Option([], "--kind", help=f"Only these kinds: {', '.join(KIND_CHOICES)}."),
    since: Optional[int] = typer.Option(None, "--since", help="Only documents from this year on."),
    until: Optional[int] = typer.Option(None, "--until", help="Only documents up to this year."),
    source: list[str] = typer.Option([], "--source", help="Only sources containing this text."),
    as_json: bool = typer.Option(False, "--json", help="Print hits as JSON (see docs/cli.md)."),
    explain: bool = typer.Option(False, "--explain", help="Show how each hit was found, stage by stage."),
) -> None:
    """Search the evidence store."""
    with handle_errors():
        for kd in kind:
            if kd not in KIND_CHOICES:
                raise typer.BadParameter(f"unknown kind {kd!r}; choose from {', '.join(KIND_CHOICES)}")
        from medcite.index.lexical import Filters

        svc = make_service(ctx)
        filters = Filters(kinds=tuple(kind), year_min=since, year_max=until, sources=tuple(source))
        res = svc.search(query, k=k, filters=filters)
        if as_json:
            payload = [h.to_dict() for h in res.hits] if not explain else res.to_dict() | {"explain": res.explain}
            sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
            return
        if res.reason:
            err.print(f"[yellow]{Text(res.reason)}[/]")
        if explain:
            out.print(f"[dim]terms:[/] {Text(', '.join(res.terms))}")
            for key, value in res.explain.items():
                out.print(f"[dim]{key}:[/] {Text(str(value))}")
            out.print(f"[dim]timings (ms):[/] {res.timings_ms}")
        for h in res.hits:
            head = Text(f"{h.rank:>2}. ", style="bold")
            head.append(f"[{h.kind}] ", style="cyan")
            head.append(h.title or "(untitled)", style="bold")
            head.append(f"  {h.source} {h.year or ''} · {h.passage_id}", style="dim")
            out.print(head)
            if explain:
                out.print(Text("    " + json.dumps(dict(h.stages)), style="magenta"))
            snippet = h.text if len(h.text) < 400 else h.text[:400] + "…"
            out.print(Text(f"    {h.heading}: {snippet}" if h.heading else f"    {snippet}"))


@app.command()
def stats(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Counts of documents and passages by kind, source and status."""
    with handle_errors():
        data = make_service(ctx).stats()
        if as_json:
            sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
            return
        from rich.table import Table

        out.print(f"[bold]{data['documents']:,}[/] documents · [bold]{data['passages']:,}[/] passages · {data['db']}")
        for title, key in (("by kind", "documents_by_kind"), ("by status", "documents_by_status"),
                           ("by source (top 15)", "documents_by_source")):
            table = Table(title=f"Documents {title}", show_header=False, title_justify="left")
            for name, count in list(data[key].items())[:15]:
                table.add_row(Text(name or "(none)"), f"{count:,}")
            out.print(table)


@app.command()
def reindex(ctx: typer.Context) -> None:
    """Rebuild passages and indexes after a chunker or embedder change."""
    with handle_errors():
        started = time.perf_counter()
        res = make_service(ctx).reindex()
        out.print(f"Re-indexed {res['documents']:,} documents into {res['passages']:,} passages "
                  f"in {time.perf_counter() - started:.1f} s")

