"""A quoted sentence that leans on its neighbour brings it: the reason before "Therefore, ...",
the referent of "This ...", and for why/how questions the explanation that follows."""

from __future__ import annotations

from indexer.kernel.models import Chunk, Passage
from indexer.sentence_vectors import sentence_spans
from service.answering.discourse import elaborates, leans_back, with_neighbours
from service.answering.evidence import Sentence, prepare_question

TEXT = (
    "Acme builds its products with many partners. "
    "Therefore, when Acme grows, its partners grow as well. "
    "Acme also sells bikes. "
    "Such sales are essential because they fund research. "
    "The weather was fine."
)


def _sentences() -> list[Sentence]:
    chunk = Chunk(id="a-0", source="a.txt", title="a", text=TEXT, char_start=0,
                  char_end=len(TEXT), line_start=1, line_end=1, chunk_index=0,
                  content_hash="h", doc_hash="d")  # fmt: skip
    passage = Passage(n=1, chunk=chunk, score=1.0)
    return [Sentence(passage, i, a, b, TEXT[a:b]) for i, (a, b) in enumerate(sentence_spans(TEXT))]


def test_connectives_and_pronouns_are_recognised_at_the_start_only() -> None:
    assert leans_back("Therefore, when Acme grows ...")
    assert leans_back("This involves open lines of communication.")
    assert not leans_back("Acme grows, therefore partners grow.")
    assert elaborates("Such transparency is essential.")
    assert not elaborates("The weather was fine.")


def test_a_consequence_brings_its_reason_and_a_why_answer_its_explanation() -> None:
    sentences = _sentences()
    why = prepare_question("Why do Acme's partners do well?")
    assert with_neighbours(why, sentences, [1]) == [1, 0]
    assert with_neighbours(why, sentences, [2]) == [2, 3]
    fact = prepare_question("What does Acme sell?")
    assert with_neighbours(fact, sentences, [2]) == [2]  # the next sentence only for why/how
    assert with_neighbours(fact, sentences, [4]) == [4]
