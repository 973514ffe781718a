"""The joined reader with a scripted LLM: the evidence it reads, and our code deciding what is
cited and when to refuse (service/answering/reader.py, context.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from indexer.kernel.models import NOT_FOUND_MESSAGE, REFUSAL_TOKEN, Passage
from indexer.kernel.settings import Settings
from service.answering.context import CHARS_PER_TOKEN, answer_limits
from service.answering.extractive import ExtractiveAnswerer
from service.answering.factory import build_answerers
from service.answering.reader import (
    GATE_THRESHOLD,
    RESCUE_THRESHOLD,
    EvidenceReader,
    RepeatGuard,
    aligned_cites,
    answer_evidence,
    fits_kind,
)
from service.events import FinalEvent, TokenEvent
from service.pipeline import Pipeline
from tests.conftest import seed_paragraph_chunks

QUESTION = "How many R&D centers does Huawei have?"


class ScriptedLLM:
    """Replies with `reply`, streamed a few characters at a time; records what it was sent."""

    name = "scripted"

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.sent: list[list[dict[str, str]]] = []
        self.max_tokens: list[int | None] = []

    def complete(self, messages: list[dict[str, str]], max_tokens: int | None = None) -> str:
        self.sent.append(messages)
        self.max_tokens.append(max_tokens)
        return self.reply

    def stream_messages(
        self, messages: list[dict[str, str]], max_tokens: int | None = None
    ) -> Iterator[str]:
        self.sent.append(messages)
        for i in range(0, len(self.reply), 3):
            yield self.reply[i : i + 3]


def _reader(seed_pipeline: Pipeline, reply: str, budget: int = 300) -> tuple[Any, ScriptedLLM]:
    llm = ScriptedLLM(reply)
    embedder = seed_pipeline.embedder
    reader = EvidenceReader(llm, ExtractiveAnswerer(embedder), budget, embedder.embed_documents)
    pipeline = Pipeline(seed_pipeline.settings, embedder, seed_pipeline.store, reader,
                        retriever=seed_pipeline.retriever)  # fmt: skip
    return pipeline, llm


def test_the_model_reads_scored_sentences_within_the_budget(seed_pipeline: Pipeline) -> None:
    pipeline, llm = _reader(seed_pipeline, "Huawei has 16 R&D centers [1].", budget=120)
    answer = pipeline.ask(QUESTION)
    assert answer.answerable and "16 R&D centers" in answer.answer
    system, user = llm.sent[-1]
    assert REFUSAL_TOKEN in system["content"] and "untrusted" in system["content"]
    body = user["content"].split("<question>")[0]
    assert "16 R&D centers" in body  # the best sentence is there...
    assert len(body) < 120 * CHARS_PER_TOKEN + 400  # ...within the budget (plus the markup)
    assert len(body) < sum(len(p.chunk.text) for p in answer.passages) / 2
    assert llm.max_tokens[-1] == answer_limits(QUESTION)[1]


def test_a_comparison_reads_evidence_from_each_article(seed_pipeline: Pipeline) -> None:
    chunks = seed_paragraph_chunks()
    huawei = [c for c in chunks if "Huawei" in c.text and "innovation" in c.text][:3]
    haier = [c for c in chunks if "Haier" in c.text][:2]
    passages = [Passage(n=i, chunk=c, score=1.0) for i, c in enumerate([*huawei, *haier], 1)]
    llm = ScriptedLLM(REFUSAL_TOKEN)
    embedder = seed_pipeline.embedder
    reader = EvidenceReader(llm, ExtractiveAnswerer(embedder), 300, embedder.embed_documents)
    reader.answer("How do Huawei's and Haier's approaches to innovation differ?", passages)
    body = llm.sent[-1][1]["content"]
    sources = {line.split('source="')[1].split('"')[0]
               for line in body.splitlines() if 'source="' in line}  # fmt: skip
    assert haier[0].source in sources and sources & {c.source for c in huawei}


def test_a_refusal_with_strong_evidence_answers_from_the_evidence(seed_pipeline: Pipeline) -> None:
    pipeline, _ = _reader(seed_pipeline, REFUSAL_TOKEN)
    answer = pipeline.ask(QUESTION)
    assert answer.answerable and "16 R&D centers" in answer.answer
    assert all(c.quote in answer.answer for c in answer.citations)  # quoted, verbatim


def test_the_rescue_threshold_decides_when_the_evidence_overrules_a_refusal(
    seed_pipeline: Pipeline,
) -> None:
    embedder = seed_pipeline.embedder
    strict = EvidenceReader(ScriptedLLM(REFUSAL_TOKEN), ExtractiveAnswerer(embedder), 300,
                            embedder.embed_documents, rescue=1.0)  # fmt: skip
    passages = seed_pipeline.search(QUESTION)
    assert not strict.answer(QUESTION, passages).answerable
    lenient = EvidenceReader(ScriptedLLM(REFUSAL_TOKEN), ExtractiveAnswerer(embedder), 300,
                             embedder.embed_documents, rescue=0.0)  # fmt: skip
    assert "16 R&D centers" in lenient.answer(QUESTION, passages).text


def test_the_rescue_threshold_comes_from_the_settings(seed_pipeline: Pipeline) -> None:
    settings = Settings(answerer="openai", llm_base_url="http://127.0.0.1:9/v1",
                        llm_context="evidence", rescue_threshold=0.9)  # fmt: skip
    reader, _ = build_answerers(settings, seed_pipeline.embedder)
    assert isinstance(reader, EvidenceReader) and reader.rescue == 0.9


def test_the_gate_is_a_floor_on_the_evidence_an_answer_leans_on(seed_pipeline: Pipeline) -> None:
    embedder = seed_pipeline.embedder
    reply = "Huawei has 16 R&D centers [1]."
    reader = EvidenceReader(ScriptedLLM(reply), ExtractiveAnswerer(embedder), 300,
                            embedder.embed_documents)  # fmt: skip
    passages = seed_pipeline.search(QUESTION)
    context = reader.context(QUESTION, passages)
    evidence = answer_evidence(aligned_cites(reply, context, embedder.embed_documents), context)
    assert evidence > 0
    kept = reader.draft(reply, context, QUESTION, rescue=2.0, gate=evidence)
    assert kept.answerable and kept.text.startswith(reply)
    assert not reader.draft(reply, context, QUESTION, rescue=2.0, gate=evidence + 0.01).answerable


def test_a_refusal_with_weak_evidence_stays_a_refusal(seed_pipeline: Pipeline) -> None:
    pipeline, _ = _reader(seed_pipeline, REFUSAL_TOKEN)
    answer = pipeline.ask("What is the capital of Australia?")
    assert not answer.answerable and answer.answer == NOT_FOUND_MESSAGE


def test_an_answer_from_outside_knowledge_is_refused(seed_pipeline: Pipeline) -> None:
    pipeline, _ = _reader(seed_pipeline, "The capital of Australia is Canberra [1].")
    answer = pipeline.ask("What is the capital of Australia?")
    assert not answer.answerable and answer.citations == []


WHERE = "Where are Huawei's R&D centers?"


def test_evidence_the_model_did_not_use_is_quoted_after_its_answer(
    seed_pipeline: Pipeline,
) -> None:
    """The model answered from a neighbouring sentence: the scorer's own choice is added,
    quoted and cited, after the model's words."""
    top = ExtractiveAnswerer(seed_pipeline.embedder).answer(WHERE, seed_pipeline.search(WHERE))
    assert top.answerable and "16 R&D centers" in top.text
    reply = "Huawei is transforming its value chain into a global innovation platform [1]."
    answer = _reader(seed_pipeline, reply)[0].ask(WHERE)
    assert answer.answer.startswith("Huawei is transforming its value chain")
    assert "16 R&D centers in resource-rich locations" in answer.answer
    assert any("16 R&D centers" in c.quote for c in answer.citations)
    assert any("transforming its value chain" in c.quote for c in answer.citations)


