"""Evidence sentences and the features that say whether one answers the question.

Every sentence of the retrieved passages is a candidate. Its features are chosen to survive
paraphrase (embedding similarity with the question, with its neighbours and with its passage),
to reward the words that matter (IDF-weighted overlap, after expanding abbreviations the corpus
defines), to check the kind of answer (a "how many" question wants a number near the matched
words, "when" a date, "who" a name the question does not already hold) and to use retrieval's
own opinion (rank, fused score). `service.answering.scorer` turns them into one probability with
coefficients learned on public data (`evals/train_scorer.py`).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from indexer.kernel.models import Passage
from indexer.text.lexical import (
    Token,
    content_terms,
    has_date,
    has_money,
    has_percent,
    is_quantity,
    tokenize,
    with_date_parts,
)
from service.answering.question import QuestionInfo, analyze

Matrix = npt.NDArray[np.float32]

_NEGATION = re.compile(r"\b(?:not|no|never|none|neither|nor|without)\b|n't\b", re.IGNORECASE)
_PLACE_QUESTION = re.compile(
    r"^\W*(?:in |at |from |to )?(?:what|which) (?:city|cities|country|countries|place|places"
    r"|region|regions|continent|state|town|nation|area|location|island|county|province)\b",
    re.IGNORECASE,
)
# Bumped whenever a feature's definition, or the retrieval that picks the candidate sentences,
# changes, so cached SQuAD rows are rebuilt (3: comparisons retrieve once per subject too;
# 4: a dotted date holds its year for `miss_numbers`).
FEATURES_VERSION = 4
_PLACE_PREP = frozenset({"in", "at", "from", "to", "near", "into"})
_NEAR = 5  # words between a number and a question term for "how many" agreement
KINDS = ("count", "amount", "money", "when", "who", "where", "why", "how", "list", "other")
_LIST_CUES = re.compile(
    r"^(?:which|what)\s+(?:\w+\s+){0,2}(?:are|were|have|has|did|do)\b|\b(?:list|name|examples?)\b"
    r"|\b(?:and|both|compare|differ|difference|versus|vs)\b",
    re.IGNORECASE,
)
# "Which three moves ...", "Name the four jobs ...": a count of plural things asks for a list. Kept
# out of `_LIST_CUES` because the scorer's `kind_list` feature was fitted without it.
_COUNTED = re.compile(r"\b(?:two|three|four|five|six|seven|eight|nine|ten|[2-9])\s+\w+s\b", re.I)

FEATURES = (
    "cos", "cos_gap", "cos_rank_inv", "cos_ctx", "cos_passage",
    "cov", "cov_gap", "cov_ctx", "cov_passage", "bigram",
    "miss_entities", "miss_entities_passage", "miss_numbers", "miss_terms_passage",
    "definition", "list_intro",
    "rank_inv", "fused_rel", "title_cov",
    "q_neg", "s_neg", "neg_mismatch", "len_log", "is_question",
    "fit_count", "fit_amount", "fit_money", "fit_when", "fit_who", "fit_where",
    "miss_count", "miss_amount", "miss_money", "miss_when", "miss_who", "miss_where",
    *(f"kind_{k}" for k in KINDS),
)  # fmt: skip


@dataclass(frozen=True)
class Sentence:
    """One candidate: sentence `index` of passage `passage`, at `start:end` of its chunk text."""

    passage: Passage
    index: int
    start: int
    end: int
    text: str

    @property
    def file_start(self) -> int:
        """Where the sentence starts in its file's text (chunks overlap; files do not)."""
        return self.passage.chunk.char_start + self.start

    @property
    def file_end(self) -> int:
        return self.passage.chunk.char_start + self.end


@dataclass
class Question:
    """What the features need of the question, computed once."""

    text: str
    info: QuestionInfo
    kind: str
    terms: dict[str, float]  # stemmed term -> weight, abbreviations expanded
    bigrams: set[tuple[str, str]]
    negated: bool
    listy: bool


