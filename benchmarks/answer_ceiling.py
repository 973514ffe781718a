"""How far sentence choice can go: for each gold key fact, the rank (by the answer scorer) of the
first candidate sentence that states it, over the passages an answer reads.

    PYTHONPATH=. python -m benchmarks.answer_ceiling [evals/gold.yaml]

Prints, per style, the share of key facts found in the best 1, 2, 3, 5 and 10 sentences and in
any candidate: the ceiling of an extractive answer quoting that many sentences, and of retrieval.
Needs an index of the gold set's corpus (`citeline index seeds`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from evals.metrics import phrase_in
from evals.schema import GoldQuestion, load_gold
from service.answering.extractive import ExtractiveAnswerer
from service.pipeline import Pipeline

CUTS = (1, 2, 3, 5, 10)


Ranks = dict[str, list[int | None]]


def fact_ranks(pipeline: Pipeline, questions: Sequence[GoldQuestion]) -> Ranks:
    """Style -> the rank (0 = best) of each key fact's first stating sentence, None if none."""
    answerer = pipeline.answerer
    if not isinstance(answerer, ExtractiveAnswerer):
        raise SystemExit("the ceiling is measured with the extractive answerer's scorer")
    out: dict[str, list[int | None]] = {}
    for q in questions:
        if not q.answerable:
            continue
        _, passages, _ = pipeline.read(q.question)
        sentences, scores, _, _ = answerer.scored(q.question, passages)
        order = [int(i) for i in np.argsort(-scores, kind="stable")]
        for fact in q.key_facts:
            rank = next((r for r, i in enumerate(order)
                         if any(phrase_in(p, sentences[i].text) for p in fact)), None)  # fmt: skip
            out.setdefault(q.style, []).append(rank)
    return out


def shares(ranks: Sequence[int | None]) -> dict[str, float]:
    n = max(1, len(ranks))
    row = {f"best {k}": sum(r is not None and r < k for r in ranks) / n for k in CUTS}
    row["any candidate"] = sum(r is not None for r in ranks) / n
    return row


def main(argv: Sequence[str]) -> int:
    from indexer.kernel.settings import get_settings
    from indexer.runtime import configure_offline
    from service.pipeline import build_pipeline

    configure_offline()
    gold = load_gold(Path(argv[0]) if argv else Path("evals/gold.yaml"))
    for style, ranks in sorted(fact_ranks(build_pipeline(get_settings()), gold.questions).items()):
        cells = "  ".join(f"{k} {v:.3f}" for k, v in shares(ranks).items())
        print(f"{style:<11} {len(ranks):>4} key facts  {cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
