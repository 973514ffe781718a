"""`citeline`: index, serve, ask, eval. Errors print one line on stderr and exit 1, no traceback.

The composition root: the one module that imports the indexer, the service and the evals
together (tests/test_architecture.py enforces it). Every command is registered unconditionally:
a broken import fails loudly here instead of hiding a command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from evals.cli import eval_command
from indexer.cli import index_command, print_error
from indexer.kernel.errors import CitelineError
from indexer.kernel.settings import get_settings, override_settings
from indexer.runtime import configure_offline

app = typer.Typer(help="Answers questions over a folder of documents, citing every claim.",
                  no_args_is_help=True, add_completion=False)  # fmt: skip


def fail(exc: CitelineError) -> typer.Exit:
    print_error(f"{exc.message} ({exc.code})")
    return typer.Exit(code=1)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address (default: settings)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default: settings)")] = None,
    reload: Annotated[bool, typer.Option(help="restart on code changes (development)")] = False,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            help="proxy addresses (a,b; CIDR ok) whose X-Forwarded-For/-Proto are believed; "
            "default: CITELINE_TRUSTED_PROXIES (empty = believe no one)",
        ),
    ] = None,
) -> None:
    """Serve the HTTP API (docs at /docs)."""
    import uvicorn

    settings = get_settings()
    if forwarded_allow_ips is not None:
        proxies = [p.strip() for p in forwarded_allow_ips.split(",") if p.strip()]
        settings = settings.model_copy(update={"trusted_proxies": proxies})
        override_settings(settings)
    # uvicorn's own proxy-header handling trusts 127.0.0.1 by default: off, the app decides
    # (service/http/proxies.py) from settings.trusted_proxies only.
    uvicorn.run("service.http.app:create_app", factory=True, host=host or settings.host,
                port=port or settings.port, reload=reload, proxy_headers=False)  # fmt: skip


def _corpus_relative(source: str, corpus_dir: Path) -> str:
    """`seeds/000_x.txt` (a path from here into the corpus) -> `000_x.txt`; others unchanged."""
    root, path = corpus_dir.resolve(), Path(source).resolve()
    if Path(source).exists() and path.is_relative_to(root):
        return path.relative_to(root).as_posix()
    return source


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="the question")],
    top_k: Annotated[int | None, typer.Option("--top-k", min=1, help="passages to use")] = None,
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source",
            help="only this file (repeatable): its path in the corpus (`000_x.txt`), or a path to "
            "it from here (`seeds/000_x.txt`)",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the /v1/ask JSON body")] = False,
) -> None:
    """Answer one question in-process, with its citations."""
    from service.http.schemas import AskResponse
    from service.pipeline import build_pipeline

    settings = get_settings()
    sources = [_corpus_relative(s, settings.corpus_dir) for s in source] if source else None
    try:
        answer = build_pipeline(settings).ask(question, top_k, sources)
    except CitelineError as exc:
        raise fail(exc) from None
    if as_json:
        typer.echo(json.dumps(AskResponse.of(answer).model_dump(mode="json"), ensure_ascii=False))
        return
    out = Console()
    out.print(escape(answer.answer), highlight=False)
    for c in answer.citations:
        out.print(f"\n[bold][{c.n}][/] {escape(c.source)}, lines {c.line_start}-{c.line_end}")
        out.print(f"    [italic]“{escape(c.quote)}”[/]", highlight=False)
    out.print(f"\n[dim]{answer.answerer}, {answer.timings_ms.get('total', 0):.0f} ms[/]")


app.command("index", help="Index (or re-sync) a folder of documents.")(index_command)
app.command("eval", help="Evaluate answers against the gold questions.")(eval_command)


def main() -> None:
    configure_offline(get_settings().threads)
    try:
        app()
    except CitelineError as exc:  # a command that raised instead of exiting
        raise SystemExit(fail(exc).exit_code) from None


if __name__ == "__main__":
    main()
