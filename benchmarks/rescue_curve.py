"""`python -m benchmarks.rescue_curve REPORT [STYLE]`: the joined reader at other rescue thresholds,
from one local eval run (`evals/baseline_local.json`), without running the model again.

The rescue (`service/answering/reader.py`, `CITELINE_RESCUE_THRESHOLD`) only ever turns a refusal
into the extractive answer when the scorer's best sentence reaches the threshold; the extractive
answer and the scorer's best are deterministic and need no model. So for each question the run
refused, this recomputes both over the same retrieved passages and scores the answer a lower
threshold would have given. Exact except for a reply that the citer emptied although the model was
accepted (the rescue never runs for it; 1 in 75 accepted replies on SQuAD). Prints one row per
threshold: key facts, false refusal, correct refusal, per style.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from evals.metrics import key_fact_recall
from evals.results import EvalReport, QuestionResult
from evals.schema import load_gold
from indexer.kernel.settings import get_settings
from indexer.runtime import configure_offline

THRESHOLDS = (0.54, 0.45, 0.40, 0.30, 0.20, 0.10)


def score(rows: Sequence[QuestionResult], answer: Callable[[QuestionResult], str | None],
          key_facts: Mapping[str, list[list[str]]]) -> dict[str, float]:  # fmt: skip
    """Key facts, false refusal and correct refusal when `answer(q)` is each question's answer
    (None: refused), scored like the eval scores it."""
    given = {q.id: answer(q) for q in rows}
    ans = [q for q in rows if q.answerable]
    una = [q for q in rows if not q.answerable]
    stated = (key_fact_recall(key_facts[q.id], text) for q in ans if (text := given[q.id]))
    return {
        "key_facts": sum(stated, 0.0) / (len(ans) or 1),
        "false_refusal": sum(given[q.id] is None for q in ans) / (len(ans) or 1),
        "correct_refusal": sum(given[q.id] is None for q in una) / (len(una) or 1),
    }


def curve(report: EvalReport, rescued: dict[str, tuple[float, str | None]], style: str,
          key_facts: dict[str, list[list[str]]]) -> list[dict[str, float]]:  # fmt: skip
    """One point per threshold; `rescued[id]` = (scorer best, extractive answer or None)."""
    rows = [q for q in report.questions if q.style == style and q.error is None]

    def answer(q: QuestionResult, t: float) -> str | None:
        if not q.abstained:
            return q.answer
        best, extractive = rescued.get(q.id, (0.0, None))
        return extractive if best >= t else None

    return [{"threshold": t, **score(rows, lambda q, t=t: answer(q, t), key_facts)}
            for t in THRESHOLDS]  # fmt: skip


def main(argv: list[str]) -> None:
    configure_offline(threads=2)
    from service.answering.context import build_context
    from service.answering.extractive import ExtractiveAnswerer
    from service.pipeline import build_pipeline

    report = EvalReport.model_validate_json(Path(argv[0]).read_text(encoding="utf-8"))
    gold = {q.id: q.key_facts for q in load_gold(Path(report.gold_path)).questions}
    settings = get_settings().model_copy(update={"answerer": "extractive"})
    pipeline = build_pipeline(settings)
    extractive = pipeline.answerer
    assert isinstance(extractive, ExtractiveAnswerer)
    rescued: dict[str, tuple[float, str | None]] = {}
    for q in report.questions:
        if q.abstained:  # the passages the answer read (list continuation included), as `ask` does
            question, passages, _ = pipeline.read(q.question, report.top_k)
            context = build_context(extractive, question, passages, settings.evidence_budget)
            cited = pipeline.citer.cite(context.extractive, passages)
            rescued[q.id] = (context.best, cited.answer if cited.answerable else None)
    for style in argv[1:] or sorted({q.style for q in report.questions}):
        print(f"{style}: threshold | key facts | false refusal | correct refusal")
        for p in curve(report, rescued, style, gold):
            print(f"  {p['threshold']:.2f} | {p['key_facts']:.3f} | {p['false_refusal']:.3f} | "
                  f"{p['correct_refusal']:.3f}")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
