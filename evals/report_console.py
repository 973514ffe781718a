"""The rich console summary: metrics against thresholds, failing questions, baseline changes."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from evals.results import EvalReport, GateResult


def fmt(value: float | None, metric: str = "") -> str:
    if value is None:
        return "n/a"
    if metric.endswith("_ms"):
        return f"{value:.1f} ms" if value < 10 else f"{value:.0f} ms"
    return f"{value:.3f}"


def metrics_table(report: EvalReport) -> Table:
    limits = {r.metric: r for r in report.gate.rows} if report.gate else {}
    deltas = report.changes.metric_deltas if report.changes else {}
    table = Table(title=f"Citeline eval: {len(report.questions)} questions, {report.target}")
    for col in ("metric", "value", "threshold", "vs baseline", "status"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for name, value in report.metrics.items():
        row = limits.get(name)
        delta = deltas.get(name)
        status = "" if row is None else ("[green]ok[/]" if row.ok else "[bold red]BELOW[/]")
        table.add_row(
            name,
            fmt(value, name),
            f"{row.op} {fmt(row.threshold, name)}" if row else "",
            ""
            if delta is None
            else f"{delta:+.3f}"
            if not name.endswith("_ms")
            else f"{delta:+.0f}",
            status,
        )
    return table


BREAKDOWN_METRICS = (
    "pass_rate", "hit_at_1", "key_fact_recall", "cited_fact_rate", "citation_precision",
    "quote_validity", "false_abstention_rate", "abstention_accuracy", "latency_p50_ms",
)  # fmt: skip


def breakdown_table(title: str, groups: dict[str, dict[str, float | None]]) -> Table:
    """One row per style (or type), the metrics that matter for answers as columns."""
    table = Table(title=title)
    table.add_column("group")
    for name in BREAKDOWN_METRICS:
        table.add_column(name, justify="right")
    for group, metrics in groups.items():
        table.add_row(group, *(fmt(metrics.get(name), name) for name in BREAKDOWN_METRICS))
    return table


def gate_table(gate: GateResult) -> Table:
    table = Table(title="Quality gate FAILED: metrics outside thresholds", style="red")
    for col in ("metric", "value", "required"):
        table.add_column(col)
    for row in gate.failures:
        table.add_row(
            row.metric, fmt(row.value, row.metric), f"{row.op} {fmt(row.threshold, row.metric)}"
        )
    return table


def print_report(report: EvalReport, console: Console, *, verbose: bool = True) -> None:
    console.print(metrics_table(report))
    if verbose and report.by_style:
        console.print(breakdown_table("by style", report.by_style))
        console.print(breakdown_table("by type", report.by_type))
    failed = report.failed
    if verbose and failed:
        table = Table(title=f"{len(failed)} failing question(s)")
        table.add_column("id")
        table.add_column("why")
        for q in failed:
            table.add_row(escape(q.id), escape("; ".join(q.reasons)))
        console.print(table)
    if report.changes:
        ch = report.changes
        console.print(
            f"vs baseline: [red]{len(ch.regressed)} regressed[/], "
            f"[green]{len(ch.improved)} improved[/], {len(ch.new)} new, {len(ch.removed)} removed"
        )
        for c in ch.regressed:
            console.print(f"  [red]regressed[/] {escape(c.id)}: {escape('; '.join(c.reasons))}")
        for c in ch.improved:
            console.print(f"  [green]improved[/] {escape(c.id)}")
    if report.gate is not None:
        if report.gate.passed:
            console.print("[bold green]Quality gate passed.[/]")
        else:
            console.print(gate_table(report.gate))
