"""`citeline eval --squad DIR`: answering and abstention on a SQuAD 2.0-style set, end to end.

Asks every question (or a deterministic sample) of the real service, in-process or over HTTP
(`--url`; that server must have indexed the paragraph corpus this command writes), and reports
retrieval hit@1/@5, answered rate, gold span in the answer, false and correct abstention, citation
validity and latency. The cross-validated curve from `evals/scorer_results.json` goes in the same
report: numbers measured here on the set the scorer was fitted on are in-sample, and say so.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from evals import metrics as m
from evals.quotes import CorpusFiles, quote_problem
from evals.squad import SquadSet
from evals.target import AskTarget


class SquadResult(BaseModel):
    id: str
    answerable: bool
    hit_at_1: bool
    hit_at_5: bool
    answered: bool
    gold_in_answer: bool
    citations_valid: bool
    latency_ms: float


class SquadReport(BaseModel):
    name: str
    target: str
    questions: int
    metrics: dict[str, float]
    results: list[SquadResult]
    in_sample: bool
    cross_validated: dict[str, object] | None = None


def sample(ds: SquadSet, limit: int | None, seed: int = 0) -> list[int]:
    """Question indices: all, or `limit` drawn with a fixed seed (the same every run)."""
    order = list(range(len(ds.questions)))
    if limit is None or limit >= len(order):
        return order
    return sorted(random.Random(seed).sample(order, limit))  # noqa: S311 - a sample, not a secret


def holds_gold_span(answers: Sequence[str], text: str) -> bool:
    """SQuAD's own answer string, verbatim, inside the answer text."""
    return any(a and a in text for a in answers)


def run_squad(
    ds: SquadSet,
    target: AskTarget,
    names: dict[str, str],
    corpus_dir: Path,
    *,
    limit: int | None = None,
    in_sample: bool = True,
) -> SquadReport:
    files = CorpusFiles(corpus_dir)
    results: list[SquadResult] = []
    for qi in sample(ds, limit):
        q = ds.questions[qi]
        started = time.perf_counter()
        observed = target.ask(q.question, 5)
        latency = (time.perf_counter() - started) * 1000
        ranked = [names.get(p.source, p.source) for p in observed.passages]
        gold = observed.answerable and holds_gold_span(q.answers, observed.answer)
        results.append(
            SquadResult(
                id=q.id,
                answerable=q.answerable,
                hit_at_1=ranked[:1] == [q.doc_id],
                hit_at_5=q.doc_id in ranked[:5],
                answered=observed.answerable,
                gold_in_answer=q.answerable and gold,
                citations_valid=all(quote_problem(c, files) is None for c in observed.citations),
                latency_ms=round(latency, 2),
            )
        )
    return SquadReport(
        name=ds.name,
        target=target.describe(),
        questions=len(results),
        metrics=summarize(results),
        results=results,
        in_sample=in_sample,
    )


def summarize(results: list[SquadResult]) -> dict[str, float]:
    ans = [r for r in results if r.answerable]
    una = [r for r in results if not r.answerable]
    cited = [r for r in results if r.answered]

    def share(rows: list[SquadResult], attr: str) -> float:
        return sum(bool(getattr(r, attr)) for r in rows) / len(rows) if rows else float("nan")

    latencies = [r.latency_ms for r in results]
    return {
        "hit_at_1": share(ans, "hit_at_1"),
        "hit_at_5": share(ans, "hit_at_5"),
        "answered_rate": share(results, "answered"),
        "answered_with_gold_span": share(ans, "gold_in_answer"),
        "false_abstention": 1 - share(ans, "answered") if ans else float("nan"),
        "correct_abstention": 1 - share(una, "answered") if una else float("nan"),
        "citation_validity": share(cited, "citations_valid") if cited else 1.0,
        "latency_p50_ms": m.percentile(latencies, 50),
        "latency_p95_ms": m.percentile(latencies, 95),
    }