def test_evidence_the_model_used_is_not_repeated(seed_pipeline: Pipeline) -> None:
    answer = _reader(seed_pipeline, "Huawei has 16 R&D centers [1].")[0].ask(QUESTION)
    assert answer.answer.startswith("Huawei has 16 R&D centers")
    assert "resource-rich" not in answer.answer and answer.answer.count("16 R&D") == 1


def test_a_who_answer_without_a_name_is_not_an_answer() -> None:
    assert not fits_kind("Who is the CEO of BYD?", "BYD is a global leader in NEVs [1].")
    assert fits_kind("Who is the CEO of BYD?", "BYD is led by Wang Chuanfu [1].")
    assert not fits_kind(QUESTION, "Huawei has many R&D centers [1].")
    assert fits_kind(QUESTION, "Huawei has 16 R&D centers [1].")


def test_the_stream_hides_a_refusal_and_ends_with_the_same_answer(
    seed_pipeline: Pipeline,
) -> None:
    pipeline, _ = _reader(seed_pipeline, REFUSAL_TOKEN)
    events = list(pipeline.stream_ask(QUESTION))
    shown = "".join(e.text for e in events if isinstance(e, TokenEvent))
    assert REFUSAL_TOKEN[:6] not in shown
    final = next(e for e in events if isinstance(e, FinalEvent))
    assert final.answer == pipeline.ask(QUESTION).answer and final.answerable


def test_streamed_answer_equals_the_plain_one(seed_pipeline: Pipeline) -> None:
    pipeline, _ = _reader(seed_pipeline, "Huawei has 16 R&D centers [2].")
    events = list(pipeline.stream_ask(QUESTION))
    assert "".join(e.text for e in events if isinstance(e, TokenEvent)).startswith("Huawei has")
    final = next(e for e in events if isinstance(e, FinalEvent))
    plain = pipeline.ask(QUESTION)
    assert (final.answer, final.citations) == (plain.answer, plain.citations)


def test_a_looping_reply_is_cut_at_the_first_repeat() -> None:
    guard = RepeatGuard()
    assert guard.feed("Huawei has 16 R&D centers [1]. It has 28 joint centers [1]. ")
    assert not guard.feed("Huawei has 16 R&D centers [1]. Huawei has 16")
    assert guard.text.count("16 R&D") == 1


@pytest.mark.parametrize(("question", "sentences"), [(QUESTION, 1),
                         ("Why do Huawei's partners grow?", 3)])  # fmt: skip
def test_answer_length_follows_the_question(question: str, sentences: int) -> None:
    assert answer_limits(question)[0] == sentences


def test_thresholds_are_ordered() -> None:
    assert 0 < GATE_THRESHOLD < RESCUE_THRESHOLD < 1


def test_the_system_message_is_the_same_whatever_the_answer_limit(seed_pipeline: Pipeline) -> None:
    """The model's slot reuses the rules only while they are byte-identical: the per-question
    sentence limit goes after the question."""
    pipeline, llm = _reader(seed_pipeline, "Huawei has 16 R&D centers [1].")
    why = "Why do Huawei's partners grow?"
    assert answer_limits(QUESTION)[0] != answer_limits(why)[0]
    pipeline.ask(QUESTION)
    pipeline.ask(why)
    (system_a, user_a), (system_b, user_b) = llm.sent[-2], llm.sent[-1]
    assert system_a == system_b
    assert user_a["content"].endswith("at most 1 sentence.")
    assert user_b["content"].endswith(f"at most {answer_limits(why)[0]} sentences.")
