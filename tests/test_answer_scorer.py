"""The answer scorer's parts: the committed model, sentence choice, abbreviations, index-time
sentence vectors. Behaviour that could break, each checked on real inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from evals.train_scorer import RESULTS_PATH, operating_threshold
from indexer.abbreviations import find_abbreviations
from indexer.kernel.errors import ScorerModelError
from indexer.kernel.models import Chunk, Passage
from indexer.sentence_vectors import decode, embed_with_sentences, sentence_spans
from indexer.store.base import FileEntry, Manifest
from indexer.text.lexical import with_date_parts
from service.answering.candidates import SentenceVectors
from service.answering.enumeration import list_items
from service.answering.evidence import FEATURES, Sentence, featurize, prepare_question
from service.answering.scorer import MODEL_PATH, load_model, parse_model
from service.answering.select import choose, reading_order


def _chunk(text: str, source: str = "a.txt", n: int = 0) -> Chunk:
    return Chunk(id=f"{source}-{n}", source=source, title=source, text=text, char_start=0,
                 char_end=len(text), line_start=1, line_end=1, chunk_index=n,
                 content_hash="h", doc_hash="d")  # fmt: skip


def test_the_committed_model_matches_the_features_and_its_results() -> None:
    model = load_model()
    assert model.coef.shape == (len(FEATURES),)
    results = json.loads(RESULTS_PATH.read_text())
    assert results["operating_point"]["threshold"] == pytest.approx(model.threshold)


def test_a_model_for_other_features_is_refused() -> None:
    body = json.loads(MODEL_PATH.read_text())
    body["features"] = body["features"][:-1]
    with pytest.raises(ScorerModelError, match="feature list"):
        parse_model(json.dumps(body))


def test_the_operating_point_is_the_highest_threshold_within_the_false_abstention_budget() -> None:
    points = {t: {"false_abstention": fa} for t, fa in ((0.1, 0.05), (0.2, 0.14), (0.3, 0.4))}
    assert operating_threshold(points) == 0.2


@pytest.mark.parametrize(
    ("text", "short", "long"),
    [
        ("Spending on research and development (R&D) rose.", "R&D", "research and development"),
        ("The European Union (EU) grew.", "EU", "European Union"),
        (
            "CJEU (Court of Justice of the European Union) ruled.",
            "CJEU",
            "Court of Justice of the European Union",
        ),
    ],
)
def test_abbreviations_the_text_defines_are_found(text: str, short: str, long: str) -> None:
    assert find_abbreviations(text) == {short: long}


def test_a_parenthesis_that_is_not_an_abbreviation_is_ignored() -> None:
    assert find_abbreviations("Huawei (China) and Haier (Qingdao) grew.") == {}


def test_a_question_is_expanded_both_ways_with_the_corpus_abbreviations() -> None:
    abbreviations = Manifest(embed_model="m", dim=3, files={
        "a": FileEntry(source="a", doc_hash="h", title="a", chunks=1, bytes=1,
                       abbreviations={"R&D": "research and development"}),
    }).abbreviations()  # fmt: skip
    long_form = prepare_question("How many research and development centers?", abbreviations)
    assert "r&d" in long_form.terms
    short_form = prepare_question("How many R&D centers are there?", abbreviations)
    assert {"research", "development"} <= set(short_form.terms)


def _sentences(texts: list[str]) -> list[Sentence]:
    chunk = _chunk("\n".join(texts))
    passage = Passage(n=1, chunk=chunk, score=1.0)
    spans = sentence_spans(chunk.text)
    return [Sentence(passage, i, a, b, chunk.text[a:b]) for i, (a, b) in enumerate(spans)]


def test_a_factoid_gets_one_sentence_a_list_several_and_near_duplicates_are_skipped() -> None:
    texts = ["Haier has 10 centers in all.", "In all, Haier has 10 centers.",
             "Haier sells fridges.", "Haier makes washers."]  # fmt: skip
    scores = np.array([0.9, 0.85, 0.8, 0.75])
    how_many = prepare_question("How many centers does Haier have?")
    assert choose(how_many, texts, scores, threshold=0.5, extra_ratio=0.8) == [0]
    which = prepare_question("What products does Haier make and sell?")
    assert choose(which, texts, scores, threshold=0.5, extra_ratio=0.8) == [0, 2, 3]
    assert choose(how_many, texts, scores, threshold=0.95, extra_ratio=0.8) == []


def test_a_list_introduction_brings_its_items_in_reading_order() -> None:
    sentences = _sentences(["Intro text here.", "It works in three ways:", "First, a.",
                            "Second, b.", "Third, c."])  # fmt: skip
    picked = list_items(prepare_question("How does it work?"), sentences, [1])
    assert [sentences[i].text for i in reading_order(sentences, picked)] == [
        "It works in three ways:", "First, a.", "Second, b.", "Third, c."]  # fmt: skip


def test_sentence_vectors_are_computed_at_index_time_and_decoded(seed_embedder: object) -> None:
    from indexer.embedding.base import Embedder

    assert isinstance(seed_embedder, Embedder)
    chunk = _chunk("Huawei has 16 R&D centers. Haier runs Qingdao plants.")
    (stored,), vectors = embed_with_sentences(seed_embedder, [chunk])
    assert [chunk.text[a:b] for a, b in stored.sentences] == [
        "Huawei has 16 R&D centers.", "Haier runs Qingdao plants."]  # fmt: skip
    decoded = decode(stored)
    assert decoded is not None and decoded.shape == (2, seed_embedder.dim)
    direct = seed_embedder.embed_documents(["Huawei has 16 R&D centers.",
                                            "Haier runs Qingdao plants."])  # fmt: skip
    assert np.allclose(decoded, direct, atol=2e-3)  # float16 storage
    assert np.allclose(vectors[0], seed_embedder.embed_documents([chunk.text])[0], atol=1e-5)
    # A chunk from an index without sentence vectors still gets them, embedded on demand.
    lazy, lazy_vectors = SentenceVectors(seed_embedder.embed_documents).candidates(
        [Passage(n=1, chunk=chunk, score=1.0)]
    )
    assert [s.text for s in lazy] == ["Huawei has 16 R&D centers.", "Haier runs Qingdao plants."]
    assert np.allclose(lazy_vectors, direct, atol=1e-5)


def test_features_reward_the_answer_type_the_question_asks_for(seed_embedder: object) -> None:
    from indexer.embedding.base import Embedder

    assert isinstance(seed_embedder, Embedder)
    sentences = _sentences(["Huawei has 16 research centers worldwide.",
                            "Huawei research centers work with universities."])  # fmt: skip
    vectors = seed_embedder.embed_documents([s.text for s in sentences])
    q = prepare_question("How many research centers does Huawei have?")
    x = featurize(q, sentences, vectors, seed_embedder.embed_query(q.text))
    fit = FEATURES.index("fit_count")
    assert x[0, fit] == 1.0 and x[1, fit] == 0.0
    assert load_model().score(x)[0] > load_model().score(x)[1]


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("In what year did the company open its first plant?", "when"),
        ("Since when has she led the firm?", "when"),
        ("Which cities are the research centres in?", "where"),
        ("In which country was it founded?", "where"),
        ("In what way does the model work?", "other"),
    ],
)
def test_the_answer_kind_survives_a_leading_preposition(question: str, kind: str) -> None:
    assert prepare_question(question).kind == kind


def test_a_year_inside_a_dotted_date_counts_as_the_number_the_question_names() -> None:
    assert "2024" in with_date_parts({"2024.11.26", "china"})
    assert with_date_parts({"3.5", "2019"}) == {"3.5", "2019"}  # a decimal is not a date


def test_the_ceiling_benchmark_ranks_each_key_fact_among_candidates(real_pipeline: object) -> None:
    from pathlib import Path

    from benchmarks.answer_ceiling import fact_ranks, shares
    from evals.schema import load_gold

    gold = load_gold(Path(__file__).resolve().parent.parent / "evals" / "gold.yaml")
    picked = [q for q in gold.questions if q.id in {"huawei-rd-centers", "na-ken-hu-age"}]
    ranks = fact_ranks(real_pipeline, picked)  # type: ignore[arg-type]
    assert ranks == {"original": [0]}  # the unanswerable question has no key fact to rank
    third, two_thirds = 1 / 3, 2 / 3
    expected = {"best 1": third, "best 2": third, "best 3": third, "best 5": two_thirds,
                "best 10": two_thirds, "any candidate": two_thirds}  # fmt: skip
    assert shares([0, 3, None]) == pytest.approx(expected)
