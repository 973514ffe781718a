"""The SQuAD report: a metrics table, and the cross-validated precision/coverage curve as an
inline SVG (nothing fetched, so it opens offline).

The curve: at each abstention threshold, the share of answerable questions answered with a gold
span, the share of unanswerable ones correctly refused, and false abstention. Every point comes
from models that did not see the article they score (leave-one-article-out).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from evals.squad_eval import SquadReport
from evals.svg_charts import INK, esc

SERIES = (
    ("answered_with_gold_span", "answered with a gold span", "#2e7d32"),
    ("correct_abstention", "unanswerable correctly refused", "#1565c0"),
    ("false_abstention", "answerable wrongly refused", "#c62828"),
)


def curve_svg(curve: Sequence[Mapping[str, float]], chosen: float | None) -> str:
    width, height, pad, top = 560, 340, 40, 64  # the legend sits above the plot
    if not curve:
        return "<p>no cross-validated curve (run python -m evals.train_scorer)</p>"
    lo, hi = curve[0]["threshold"], curve[-1]["threshold"]

    def x(t: float) -> float:
        return pad + (width - 2 * pad) * (t - lo) / ((hi - lo) or 1)

    def y(v: float) -> float:
        return height - pad - (height - pad - top) * v

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="squad-curve" '
             f'width="{width}" height="{height}" role="img" '
             f'aria-label="answered versus abstained by threshold">']  # fmt: skip
    parts.append(f'<line x1="{pad}" x2="{width - pad}" y1="{y(0)}" y2="{y(0)}" stroke="{INK}"/>')
    parts.append(f'<line x1="{pad}" x2="{pad}" y1="{y(0)}" y2="{y(1)}" stroke="{INK}"/>')
    for v in (0.0, 0.5, 1.0):
        parts.append(f'<text x="{pad - 6}" y="{y(v) + 4}" text-anchor="end">{v:.1f}</text>')
    for key, label, colour in SERIES:
        points = " ".join(f"{x(p['threshold']):.1f},{y(p[key]):.1f}" for p in curve)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}">'
                     f"<title>{esc(label)}</title></polyline>")  # fmt: skip
    for i, (_, label, colour) in enumerate(SERIES):
        parts.append(f'<text x="{pad}" y="{16 + 16 * i}" fill="{colour}">{esc(label)}</text>')
    if chosen is not None:
        parts.append(f'<line x1="{x(chosen):.1f}" x2="{x(chosen):.1f}" y1="{y(0)}" y2="{y(1)}" '
                     f'stroke="#555" stroke-dasharray="4 3"><title>operating point {chosen}'
                     "</title></line>")  # fmt: skip
    parts.append(f'<text x="{width / 2}" y="{height - 8}" text-anchor="middle">'
                 f"abstention threshold (scorer probability)</text></svg>")  # fmt: skip
    return "".join(parts)


def render(report: SquadReport) -> str:
    rows = "".join(f"<tr><td>{esc(k)}</td><td>{v:.3f}</td></tr>" for k, v in report.metrics.items())
    cv = report.cross_validated or {}
    curve = cv.get("curve")
    op = cv.get("operating_point")
    chosen = op.get("threshold") if isinstance(op, dict) else None
    note = (
        "In-sample: the committed scorer was fitted on this set; the curve below is the honest "
        "(cross-validated) measurement."
        if report.in_sample
        else "Out-of-sample: the scorer never saw this set."
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Citeline SQuAD report</title>"
        "<style>body{font-family:sans-serif;margin:2em}td{padding:2px 10px}</style></head><body>"
        f"<h1>{esc(report.name)}: {report.questions} questions</h1><p>target: "
        f"{esc(report.target)}</p><p>{esc(note)}</p><table>{rows}</table>"
        "<h2>Cross-validated curve (leave one article out)</h2>"
        f"{curve_svg(curve if isinstance(curve, list) else [], chosen)}</body></html>"
    )


def write_squad_report(report: SquadReport, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"squad-{report.name}.json").write_text(report.model_dump_json(indent=1), "utf-8")
    (out / f"squad-{report.name}.html").write_text(render(report), encoding="utf-8")
