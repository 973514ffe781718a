"""Metric functions against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from evals import metrics as m


def test_normalize_folds_case_punctuation_and_spacing() -> None:
    assert m.normalize_text("  R&D   Centers!") == "r d centers"
    assert m.normalize_text("“One person, one unit”") == "one person one unit"
    assert m.normalize_text("Haier’s") == "haier s"


def test_phrase_in_matches_whole_words_only() -> None:
    assert m.phrase_in("16", "Huawei has 16 R&D centers")
    assert not m.phrase_in("16", "In 2016, Haier acquired GE")
    assert m.phrase_in("R&D centres", "sixteen r-d  CENTRES")
    assert m.phrase_in("266.1 billion", "an operating income of 266.1 billion, up 10%")
    assert not m.phrase_in("!!!", "anything")


def test_key_fact_recall_counts_facts_not_phrasings() -> None:
    facts = [["16", "sixteen"], ["R&D centers", "research and development centers"], ["Qingdao"]]
    text = "Huawei has sixteen research and development centers."
    assert m.facts_found(facts, text) == [True, True, False]
    assert m.key_fact_recall(facts, text) == pytest.approx(2 / 3)
    assert m.key_fact_recall([], text) == 1.0


def test_hit_at_k_and_reciprocal_rank() -> None:
    ranked = ["b.txt", "c.txt", "a.txt", "a.txt", "d.txt"]
    gold = {"a.txt"}
    assert m.first_relevant_rank(ranked, gold) == 3
    assert [m.hit_at_k(ranked, gold, k) for k in (1, 3, 5)] == [0.0, 1.0, 1.0]
    assert m.reciprocal_rank(ranked, gold) == pytest.approx(1 / 3)
    assert m.reciprocal_rank(ranked, gold, k=2) == 0.0
    assert m.reciprocal_rank(ranked, {"z.txt"}) == 0.0
    # Any of several gold sources counts (comparison questions).
    assert m.reciprocal_rank(ranked, {"a.txt", "c.txt"}) == pytest.approx(1 / 2)


def test_recall_at_k_dedupes() -> None:
    ranked = ["d1", "d1", "d3", "d2", "d9"]
    assert m.recall_at_k(ranked, {"d1", "d2"}, 1) == 0.5
    assert m.recall_at_k(ranked, {"d1", "d2"}, 2) == 0.5  # d1, d3
    assert m.recall_at_k(ranked, {"d1", "d2"}, 3) == 1.0
    assert m.recall_at_k(ranked, set(), 3) == 0.0


def test_ndcg_by_hand() -> None:
    # Ranking d3, d1, d2 with gains d1=2, d2=1 (d3 irrelevant):
    # DCG = 0/log2(2) + 2/log2(3) + 1/log2(4) = 1.26186 + 0.5; IDCG = 2/1 + 1/log2(3) = 2.63093
    gains = {"d1": 2.0, "d2": 1.0}
    expected = (2 / math.log2(3) + 1 / 2) / (2 + 1 / math.log2(3))
    assert m.ndcg_at_k(["d3", "d1", "d2"], gains, 10) == pytest.approx(expected)
    assert m.ndcg_at_k(["d1", "d2"], gains, 10) == pytest.approx(1.0)
    assert m.ndcg_at_k(["d3", "d1", "d2"], gains, 1) == 0.0
    assert m.ndcg_at_k(["d1"], {}, 10) == 0.0


def test_citation_precision_recall() -> None:
    assert m.citation_precision_recall(["a", "b", "a"], {"a"}) == (0.5, 1.0)
    assert m.citation_precision_recall(["a"], {"a", "c"}) == (1.0, 0.5)
    assert m.citation_precision_recall([], {"a"}) == (None, 0.0)


def test_percentile_and_mean() -> None:
    values = [10.0, 20.0, 30.0, 40.0, 100.0]
    assert m.percentile(values, 50) == 30.0
    assert m.percentile(values, 95) == pytest.approx(40 + 0.8 * 60)  # pos 3.8
    assert m.percentile([], 95) == 0.0
    assert m.mean([1.0, None, 3.0]) == 2.0
    assert m.mean([None]) is None


def test_judge_reply_parsing() -> None:
    from evals.judge import parse_scores

    assert parse_scores('Here: {"faithfulness": 0.5, "correctness": 1}') == (0.5, 1.0)
    assert parse_scores('{"faithfulness": 7, "correctness": "high"}') == (1.0, None)
    assert parse_scores("no json at all") == (None, None)
    assert parse_scores("{broken") == (None, None)
