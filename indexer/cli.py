"""`citeline index [PATH]` (registered by `service/cli.py`) and `python -m indexer [PATH]`.

Errors Citeline raises on purpose print one line and exit 1; only bugs show a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from indexer import locking
from indexer.embedding.factory import build_embedder
from indexer.kernel.errors import CitelineError
from indexer.kernel.settings import Settings, get_settings
from indexer.runtime import configure_offline
from indexer.store.chroma_client import ChromaConnection
from indexer.sync import SyncReport, sync_corpus


def print_error(message: str) -> None:
    """The one CLI error line, on stderr: `error: <message>` (every `citeline` command uses it)."""
    Console(stderr=True, soft_wrap=True).print(
        f"[red]error:[/red] {escape(message)}", highlight=False
    )


def _summary(report: SyncReport, console: Console) -> None:
    table = Table(title=f"Indexed into {report.collection!r} with {report.embed_model}")
    for column in ("added", "updated", "removed", "unchanged", "skipped", "chunks", "seconds"):
        table.add_column(column, justify="right")
    table.add_row(
        *(str(n) for n in (report.added, report.updated, report.removed, report.unchanged)),
        str(len(report.skipped)),
        f"{report.chunks_total} ({report.chunks_written} new)",
        f"{report.seconds:.2f}",
    )
    console.print(table)
    for skip in report.skipped:
        console.print(f"  skipped {escape(skip.source)}: {escape(skip.reason)}", style="yellow")
    if report.max_chunk_tokens:
        console.print(f"  largest new chunk: {report.max_chunk_tokens} model tokens")


def _break_lock(settings: Settings) -> None:
    holder = locking.break_lock(settings, ChromaConnection(settings))
    if not settings.chroma_url:
        note = "--break-lock: nothing to break; the embedded store's lock ends with its process"
    elif holder:
        note = (f"removed the index lease of {holder}. If that run is still alive, two runs now "
                "write at once: stop one and re-run.")  # fmt: skip
    else:
        note = "--break-lock: no lease was held"
    Console(stderr=True, soft_wrap=True).print(
        f"[yellow]warning:[/yellow] {escape(note)}", highlight=False
    )


def index_command(
    path: Annotated[
        Path | None,
        typer.Argument(help="Folder of .txt/.md/.html files [default: CITELINE_CORPUS_DIR]"),
    ] = None,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Drop the collection and re-embed every file.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print errors only.")] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the sync report as JSON.")
    ] = False,
    allow_empty: Annotated[
        bool,
        typer.Option("--allow-empty", help="Allow a folder with no files to empty the index."),
    ] = False,
    break_lock: Annotated[
        bool,
        typer.Option(
            "--break-lock",
            help="Chroma server: remove another run's lease first. Only when that run is dead.",
        ),
    ] = False,
) -> None:
    """Sync a folder of documents into the index: embed new and changed files, drop deleted ones."""
    settings = get_settings()
    configure_offline(settings.threads)  # before chromadb, llama-index or a model loads
    console = Console(quiet=quiet or json_output)
    try:
        if break_lock:
            _break_lock(settings)
        report = sync_corpus(
            settings,
            path or settings.corpus_dir,
            embedder=build_embedder(settings),
            rebuild=rebuild,
            progress=not (quiet or json_output),
            allow_empty=allow_empty,
        )
    except CitelineError as exc:
        print_error(exc.message)
        raise typer.Exit(1) from None
    if json_output:
        typer.echo(report.model_dump_json(indent=2))
    else:
        _summary(report, console)


def main() -> None:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(index_command)
    app()