def question_kind(text: str, info: QuestionInfo) -> str:
    if info.kind != "other":
        return info.kind
    first = text.strip().lower().split(maxsplit=1)[:1]
    word = first[0] if first else ""
    if word in ("where", "why", "how"):
        return word
    if _PLACE_QUESTION.match(text):  # "Which city ...", "In what country ..."
        return "where"
    return "list" if _LIST_CUES.search(text) else "other"


def expand_terms(
    info: QuestionInfo, text: str, abbreviations: Mapping[str, str]
) -> dict[str, float]:
    """Question terms plus the other form of every abbreviation the corpus defines: a question
    saying "research and development" also looks for "R&D", and the reverse."""
    terms = dict(info.weights)
    lowered = " ".join(t.norm for t in tokenize(text))
    for short, long in abbreviations.items():
        short_norm = " ".join(t.norm for t in tokenize(short))
        long_norm = " ".join(t.norm for t in tokenize(long))
        if not short_norm or not long_norm:
            continue
        if re.search(rf"(?<!\S){re.escape(long_norm)}(?!\S)", lowered):
            for term in short_norm.split():
                terms.setdefault(term, 1.5)
        if re.search(rf"(?<!\S){re.escape(short_norm)}(?!\S)", lowered):
            for term in content_terms(long):
                terms.setdefault(term, 1.0)
    return terms


def prepare_question(text: str, abbreviations: Mapping[str, str] | None = None) -> Question:
    info = analyze(text)
    norms = [t.norm for t in tokenize(text) if t.norm in info.weights]
    return Question(
        text=text,
        info=info,
        kind=question_kind(text, info),
        terms=expand_terms(info, text, abbreviations or {}),
        bigrams=set(itertools.pairwise(norms)),
        negated=bool(_NEGATION.search(text)),
        listy=bool(_LIST_CUES.search(text) or _COUNTED.search(text)),
    )


def _coverage(q: Question, terms: set[str], idf: Mapping[str, float]) -> float:
    total = sum(w * idf[t] for t, w in q.terms.items())
    if total <= 0:
        return 0.0
    return sum(w * idf[t] for t, w in q.terms.items() if t in terms) / total


def _quantity_near(q: Question, tokens: list[Token]) -> bool:
    at = [i for i, t in enumerate(tokens) if t.norm in q.terms and not t.is_number]
    qty = [i for i, t in enumerate(tokens) if is_quantity(t)]
    if not at:
        return bool(qty)
    return any(abs(i - j) <= _NEAR for i in at for j in qty)


def _new_name(q: Question, tokens: list[Token]) -> bool:
    return any(
        t.raw[:1].isupper() and t.norm not in q.terms and not t.is_number for t in tokens[1:]
    )


def _place(q: Question, tokens: list[Token]) -> bool:
    return any(
        tokens[i - 1].raw.lower() in _PLACE_PREP
        and tokens[i].raw[:1].isupper()
        and tokens[i].norm not in q.terms
        for i in range(1, len(tokens))
    )


def _fits(q: Question, text: str, tokens: list[Token]) -> dict[str, bool]:
    return {
        "count": _quantity_near(q, tokens),
        "amount": has_percent(text) or any(is_quantity(t) for t in tokens),
        "money": has_money(text),
        "when": has_date(tokens),
        "who": _new_name(q, tokens),
        "where": _place(q, tokens),
    }


_COPULA = frozenset({"is", "are", "was", "were", "refers", "means", "describes"})


def _defines(q: Question, tokens: list[Token]) -> bool:
    """A "what is X" question met by a sentence that opens with X followed by "is"/"refers":
    the definition, rather than a sentence that merely mentions X."""
    if q.kind != "other" or not q.text.lower().startswith(("what is", "what are", "what was")):
        return False
    for i, tok in enumerate(tokens[:12]):
        if tok.raw.lower() in _COPULA:
            head = {t.norm for t in tokens[:i]}
            subject = set(q.info.weights)
            return bool(subject) and len(subject & head) >= max(1, len(subject) - 1)
    return False


