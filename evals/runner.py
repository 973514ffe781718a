"""Ask every gold question, score each answer, aggregate. Deterministic: no LLM is needed."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from rich.progress import Progress

from evals import metrics as m
from evals.quotes import CorpusFiles, quote_problem
from evals.results import EvalReport, QuestionResult
from evals.schema import GoldQuestion, GoldSet
from evals.target import AskTarget, Observed
from indexer.kernel.errors import CitelineError, IndexNotReadyError


class Judge(Protocol):
    """Optional LLM judge: scores in [0, 1], or None when it could not judge."""

    def score(
        self, question: GoldQuestion, observed: Observed
    ) -> tuple[float | None, float | None]: ...


def score_question(
    q: GoldQuestion, obs: Observed, corpus: CorpusFiles, latency_ms: float
) -> QuestionResult:
    retrieved = [p.source for p in obs.passages]
    cited = m.dedupe(c.source for c in obs.citations)
    problems = [p for p in (quote_problem(c, corpus) for c in obs.citations) if p]
    res = QuestionResult(
        id=q.id,
        question=q.question,
        type=q.type,
        style=q.style,
        answerable=q.answerable,
        abstained=not obs.answerable,
        answer=obs.answer,
        gold_sources=q.gold_sources,
        retrieved_sources=retrieved,
        cited_sources=cited,
        quotes=[c.quote for c in obs.citations],
        quotes_total=len(obs.citations),
        quotes_valid=len(obs.citations) - len(problems),
        quote_problems=problems,
        latency_ms=latency_ms,
    )
    if q.answerable:
        gold = set(q.gold_sources)
        res.gold_rank = m.first_relevant_rank(retrieved, gold)
        res.hit_at_1, res.hit_at_3, res.hit_at_5 = (
            m.hit_at_k(retrieved, gold, k) for k in (1, 3, 5)
        )
        res.reciprocal_rank = m.reciprocal_rank(retrieved, gold)
        res.citation_precision, res.citation_recall = m.citation_precision_recall(cited, gold)
        # Key facts are looked for in the answer text only: that is what the user reads.
        res.facts_found = m.facts_found(q.key_facts, obs.answer)
        res.key_fact_recall = m.key_fact_recall(q.key_facts, obs.answer)
        quotes_by_n = {c.n: c.quote for c in obs.citations}
        res.facts_stated, res.facts_cited = m.facts_cited(q.key_facts, obs.answer, quotes_by_n)
        if res.abstained:
            res.reasons.append("abstained on an answerable question")
        if not gold & set(cited):
            res.reasons.append(f"no gold source cited (cited: {', '.join(cited) or 'nothing'})")
        missing = [f[0] for f, ok in zip(q.key_facts, res.facts_found, strict=True) if not ok]
        if missing:
            res.reasons.append(f"key facts missing: {', '.join(missing)}")
    else:
        if not res.abstained:
            res.reasons.append("answered an unanswerable question")
        if obs.citations:
            res.reasons.append(f"cited {len(obs.citations)} passage(s) on an unanswerable question")
    res.reasons.extend(f"invalid quote {p}" for p in problems)
    res.passed = not res.reasons
    return res


def aggregate(results: Sequence[QuestionResult]) -> dict[str, float | None]:
    ok = [r for r in results if r.error is None]
    ans = [r for r in ok if r.answerable]
    una = [r for r in ok if not r.answerable]
    quotes = sum(r.quotes_total for r in ok)
    lat = [r.latency_ms for r in ok]
    return {
        "pass_rate": sum(r.passed for r in results) / len(results) if results else None,
        "hit_at_1": m.mean(r.hit_at_1 for r in ans),
        "hit_at_3": m.mean(r.hit_at_3 for r in ans),
        "hit_at_5": m.mean(r.hit_at_5 for r in ans),
        "mrr": m.mean(r.reciprocal_rank for r in ans),
        "citation_precision": m.mean(r.citation_precision for r in ans),
        "citation_recall": m.mean(r.citation_recall for r in ans),
        "quote_validity": sum(r.quotes_valid for r in ok) / quotes if quotes else None,
        "key_fact_recall": m.mean(r.key_fact_recall for r in ans),
        "cited_fact_rate": (
            sum(r.facts_cited for r in ans) / stated
            if (stated := sum(r.facts_stated for r in ans))
            else None
        ),
        "abstention_accuracy": (
            sum(r.abstained and not r.quotes_total for r in una) / len(una) if una else None
        ),
        "false_abstention_rate": sum(r.abstained for r in ans) / len(ans) if ans else None,
        "latency_p50_ms": m.percentile(lat, 50) if lat else None,
        "latency_p95_ms": m.percentile(lat, 95) if lat else None,
        "judge_faithfulness": m.mean(r.judge_faithfulness for r in ok),
        "judge_correctness": m.mean(r.judge_correctness for r in ok),
    }


def breakdown(
    results: Sequence[QuestionResult], key: Callable[[QuestionResult], str]
) -> dict[str, dict[str, float | None]]:
    """The same metrics over each group of questions (by style, by type)."""
    groups: dict[str, list[QuestionResult]] = {}
    for r in results:
        groups.setdefault(key(r), []).append(r)
    return {name: aggregate(rows) for name, rows in sorted(groups.items())}


def run_eval(
    target: AskTarget,
    gold: GoldSet,
    corpus_dir: Path,
    *,
    top_k: int | None = None,
    judge: Judge | None = None,
    progress: bool = False,
) -> EvalReport:
    corpus = CorpusFiles(corpus_dir)
    results: list[QuestionResult] = []
    answerers: set[str] = set()
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("evaluating", total=len(gold.questions))
        for q in gold.questions:
            started = time.perf_counter()
            try:
                obs = target.ask(q.question, top_k)
            except IndexNotReadyError:
                raise  # a setup problem, not a quality signal: stop and say so
            except CitelineError as exc:
                results.append(_errored(q, exc.message, time.perf_counter() - started))
                bar.advance(task)
                continue
            res = score_question(q, obs, corpus, (time.perf_counter() - started) * 1000.0)
            answerers.add(obs.answerer)
            if judge is not None:
                res.judge_faithfulness, res.judge_correctness = judge.score(q, obs)
            results.append(res)
            bar.advance(task)
    return EvalReport(
        target=target.describe(),
        answerer=", ".join(sorted(a for a in answerers if a)),
        gold_path=gold.path,
        corpus_dir=str(corpus_dir),
        top_k=top_k,
        metrics=aggregate(results),
        by_style=breakdown(results, lambda r: r.style),
        by_type=breakdown(results, lambda r: r.type if r.answerable else "unanswerable"),
        questions=results,
    )


def _errored(q: GoldQuestion, message: str, elapsed_s: float) -> QuestionResult:
    return QuestionResult(
        id=q.id,
        question=q.question,
        type=q.type,
        style=q.style,
        answerable=q.answerable,
        abstained=False,
        gold_sources=q.gold_sources,
        latency_ms=elapsed_s * 1000.0,
        error=message,
        reasons=[f"error: {message}"],
    )
