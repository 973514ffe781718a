"""Fit the answer-sentence scorer on the public SQuAD 2.0 half and measure it honestly.

    python -m evals.train_scorer ../shared/data/squad2-public [--write]

1. Rows: every sentence of the top-5 passages the real pipeline retrieves, with the service's own
   features (`evals.scorer_data`).
2. Leave-one-article-out cross-validation: for each of the 8 articles, a logistic regression is fit
   on the other 7 and scores the held-out article's sentences. Every number reported is on
   articles the model did not see.
3. The curve: at each threshold, answered-with-gold-span and false abstention over answerable
   questions, correct abstention over unanswerable ones, using the service's own sentence choice.
4. The operating point: the highest threshold whose out-of-fold false abstention stays within
   `MAX_FALSE_ABSTENTION` (a user asking what the documents do say should rarely hear "they don't
   say"; refusing SQuAD's adversarial unanswerable questions is what this scorer cannot do well,
   see docs/answering.md). Its per-article numbers are measured with a threshold chosen on the
   other articles only (nested), so the reported point is not tuned on what it reports.
5. `--write` fits on all articles and writes `service/answering/scorer_model.json` plus
   `evals/scorer_results.json`. Deterministic: re-running reproduces both files.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from evals.report_squad import curve_svg
from evals.scorer_data import ScorerRows, build_rows
from evals.squad import SquadSet, load_squad
from indexer.kernel.settings import get_settings
from indexer.runtime import configure_offline
from service.answering.evidence import prepare_question
from service.answering.scorer import MODEL_PATH, ScorerModel
from service.answering.select import choose

RESULTS_PATH = Path(__file__).with_name("scorer_results.json")
CURVE_PATH = Path(__file__).resolve().parent.parent / "docs" / "answering-curve.svg"
EXTRA_RATIO = 0.8
MAX_FALSE_ABSTENTION = 0.15
C = 1.0
GRID = tuple(round(float(t), 3) for t in np.linspace(0.01, 0.9, 90))


def fit(x: npt.NDArray[np.float32], y: npt.NDArray[np.int8], threshold: float) -> ScorerModel:
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0).astype(np.float64)
    scale = x.std(axis=0).astype(np.float64)
    scale[scale < 1e-9] = 1.0
    lr = LogisticRegression(C=C, max_iter=2000)
    lr.fit((x - mean) / scale, y)
    return ScorerModel(mean, scale, lr.coef_[0].astype(np.float64), float(lr.intercept_[0]),
                       threshold, EXTRA_RATIO)  # fmt: skip


def out_of_fold(ds: SquadSet, rows: ScorerRows) -> npt.NDArray[np.float64]:
    article = np.array([ds.questions[i].article for i in rows.question])
    scores = np.zeros(len(rows.labels))
    for held in sorted(set(article)):
        test = article == held
        model = fit(rows.features[~test], rows.labels[~test], 0.5)
        scores[test] = model.score(rows.features[test])
    return scores


_prepared = lru_cache(maxsize=None)(prepare_question)


@dataclass
class Outcome:
    answered: npt.NDArray[np.bool_]
    gold: npt.NDArray[np.bool_]  # an answer sentence holds a gold span
    sentences: npt.NDArray[np.int32]


def outcomes(ds: SquadSet, rows: ScorerRows, scores: npt.NDArray[np.float64], t: float) -> Outcome:
    n = len(ds.questions)
    out = Outcome(np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, np.int32))
    bounds = np.searchsorted(rows.question, np.arange(n + 1))
    for qi in range(n):
        lo, hi = bounds[qi], bounds[qi + 1]
        if lo == hi:
            continue
        q = _prepared(ds.questions[qi].question)
        picked = choose(q, rows.sentences[lo:hi], scores[lo:hi], threshold=t,
                        extra_ratio=EXTRA_RATIO)  # fmt: skip
        out.answered[qi] = bool(picked)
        out.gold[qi] = any(rows.labels[lo + i] for i in picked)
        out.sentences[qi] = len(picked)
    return out


def point(ds: SquadSet, o: Outcome, mask: npt.NDArray[np.bool_] | None = None) -> dict[str, float]:
    answerable = np.array([q.answerable for q in ds.questions])
    keep = np.ones(len(answerable), bool) if mask is None else mask
    a, u = answerable & keep, ~answerable & keep

    def rate(v: npt.NDArray[np.bool_], m: npt.NDArray[np.bool_]) -> float:
        return float(v[m].mean()) if m.any() else float("nan")

    return {
        "answered_with_gold_span": rate(o.gold, a),
        "false_abstention": rate(~o.answered, a),
        "correct_abstention": rate(~o.answered, u),
        "answered_rate": rate(o.answered, keep),
        "sentences_per_answer": float(o.sentences[o.answered & keep].mean())
        if (o.answered & keep).any() else 0.0,
        "answerable": int(a.sum()),
        "unanswerable": int(u.sum()),
    }  # fmt: skip


def operating_threshold(points: dict[float, dict[str, float]]) -> float:
    """The highest threshold that keeps false abstention within `MAX_FALSE_ABSTENTION`."""
    ok = [t for t, p in points.items() if p["false_abstention"] <= MAX_FALSE_ABSTENTION]
    return max(ok) if ok else min(points)


def evaluate(ds: SquadSet, rows: ScorerRows) -> dict[str, object]:
    scores = out_of_fold(ds, rows)
    per_t = {t: outcomes(ds, rows, scores, t) for t in GRID}
    curve = [{"threshold": t, **point(ds, o)} for t, o in per_t.items()]
    chosen = operating_threshold({t: point(ds, o) for t, o in per_t.items()})
    articles = sorted({q.article for q in ds.questions})
    article_of = np.array([q.article for q in ds.questions])
    nested, gold, answered = (
        {},
        np.zeros(len(ds.questions), bool),
        np.zeros(len(ds.questions), bool),
    )
    for held in articles:
        others = article_of != held
        t = operating_threshold({t: point(ds, o, others) for t, o in per_t.items()})
        o = per_t[t]
        nested[held] = {"threshold": t, **point(ds, o, ~others)}
        gold[~others], answered[~others] = o.gold[~others], o.answered[~others]
    answerable = np.array([q.answerable for q in ds.questions])
    pooled = Outcome(answered, gold, np.where(answered, 1, 0).astype(np.int32))
    never = outcomes(ds, rows, scores, -1.0)
    negated = np.array(["not" in q.question.lower().split() or "n't" in q.question.lower()
                        for q in ds.questions])  # fmt: skip
    top1 = {k: v for k, v in point(ds, never).items() if k == "answered_with_gold_span"}
    return {
        "questions": len(ds.questions),
        "retrieval_gold_in_top5": float(rows.retrieved_gold[answerable].mean()),
        "never_abstain": top1,
        "operating_point": {"threshold": chosen, **point(ds, per_t[chosen])},
        "operating_point_without_negated_questions": point(ds, per_t[chosen], ~negated),
        "nested": {"pooled": point(ds, pooled), "per_article": nested},
        "curve": curve,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("squad_dir", type=Path)
    parser.add_argument("--write", action="store_true", help="write the model and results")
    args = parser.parse_args()
    configure_offline()
    ds = load_squad(args.squad_dir)
    rows = build_rows(ds, get_settings())
    results = evaluate(ds, rows)
    op = results["operating_point"]
    assert isinstance(op, dict)
    print(json.dumps({k: v for k, v in results.items() if k != "curve"}, indent=1))
    if args.write:
        model = fit(rows.features, rows.labels, float(op["threshold"]))
        MODEL_PATH.write_text(model.to_json(trained_on=f"{ds.name}: {len(ds.questions)} questions"))
        RESULTS_PATH.write_text(json.dumps(results, indent=1) + "\n")
        curve = results["curve"]
        assert isinstance(curve, list)
        CURVE_PATH.write_text(curve_svg(curve, float(op["threshold"])) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
