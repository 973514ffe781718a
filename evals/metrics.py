"""Deterministic metric functions: pure, no I/O, each checked against hand-computed values."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence

_NON_WORD = re.compile(r"[\W_]+")


def normalize_text(text: str) -> str:
    """Lower-case, NFKC, punctuation and runs of whitespace to one space: `R&D` ~ `r d`."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _NON_WORD.sub(" ", folded).strip()


def phrase_in(phrase: str, text: str) -> bool:
    """Whole-word containment after normalisation, so `16` does not match inside `2016`."""
    needle = normalize_text(phrase)
    return bool(needle) and f" {needle} " in f" {normalize_text(text)} "


def facts_found(key_facts: Sequence[Sequence[str]], text: str) -> list[bool]:
    """For each fact, whether any of its phrasings occurs in `text`."""
    return [any(phrase_in(p, text) for p in fact) for fact in key_facts]


def key_fact_recall(key_facts: Sequence[Sequence[str]], text: str) -> float:
    found = facts_found(key_facts, text)
    return sum(found) / len(found) if found else 1.0


# After ". " or "] ", unless a marker follows: "... world. [1] Next" keeps [1] with "world."
_SENTENCE_END = re.compile(r"(?<=[.!?\]])\s+(?!\[)")
_MARKER = re.compile(r"\[(\d{1,4})\]")


def facts_cited(
    key_facts: Sequence[Sequence[str]], answer: str, quotes_by_n: Mapping[int, str]
) -> tuple[int, int]:
    """(facts the answer states, those also held by a quote its sentence cites): whether each
    stated fact's citation points at a sentence that really says it."""
    sentences = _SENTENCE_END.split(answer)
    stated = held = 0
    for fact in key_facts:
        homes = [s for s in sentences if any(phrase_in(p, s) for p in fact)]
        if not homes:
            continue
        stated += 1
        quotes = [quotes_by_n.get(int(n), "") for s in homes for n in _MARKER.findall(s)]
        held += any(phrase_in(p, q) for p in fact for q in quotes)
    return stated, held


def first_relevant_rank(ranked: Sequence[str], relevant: Collection[str]) -> int | None:
    """1-based rank of the first item in `relevant`, or None if none is retrieved."""
    for i, item in enumerate(ranked, start=1):
        if item in relevant:
            return i
    return None


def hit_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    rank = first_relevant_rank(ranked[:k], relevant)
    return 1.0 if rank is not None else 0.0


def reciprocal_rank(
    ranked: Sequence[str], relevant: Collection[str], k: int | None = None
) -> float:
    rank = first_relevant_rank(ranked if k is None else ranked[:k], relevant)
    return 1.0 / rank if rank is not None else 0.0


def recall_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the relevant items found in the top k (items are de-duplicated first)."""
    if not relevant:
        return 0.0
    top = set(dedupe(ranked)[:k])
    return len(top & set(relevant)) / len(set(relevant))


def ndcg_at_k(ranked: Sequence[str], gains: Mapping[str, float], k: int) -> float:
    """nDCG with linear gain and log2(rank + 1) discount, as trec_eval / BEIR compute it."""
    dcg = sum(gains.get(item, 0.0) / math.log2(i + 2) for i, item in enumerate(dedupe(ranked)[:k]))
    ideal = sorted((g for g in gains.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def citation_precision_recall(
    cited: Iterable[str], gold: Collection[str]
) -> tuple[float | None, float]:
    """Over distinct files. Precision is None when nothing is cited (undefined, not zero)."""
    cited_set, gold_set = set(cited), set(gold)
    precision = len(cited_set & gold_set) / len(cited_set) if cited_set else None
    recall = len(cited_set & gold_set) / len(gold_set) if gold_set else 1.0
    return precision, recall


def dedupe(items: Iterable[str]) -> list[str]:
    """Keep first occurrences: several passages of one file count as one ranked file."""
    seen: set[str] = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the defined values; None if there are none."""
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None
