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


def test_a_neighbour_in_another_chunk_of_the_file_is_found_and_a_gap_is_not_bridged() -> None:
    cut = TEXT.index("Therefore")
    first, second = TEXT[:cut], TEXT[cut:]

    def passage(n: int, text: str, start: int, source: str = "a.txt") -> list[Sentence]:
        chunk = Chunk(id=f"{source}-{n}", source=source, title="a", text=text, char_start=start,
                      char_end=start + len(text), line_start=1, line_end=1, chunk_index=n,
                      content_hash="h", doc_hash="d")  # fmt: skip
        p = Passage(n=n, chunk=chunk, score=1.0)
        return [Sentence(p, i, a, b, text[a:b]) for i, (a, b) in enumerate(sentence_spans(text))]

    # The later chunk was retrieved first: neighbours follow the file, not the passage order.
    sentences = passage(1, second, cut) + passage(2, first, 0)
    reason = next(i for i, s in enumerate(sentences) if s.text.startswith("Acme builds"))
    therefore = next(i for i, s in enumerate(sentences) if s.text.startswith("Therefore"))
    why = prepare_question("Why do Acme's partners do well?")
    assert with_neighbours(why, sentences, [therefore]) == [therefore, reason]
    assert with_neighbours(why, sentences, [reason]) == [reason, therefore]
    # The same sentences in another file, or with text missing between them, are not neighbours.
    elsewhere = passage(1, second, cut, "b.txt") + passage(2, first, 0)
    assert with_neighbours(why, elsewhere, [0]) == [0]
    gap = passage(1, second, cut + 40) + passage(2, first, 0)
    assert with_neighbours(why, gap, [0]) == [0]
