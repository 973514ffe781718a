"""Comparison questions read every compared subject's article: the question is also retrieved
once per subject, and the passages are taken in turn from each list."""

from __future__ import annotations

from typing import Any

import pytest

from indexer.kernel.models import Chunk
from service.pipeline import comparison_sides
from service.retrieval.sided import take_turns

HUAWEI = "000_036ae5c0f0d48a4b.txt"
HAIER = "003_85cac0987b05356f.txt"
BYD = "002_94c265289fa83bff.txt"


def _chunk(name: str) -> Chunk:
    return Chunk(id=name, source=f"{name}.txt", title=name, text=name, char_start=0,
                 char_end=1, line_start=1, line_end=1, chunk_index=0, content_hash="h",
                 doc_hash="d")  # fmt: skip


def test_turns_alternate_skip_repeats_keep_the_best_score_and_stop_at_the_limit() -> None:
    a, b, c, d = (_chunk(n) for n in "abcd")
    whole = [(a, 0.03), (b, 0.02), (c, 0.01)]
    side = [(b, 0.05), (d, 0.01)]
    assert [(ch.id, s) for ch, s in take_turns([whole, side], 3)] == [
        ("a", 0.03), ("b", 0.05), ("d", 0.01)
    ]  # fmt: skip
    assert [ch.id for ch, _ in take_turns([whole, side], 10)] == ["a", "b", "d", "c"]
    assert take_turns([], 3) == []


def test_only_questions_comparing_named_subjects_are_split() -> None:
    question = "How do Huawei's and Haier's approaches to going global differ?"
    assert len(comparison_sides(question)) == 2
    assert comparison_sides("How many R&D centers does Huawei have?") == []
    assert comparison_sides("What do the articles say about partners and suppliers?") == []


@pytest.mark.parametrize(
    ("question", "files"),
    [
        ("Compare Haier and BYD.", {HAIER, BYD}),
        ("Which executives speak for Huawei and for Haier in these articles?", {HUAWEI, HAIER}),
    ],
)
def test_a_comparison_retrieves_passages_of_every_subject(
    real_pipeline: Any, question: str, files: set[str]
) -> None:
    sources = {p.chunk.source for p in real_pipeline.search(question, top_k=5)}
    assert files <= sources


def test_a_question_comparing_nothing_is_retrieved_once_and_unchanged(real_pipeline: Any) -> None:
    question = "What did BYD negotiate with KG Mobility?"
    inner = real_pipeline.retriever._inner.retrieve(question, 5, None).hits
    assert real_pipeline.retriever.retrieve(question, 5, None).hits == inner


def test_a_comparison_answer_quotes_both_subjects_articles(real_pipeline: Any) -> None:
    answer = real_pipeline.ask("Compare Huawei's and Haier's approaches to going global")
    assert answer.answerable
    cited = {c.source for c in answer.citations}
    assert HAIER in cited
    assert cited & {HUAWEI, "001_70ce82c261bb06ec.txt"}
