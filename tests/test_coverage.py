"""A comparison answered for one side only says which side it leaves out
(`service/answering/coverage.py`), in `ask` and in the stream alike."""

from __future__ import annotations

import pytest

from indexer.kernel.models import Chunk, Citation, Passage
from service.answering.coverage import compared, gap_note, uncovered
from service.events import FinalEvent, TokenEvent
from service.pipeline import Pipeline


@pytest.mark.parametrize(
    ("question", "subjects"),
    [
        ("How do Huawei's and Haier's approaches to going global differ?", ["Huawei", "Haier"]),
        ("Compare how BYD and Haier grew overseas.", ["BYD", "Haier"]),
        ("Which executives speak for Huawei and for BYD?", ["Huawei", "BYD"]),
        ("Who is the Chairman and CEO of Haier Group?", []),  # side by side, compares nothing
        ("What do Huawei and Haier say about Qingdao?", []),  # no comparing word
        ("How many R&D centers does Huawei have?", []),
    ],
)
def test_only_subjects_named_side_by_side_in_a_comparison_count(
    question: str, subjects: list[str]
) -> None:
    assert list(compared(question).values()) == subjects


def _passage(n: int, text: str) -> Passage:
    chunk = Chunk(id=f"c{n}", source=f"{n}.txt", title=f"{n}.txt", text=text, char_start=0,
                  char_end=len(text), line_start=1, line_end=1, chunk_index=0, content_hash="h",
                  doc_hash="d")  # fmt: skip
    return Passage(n=n, chunk=chunk, score=1.0)


def _cite(n: int, quote: str) -> Citation:
    return Citation(n=n, source=f"{n}.txt", title=f"{n}.txt", line_start=1, line_end=1,
                    char_start=0, char_end=len(quote), quote=quote, score=1.0)  # fmt: skip


def test_a_side_counts_as_covered_by_the_answer_a_quote_or_the_quoted_passage() -> None:
    q = "How do Huawei and Haier differ in R&D?"
    huawei = _passage(1, "Huawei has 16 R&D centers. It works with partners.")
    haier = _passage(2, "Haier runs labs worldwide. The company shares results with users.")
    answer = "Huawei has 16 R&D centers [1]."
    assert uncovered(q, answer, [_cite(1, "Huawei has 16 R&D centers.")], [huawei, haier]) == [
        "Haier"
    ]
    # A quote that says "the company" still covers Haier: its passage names it.
    both = [_cite(1, "Huawei has 16 R&D centers."), _cite(2, "The company shares results.")]
    assert uncovered(q, answer + " The company shares results [2].", both, [huawei, haier]) == []
    assert gap_note(["Haier"]) == "The passages found do not answer this for Haier."
    assert gap_note(["A", "B", "C"]).endswith("for A, B and C.")


def test_the_note_ends_the_answer_and_the_stream_alike(real_pipeline: Pipeline) -> None:
    q = "How do Huawei and BYD differ in how they share value with partners?"
    answer = real_pipeline.ask(q)
    assert answer.answerable
    note = gap_note(["BYD"])
    assert answer.answer.endswith(" " + note)
    assert all("BYD" not in c.quote for c in answer.citations)
    events = list(real_pipeline.stream_ask(q))
    final = next(e for e in events if isinstance(e, FinalEvent))
    assert "".join(e.text for e in events if isinstance(e, TokenEvent)) == final.answer
    assert final.answer == answer.answer


def test_an_answer_covering_every_side_gets_no_note(real_pipeline: Pipeline) -> None:
    answer = real_pipeline.ask("Compare how BYD and Haier grew overseas.")
    assert answer.answerable
    assert "do not answer this for" not in answer.answer
