"""Lists written as prose: an introduction that announces a count, then items opening with
ordinals, possibly spread over two retrieved chunks of the same file."""

from __future__ import annotations

from indexer.kernel.models import Chunk, Passage
from indexer.sentence_vectors import sentence_spans
from service.answering.enumeration import announced_count, list_items, ordinal
from service.answering.evidence import Sentence, prepare_question
from service.answering.select import reading_order

FIRST = (
    "Research suggests that leading firms need to fulfil four essential roles. "
    "First, they act as architects of new industries. They decide who may enter. "
    "Second, they serve as strategic leaders. This covers governance."
)
SECOND = (
    "Third, they act as gatekeepers of knowledge. They connect networks. "
    "Fourth, they act as value distributors. Each partner gets a fair share. "
    "Other companies make toys."
)


def _passage_sentences(text: str, n: int, char_start: int, source: str = "a.txt") -> list[Sentence]:
    chunk = Chunk(id=f"{source}-{n}", source=source, title=source, text=text,
                  char_start=char_start, char_end=char_start + len(text), line_start=1,
                  line_end=1, chunk_index=n, content_hash="h", doc_hash="d")  # fmt: skip
    passage = Passage(n=n, chunk=chunk, score=1.0)
    return [Sentence(passage, i, a, b, text[a:b]) for i, (a, b) in enumerate(sentence_spans(text))]


def _texts(sentences: list[Sentence], picked: list[int]) -> list[str]:
    return [sentences[i].text for i in reading_order(sentences, picked)]


def test_ordinals_and_counts_are_read_from_the_prose() -> None:
    assert ordinal("Secondly, it is crucial ...") == 2
    assert ordinal("“Finally, ...") == 99
    assert ordinal("The first step ...") is None
    assert announced_count("firms need to fulfil four essential roles.") == 4
    assert announced_count("Huawei has 16 R&D centers.") is None


def test_a_list_question_gets_each_numbered_item_across_chunks_without_the_explanations() -> None:
    # The second chunk was retrieved first (passage 1): items still come in document order.
    sentences = _passage_sentences(SECOND, 1, 400) + _passage_sentences(FIRST, 2, 0)
    head = next(i for i, s in enumerate(sentences) if "four essential roles" in s.text)
    q = prepare_question("Name the four roles that leading firms play.")
    assert q.listy
    assert _texts(sentences, list_items(q, sentences, [head])) == [
        "Research suggests that leading firms need to fulfil four essential roles.",
        "First, they act as architects of new industries.",
        "Second, they serve as strategic leaders.",
        "Third, they act as gatekeepers of knowledge.",
        "Fourth, they act as value distributors.",
    ]


def test_a_fact_question_keeps_the_single_sentence_and_other_files_are_not_items() -> None:
    sentences = _passage_sentences(FIRST, 1, 0) + _passage_sentences(SECOND, 2, 400, "b.txt")
    head = next(i for i, s in enumerate(sentences) if "four essential roles" in s.text)
    fact = prepare_question("Who did the research on leading firms?")
    assert list_items(fact, sentences, [head]) == [head]
    listy = prepare_question("What roles do leading firms have to play?")
    picked = _texts(sentences, list_items(listy, sentences, [head]))
    assert picked[1:] == ["First, they act as architects of new industries.",
                          "Second, they serve as strategic leaders."]  # fmt: skip


BULLETS = (
    "What is a shared lab and why does it matter?\n"
    "A shared lab is a facility that several firms run together.\n"
    "- Lower cost: each member pays a part of the equipment.\n"
    "- Faster work: teams reuse each other's results. It saves months.\n"
    "- Less risk: a failed project hurts no single member.\n"
    "Members meet twice a year."
)


def test_a_list_question_gets_the_bulleted_run_its_sentence_introduces_or_belongs_to() -> None:
    sentences = _passage_sentences(BULLETS, 1, 0)
    definition = next(i for i, s in enumerate(sentences) if s.text.startswith("A shared lab"))
    items = ["- Lower cost: each member pays a part of the equipment.",
             "- Faster work: teams reuse each other's results.",
             "- Less risk: a failed project hurts no single member."]  # fmt: skip
    q = prepare_question("What are the advantages of a shared lab?")
    assert _texts(sentences, list_items(q, sentences, [definition]))[1:] == items
    middle = next(i for i, s in enumerate(sentences) if s.text.startswith("- Faster"))
    assert _texts(sentences, list_items(q, sentences, [middle])) == items
    # A question that asks for one fact keeps its one sentence.
    fact = prepare_question("Who runs the shared lab?")
    assert not fact.listy
    assert list_items(fact, sentences, [definition]) == [definition]


def test_a_list_question_follows_its_sentence_into_the_list_the_next_sentence_opens() -> None:
    text = ("Few firms have stood firm abroad. The main problems are: First, cheap labour left a "
            "cheap image; Second, big brands squeeze them. Later years were better.")  # fmt: skip
    sentences = _passage_sentences(text, 1, 0)
    q = prepare_question("What problems have held these firms back?")
    picked = _texts(sentences, list_items(q, sentences, [0]))
    assert picked == ["Few firms have stood firm abroad.", sentences[1].text]
    assert "Second, big brands" in picked[1]