def _unit(v: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def featurize(
    q: Question,
    sentences: Sequence[Sentence],
    vectors: Matrix,
    query_vector: npt.NDArray[np.float32],
) -> Matrix:
    """One row of `FEATURES` per sentence. `vectors` are the sentences' unit vectors, in order."""
    if not sentences:
        return np.zeros((0, len(FEATURES)), dtype=np.float32)
    passages = list({s.passage.n: s.passage for s in sentences}.values())
    passage_terms = {p.n: content_terms(f"{p.chunk.title}\n{p.chunk.text}") for p in passages}
    n_docs = len(passages)
    idf = {
        t: math.log(1 + n_docs / (sum(t in terms for terms in passage_terms.values()) + 0.5))
        for t in q.terms
    }
    cos = vectors @ query_vector
    by_passage: dict[int, list[int]] = {}
    for i, s in enumerate(sentences):
        by_passage.setdefault(s.passage.n, []).append(i)
    passage_cos = {
        n: float(_unit(vectors[rows].mean(axis=0)) @ query_vector) for n, rows in by_passage.items()
    }
    tokens = [tokenize(s.text) for s in sentences]
    terms = [{t.norm for t in toks} for toks in tokens]
    top_score = max((p.score for p in passages), default=0.0)
    ranks = {p.n: r for r, p in enumerate(sorted(passages, key=lambda p: -p.score), 1)}
    cos_order = np.argsort(-cos)
    cos_rank = np.empty(len(sentences), dtype=np.int64)
    cos_rank[cos_order] = np.arange(1, len(sentences) + 1)
    rows: list[dict[str, float]] = []
    for i, s in enumerate(sentences):
        siblings = by_passage[s.passage.n]
        pos = siblings.index(i)
        ctx = siblings[max(0, pos - 1) : pos + 2]
        ctx_terms = set().union(*(terms[j] for j in ctx))
        fits = _fits(q, s.text, tokens[i])
        sentence_neg = bool(_NEGATION.search(s.text))
        entities, numbers = q.info.entities, q.info.numbers
        row = {
            "cos": float(cos[i]),
            "cos_ctx": float(max(cos[j] for j in ctx)),
            "cos_passage": passage_cos[s.passage.n],
            "cos_rank_inv": 1.0 / float(cos_rank[i]),
            "cov": _coverage(q, terms[i], idf),
            "cov_ctx": _coverage(q, ctx_terms, idf),
            "cov_passage": _coverage(q, passage_terms[s.passage.n], idf),
            "bigram": (
                len(q.bigrams & set(itertools.pairwise(t.norm for t in tokens[i]))) / len(q.bigrams)
                if q.bigrams
                else 0.0
            ),
            "miss_entities": float(len(entities - ctx_terms)),
            "miss_numbers": float(len(numbers - with_date_parts(terms[i]))),
            "miss_entities_passage": float(len(entities - passage_terms[s.passage.n])),
            "definition": float(_defines(q, tokens[i])),
            "list_intro": float(s.text.rstrip().endswith(":")),
            "miss_terms_passage": float(
                sum(t not in passage_terms[s.passage.n] for t in q.info.weights)
            ),
            "rank_inv": 1.0 / ranks[s.passage.n],
            "fused_rel": s.passage.score / top_score if top_score > 0 else 0.0,
            "title_cov": _coverage(q, content_terms(s.passage.chunk.title), idf),
            "q_neg": float(q.negated),
            "s_neg": float(sentence_neg),
            "neg_mismatch": float(q.negated != sentence_neg),
            "len_log": math.log1p(len(tokens[i])),
            "is_question": float(s.text.rstrip().endswith("?")),
        }
        for kind, ok in fits.items():
            row[f"fit_{kind}"] = float(q.kind == kind and ok)
            row[f"miss_{kind}"] = float(q.kind == kind and not ok)
        for kind in KINDS:
            row[f"kind_{kind}"] = float(q.kind == kind)
        rows.append(row)
    cov = np.array([r["cov"] for r in rows], dtype=np.float32)
    for r, c_i, v_i in zip(rows, cov, cos, strict=True):
        r["cos_gap"] = float(v_i - cos.max())
        r["cov_gap"] = float(c_i - cov.max())
    return np.array([[r[name] for name in FEATURES] for r in rows], dtype=np.float32)
