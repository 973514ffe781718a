"""A single self-contained `report.html`: inline CSS and SVG, no scripts, nothing fetched.

Questions, answers and quotes come from documents and gold files, which are untrusted: every one
is HTML-escaped, and the page carries a CSP that forbids scripts and remote loads anyway.
"""

from __future__ import annotations

from pathlib import Path

from evals.report_console import fmt
from evals.results import EvalReport, QuestionResult
from evals.svg_charts import all_charts, esc

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px}
.meta{color:#666} .ok{color:#2e7d32;font-weight:600} .bad{color:#c62828;font-weight:600}
table{border-collapse:collapse;margin:8px 0} td,th{border:1px solid #ddd;padding:4px 8px;
vertical-align:top;text-align:left} th{background:#f5f5f5}
svg.chart{display:block;margin:8px 0;font-size:12px} svg text{fill:#222}
.q.fail{background:#fff5f5} .q.pass{background:#f6fff6} blockquote{margin:4px 0;padding:2px 8px;
border-left:3px solid #bbb;color:#444;white-space:pre-wrap} .small{font-size:12px;color:#555}
.charts{display:flex;flex-wrap:wrap;gap:12px 40px}
"""
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _gate(report: EvalReport) -> str:
    if report.gate is None:
        return "<p>No gate was checked (run with <code>--gate</code>).</p>"
    head = (
        '<p class="ok">Quality gate passed.</p>'
        if report.gate.passed
        else '<p class="bad">Quality gate FAILED.</p>'
    )
    rows = "".join(
        f"<tr><td>{esc(r.metric)}</td><td>{fmt(r.value, r.metric)}</td>"
        f"<td>{esc(r.op)} {fmt(r.threshold, r.metric)}</td>"
        f'<td class="{"ok" if r.ok else "bad"}">{"ok" if r.ok else "below"}</td></tr>'
        for r in report.gate.rows
    )
    header = "<tr><th>metric</th><th>value</th><th>threshold</th><th></th></tr>"
    return f"{head}<table>{header}{rows}</table>"


def _changes(report: EvalReport) -> str:
    ch = report.changes
    if ch is None:
        return "<p>No baseline to compare with.</p>"
    items = [
        f'<li class="bad">regressed: {esc(c.id)} — {esc("; ".join(c.reasons))}</li>'
        for c in ch.regressed
    ]
    items += [f'<li class="ok">improved: {esc(c.id)}</li>' for c in ch.improved]
    items += [f"<li>new: {esc(i)}</li>" for i in ch.new]
    items += [f"<li>removed: {esc(i)}</li>" for i in ch.removed]
    summary = (
        f"<p>Against {esc(ch.baseline_path)} ({esc(ch.baseline_created_at)}): "
        f"{len(ch.regressed)} regressed, {len(ch.improved)} improved.</p>"
    )
    return summary + (f"<ul>{''.join(items)}</ul>" if items else "")


def _question(q: QuestionResult) -> str:
    quotes = "".join(f"<blockquote>{esc(quote)}</blockquote>" for quote in q.quotes)
    status = '<span class="ok">pass</span>' if q.passed else '<span class="bad">fail</span>'
    why = f'<div class="bad">{esc("; ".join(q.reasons))}</div>' if q.reasons else ""
    facts = "".join("✓" if f else "✗" for f in q.facts_found)
    return (
        f'<tr class="q {"pass" if q.passed else "fail"}" id="q-{esc(q.id)}">'
        f"<td>{status}<br><code>{esc(q.id)}</code><br>"
        f'<span class="small">{esc(q.type)}</span></td>'
        f"<td>{esc(q.question)}{why}</td>"
        f"<td>{esc(q.answer)}{quotes}</td>"
        f'<td class="small">gold: {esc(", ".join(q.gold_sources) or "—")}<br>'
        f"cited: {esc(', '.join(q.cited_sources) or '—')}<br>"
        f"gold rank: {esc(q.gold_rank if q.gold_rank is not None else '—')}<br>"
        f"facts: {facts or '—'}<br>{q.latency_ms:.0f} ms</td></tr>"
    )


def render_html(report: EvalReport) -> str:
    bars, grid, hist = all_charts(report)
    passed = sum(q.passed for q in report.questions)
    metric_rows = "".join(
        f"<tr><td>{esc(k)}</td><td>{fmt(v, k)}</td></tr>" for k, v in report.metrics.items()
    )
    questions = "".join(_question(q) for q in report.questions)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Citeline eval report</title><style>{_CSS}</style></head><body>
<h1>Citeline eval report</h1>
<p class="meta">{esc(report.created_at)} · target {esc(report.target)} · answerer
{esc(report.answerer or "?")} · gold {esc(report.gold_path)} ·
top_k {esc(report.top_k or "default")} · {passed}/{len(report.questions)} questions passed</p>
<div class="charts">
<section><h2>Metrics vs thresholds</h2>{bars}</section>
<section><h2>Per-question pass/fail</h2>{grid}<h2>Latency (ms)</h2>{hist}</section>
</div>
<h2>Quality gate</h2>{_gate(report)}
<h2>Changes against the baseline</h2>{_changes(report)}
<h2>All metrics</h2><table><tr><th>metric</th><th>value</th></tr>{metric_rows}</table>
<h2>Questions</h2>
<table><tr><th>result</th><th>question</th><th>answer and cited quotes</th><th>details</th></tr>
{questions}</table>
</body></html>
"""


def write_html(report: EvalReport, path: Path) -> None:
    path.write_text(render_html(report), encoding="utf-8")
