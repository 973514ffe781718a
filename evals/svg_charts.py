"""Inline SVG charts built as strings: nothing fetched, so the report opens offline.

Every label that can come from a gold file or a document goes through `esc`.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from evals.report_console import fmt
from evals.results import EvalReport, GateRow, QuestionResult

GREEN, RED, GREY, INK = "#2e7d32", "#c62828", "#9e9e9e", "#222"


def esc(text: object) -> str:
    return escape(str(text), quote=True)


def metric_bars(metrics: dict[str, float | None], gate_rows: Sequence[GateRow]) -> str:
    """Horizontal bars for the 0..1 metrics, with each threshold drawn as a vertical tick."""
    limits = {r.metric: r for r in gate_rows}
    names = [n for n, v in metrics.items() if not n.endswith("_ms") and v is not None]
    label_w, bar_w, row_h = 190, 360, 24
    height = row_h * len(names) + 30
    parts = [
        f'<svg class="chart" id="metric-bars" '
        f'width="{label_w + bar_w + 70}" height="{height}" role="img" '
        f'aria-label="metrics against thresholds">'
    ]
    for i, name in enumerate(names):
        value = float(metrics[name] or 0.0)
        y = 10 + i * row_h
        row = limits.get(name)
        colour = GREY if row is None else GREEN if row.ok else RED
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{esc(name)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="16" fill="#eee"/>')
        parts.append(
            f'<rect class="bar" data-metric="{esc(name)}" x="{label_w}" y="{y + 3}" '
            f'width="{bar_w * max(0.0, min(value, 1.0)):.1f}" height="16" fill="{colour}">'
            f"<title>{esc(name)} = {value:.3f}</title></rect>"
        )
        if row is not None:
            x = label_w + bar_w * max(0.0, min(row.threshold, 1.0))
            parts.append(
                f'<line class="threshold" x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y + 22}" '
                f'stroke="{INK}" stroke-width="2"><title>threshold {esc(row.op)} '
                f"{row.threshold:.3f}</title></line>"
            )
        parts.append(f'<text x="{label_w + bar_w + 6}" y="{y + 15}">{value:.3f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def pass_grid(questions: Sequence[QuestionResult], per_row: int = 20) -> str:
    """One square per question (green pass, red fail); hover shows the id and why."""
    size, gap = 18, 3
    rows = max(1, -(-len(questions) // per_row))
    width, height = per_row * (size + gap) + gap, rows * (size + gap) + gap
    parts = [
        f'<svg class="chart" id="pass-grid" width="{width}" '
        f'height="{height}" role="img" aria-label="per-question pass/fail">'
    ]
    for i, q in enumerate(questions):
        x, y = gap + (i % per_row) * (size + gap), gap + (i // per_row) * (size + gap)
        why = "passed" if q.passed else "; ".join(q.reasons)
        parts.append(
            f'<a href="#q-{esc(q.id)}"><rect class="cell {"pass" if q.passed else "fail"}" '
            f'x="{x}" y="{y}" width="{size}" height="{size}" rx="3" '
            f'fill="{GREEN if q.passed else RED}"><title>{esc(q.id)}: {esc(why)}</title></rect></a>'
        )
    parts.append("</svg>")
    return "".join(parts)


def latency_histogram(latencies_ms: Sequence[float], bins: int = 12) -> str:
    width, height, pad = 460, 160, 30
    parts = [
        f'<svg class="chart" id="latency-histogram" '
        f'width="{width}" height="{height + pad}" role="img" aria-label="latency histogram">'
    ]
    if latencies_ms:
        lo, hi = min(latencies_ms), max(latencies_ms)
        step = (hi - lo) / bins or 1.0
        counts = [0] * bins
        for v in latencies_ms:
            counts[min(int((v - lo) / step), bins - 1)] += 1
        top = max(counts)
        bar_w = (width - 2 * pad) / bins
        for i, c in enumerate(counts):
            h = (height - 20) * c / top
            x = pad + i * bar_w
            parts.append(
                f'<rect class="hbar" x="{x:.1f}" y="{height - h:.1f}" width="{bar_w - 2:.1f}" '
                f'height="{h:.1f}" fill="#1565c0"><title>{fmt(lo + i * step, "_ms")} to '
                f"{fmt(lo + (i + 1) * step, '_ms')}: {c}</title></rect>"
            )
        parts.append(f'<text x="{pad}" y="{height + 18}">{fmt(lo, "_ms")}</text>')
        parts.append(
            f'<text x="{width - pad}" y="{height + 18}" text-anchor="end">{fmt(hi, "_ms")}</text>'
        )
        parts.append(
            f'<line x1="{pad}" x2="{width - pad}" y1="{height}" y2="{height}" stroke="{INK}"/>'
        )
    else:
        parts.append(f'<text x="{pad}" y="{height / 2}">no latencies</text>')
    parts.append("</svg>")
    return "".join(parts)


def all_charts(report: EvalReport) -> tuple[str, str, str]:
    rows = report.gate.rows if report.gate else []
    return (
        metric_bars(report.metrics, rows),
        pass_grid(report.questions),
        latency_histogram([q.latency_ms for q in report.questions if q.error is None]),
    )
