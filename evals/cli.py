"""`citeline eval` (and `python -m evals`): run the gold set, write reports, optionally gate CI.

Exit codes: 0 ok, 1 the quality gate failed (with --gate), 2 an error (bad gold file, no index,
every question failed: e.g. a server with auth on and no `--api-key`...).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from evals.gate import check_gate, compare_baseline, load_thresholds
from evals.report_console import print_report
from evals.report_html import write_html
from evals.report_junit import write_junit
from evals.results import EvalReport, load_report
from evals.runner import Judge, run_eval
from evals.schema import GoldSet, load_gold
from evals.target import AskTarget, HttpTarget, build_pipeline_target
from indexer.cli import print_error
from indexer.kernel.errors import CitelineError
from indexer.kernel.settings import Settings, get_settings
from indexer.runtime import configure_offline

EVALS_DIR = Path(__file__).resolve().parent


@dataclass
class EvalOptions:
    gold: Path = EVALS_DIR / "gold.yaml"
    url: str | None = None
    top_k: int | None = None
    gate: bool = False
    thresholds: Path = EVALS_DIR / "thresholds.yaml"
    baseline: Path = EVALS_DIR / "baseline.json"
    write_baseline: bool = False
    out: Path = Path("artifacts/eval")
    beir: Path | None = None
    corpus: Path | None = None
    judge: bool = False
    quiet: bool = False
    api_key: str | None = None
    squad: Path | None = None
    limit: int | None = None
    answerer: str | None = None
    style: str | None = None


# `--answerer`: the settings each choice stands for (docs/answering.md, "Answerers").
ANSWERERS: dict[str, dict[str, object]] = {
    "extractive": {"answerer": "extractive"},
    "local": {"answerer": "local", "local_mode": "evidence"},
    "local-bare": {"answerer": "local", "local_mode": "bare"},
    "openai": {"answerer": "openai", "llm_context": "passages"},
    "openai-evidence": {"answerer": "openai", "llm_context": "evidence"},
}


def _subset(gold: GoldSet, style: str | None, limit: int | None) -> GoldSet:
    """The questions of one style, then a fixed, evenly spaced sample of `limit` of them."""
    questions = [q for q in gold.questions if style is None or q.style == style]
    if limit is not None and limit < len(questions):
        step = len(questions) / limit
        questions = [questions[int(i * step)] for i in range(limit)]
    return gold.model_copy(update={"questions": questions})


def _judge(settings: Settings, console: Console) -> Judge | None:
    from evals.judge import LLMJudge

    try:
        judge = LLMJudge(settings)
    except CitelineError as exc:
        console.print(f"[yellow]--judge skipped:[/] {exc.message}")
        return None
    console.print(f"LLM judge: {judge.model} (reported only, never gated)")
    return judge


def _beir(opts: EvalOptions, settings: Settings, console: Console) -> int:
    from evals.beir import run_beir

    assert opts.beir is not None
    result = run_beir(opts.beir, settings, progress=not opts.quiet and console.is_terminal)
    table = Table(title=f"BEIR {result.name}: {result.queries} queries")
    for col in ("nDCG@10", "recall@1", "recall@5", "recall@10", "MRR@10"):
        table.add_column(col, justify="right")
    table.add_row(
        *(
            f"{v:.4f}"
            for v in (
                result.ndcg_at_10,
                result.recall_at_1,
                result.recall_at_5,
                result.recall_at_10,
                result.mrr_at_10,
            )
        )
    )
    console.print(table)
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / f"beir-{result.name}.json").write_text(result.model_dump_json(indent=2), "utf-8")
    return 0


def _api_key(opts: EvalOptions, settings: Settings) -> str | None:
    """--api-key, else CITELINE_EVAL_API_KEY."""
    secret = settings.eval_api_key
    return opts.api_key or (secret.get_secret_value() if secret else None)


def _squad(opts: EvalOptions, settings: Settings, console: Console) -> int:
    import json as _json

    from evals.report_squad import write_squad_report
    from evals.squad import index_squad, load_squad, squad_settings, write_paragraphs
    from evals.squad_eval import run_squad
    from evals.train_scorer import RESULTS_PATH

    assert opts.squad is not None
    ds = load_squad(opts.squad)
    local = squad_settings(ds, settings, settings.data_dir / "corpora" / ds.name)
    progress = not opts.quiet and console.is_terminal
    if opts.url:
        names = write_paragraphs(ds, local.corpus_dir)
        console.print(f"asking {opts.url}; it must have indexed {local.corpus_dir}")
        target: AskTarget = HttpTarget(opts.url, api_key=_api_key(opts, settings))
    else:
        names = index_squad(ds, local, progress=progress)
        target = build_pipeline_target(local)
    report = run_squad(ds, target, names, local.corpus_dir, limit=opts.limit,
                       in_sample=ds.name == "squad2-public")  # fmt: skip
    if RESULTS_PATH.exists():
        report.cross_validated = _json.loads(RESULTS_PATH.read_text(encoding="utf-8"))
    write_squad_report(report, opts.out)
    table = Table(title=f"SQuAD {ds.name}: {report.questions} questions ({target.describe()})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in report.metrics.items():
        table.add_row(key, f"{value:.3f}")
    console.print(table)
    console.print(f"reports: {opts.out}/squad-{ds.name}.html, squad-{ds.name}.json")
    return 0


def write_outputs(report: EvalReport, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(report.model_dump_json(indent=2), encoding="utf-8")
    write_junit(report, out / "junit.xml")
    write_html(report, out / "report.html")


def execute(
    opts: EvalOptions,
    *,
    target: AskTarget | None = None,
    settings: Settings | None = None,
    console: Console | None = None,
) -> int:
    """The whole command; `target` and `settings` are injectable so tests can drive it."""
    console = console or Console(stderr=False, quiet=False)
    settings = settings or get_settings()
    if opts.answerer is not None:
        if opts.answerer not in ANSWERERS:
            raise CitelineError(f"--answerer must be one of {', '.join(ANSWERERS)}")
        settings = settings.model_copy(update=ANSWERERS[opts.answerer])
    if opts.beir is not None:
        return _beir(opts, settings, console)
    if opts.squad is not None:
        return _squad(opts, settings, console)
    gold = _subset(load_gold(opts.gold), opts.style, opts.limit)
    corpus_dir = opts.corpus or settings.corpus_dir
    gold.check_sources(corpus_dir)
    thresholds = load_thresholds(opts.thresholds)
    baseline = load_report(opts.baseline)
    if target is None and opts.url:
        target = HttpTarget(opts.url, api_key=_api_key(opts, settings))
    target = target or build_pipeline_target(settings)
    judge = _judge(settings, console) if opts.judge else None
    progress = not opts.quiet and console.is_terminal
    report = run_eval(target, gold, corpus_dir, top_k=opts.top_k, judge=judge, progress=progress)
    report.gate = check_gate(report.gated_values(), thresholds)
    if baseline is not None and baseline.questions:
        report.changes = compare_baseline(report, baseline, str(opts.baseline))
    write_outputs(report, opts.out)
    failed = [q for q in report.questions if q.error is not None]
    if report.questions and len(failed) == len(report.questions):
        hint = "401" in str(failed[0].error)
        raise CitelineError(
            f"every question failed ({len(failed)} of {len(failed)}), first: {failed[0].error}"
            + ("; a server with auth on needs --api-key or CITELINE_EVAL_API_KEY" if hint else "")
        )
    if opts.write_baseline:
        opts.baseline.parent.mkdir(parents=True, exist_ok=True)
        opts.baseline.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    if not opts.quiet:
        print_report(report, console)
        console.print(f"reports: {opts.out}/report.html, report.json, junit.xml")
        if opts.write_baseline:
            console.print(f"baseline written: {opts.baseline}")
    elif opts.gate and not report.gate.passed:
        print_report(report, console, verbose=False)  # --quiet still explains a failed gate
    if opts.quiet:
        summary = {k: report.metrics.get(k) for k in ("pass_rate", "hit_at_5", "quote_validity")}
        console.print(json.dumps({"gate_passed": report.gate.passed, **summary}))
    return 1 if opts.gate and not report.gate.passed else 0


def eval_command(
    gold: Annotated[Path, typer.Option(help="gold questions (YAML)")] = EvalOptions.gold,
    url: Annotated[
        str | None, typer.Option(help="evaluate a running server (http://host:port)")
    ] = None,
    top_k: Annotated[
        int | None, typer.Option("--top-k", min=1, help="passages per question")
    ] = None,
    gate: Annotated[bool, typer.Option(help="exit 1 when a metric is outside thresholds")] = False,
    thresholds: Annotated[Path, typer.Option(help="thresholds YAML")] = EvalOptions.thresholds,
    baseline: Annotated[Path, typer.Option(help="baseline report to compare with")] = (
        EvalOptions.baseline
    ),
    write_baseline: Annotated[bool, typer.Option(help="save this run as the baseline")] = False,
    out: Annotated[Path, typer.Option(help="report directory")] = EvalOptions.out,
    beir: Annotated[
        Path | None, typer.Option(help="BEIR dataset directory: retrieval metrics only")
    ] = None,
    corpus: Annotated[
        Path | None, typer.Option(help="corpus dir for quote checks (default: settings)")
    ] = None,
    judge: Annotated[bool, typer.Option(help="add LLM-judged scores (needs an LLM)")] = False,
    quiet: Annotated[bool, typer.Option(help="no progress bar or tables")] = False,
    api_key: Annotated[
        str | None,
        typer.Option(help="API key sent to --url (default: CITELINE_EVAL_API_KEY)"),
    ] = None,
    squad: Annotated[
        Path | None, typer.Option(help="SQuAD 2.0-style directory: answering and abstention")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="ask a fixed, evenly spaced sample of this many")
    ] = None,
    answerer: Annotated[
        str | None, typer.Option(help=f"answer with: {', '.join(ANSWERERS)} (default: settings)")
    ] = None,
    style: Annotated[str | None, typer.Option(help="only the gold questions of this style")] = None,
) -> None:
    """Evaluate answers against the gold set (or retrieval against a BEIR dataset)."""
    configure_offline()
    opts = EvalOptions(
        gold,
        url,
        top_k,
        gate,
        thresholds,
        baseline,
        write_baseline,
        out,
        beir,
        corpus,
        judge,
        quiet,
        api_key,
        squad,
        limit,
        answerer,
        style,
    )
    try:
        code = execute(opts)
    except CitelineError as exc:
        print_error(exc.message)
        raise typer.Exit(2) from exc
    raise typer.Exit(code)
