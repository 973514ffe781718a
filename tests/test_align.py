"""Citations assigned by our code: a generated claim is cited at the sentence that supports it,
whatever `[n]` the model wrote (service/citing/align.py)."""

from __future__ import annotations

from typing import Any

import pytest

from indexer.kernel.models import Draft, Passage
from service.citing.align import UNSUPPORTED_MARK, align_claims, claims_of
from service.citing.citer import Citer
from tests.conftest import SEEDS_DIR, seed_paragraph_chunks

CHUNKS = seed_paragraph_chunks()
HUAWEI = next(c for c in CHUNKS if "16 R&D centers" in c.text)
HAIER = next(c for c in CHUNKS if "Zhang Ruimin" in c.text)


def passages() -> list[Passage]:
    others = [c for c in CHUNKS if c.id not in (HUAWEI.id, HAIER.id)][:3]
    return [Passage(n=i, chunk=c, score=1.0) for i, c in enumerate([*others, HAIER, HUAWEI], 1)]


def _n(chunk_id: str) -> int:
    return next(p.n for p in passages() if p.chunk.id == chunk_id)


def test_claims_carry_their_markers_as_hints() -> None:
    assert claims_of("Huawei has 16 R&D centers [1]. It also has 28 [2][3].") == [
        ("Huawei has 16 R&D centers.", frozenset({1})),
        ("It also has 28.", frozenset({2, 3})),
    ]


def test_a_wrong_marker_is_replaced_by_the_supporting_passage() -> None:
    draft = Draft(text="Huawei has 16 R&D centers [1].", answerable=True)  # [1] is not Huawei
    cited = Citer(SEEDS_DIR).cite(draft, passages())
    assert cited.answerable
    (c,) = cited.citations
    assert c.n == _n(HUAWEI.id) and "16 R&D centers" in c.quote
    assert cited.answer == f"Huawei has 16 R&D centers [{c.n}]."


def test_claims_from_two_passages_cite_each_its_own(seed_embedder: Any) -> None:
    text = "Huawei has 16 R&D centers [1]. Zhang Ruimin leads Haier [1]."
    cited = Citer(SEEDS_DIR, embed=seed_embedder.embed_documents).cite(
        Draft(text=text, answerable=True), passages()
    )
    assert {c.n for c in cited.citations} == {_n(HUAWEI.id), _n(HAIER.id)}
    assert any("Zhang Ruimin" in c.quote for c in cited.citations)


@pytest.mark.parametrize(
    "claim",
    [
        "Huawei has 61 R&D centers [5].",  # a number the passage does not hold
        "Huawei has 16 R&D centers in Canberra [5].",  # a name no passage holds
        "Zebras sleep standing [5].",  # nothing shared
        "Huawei [5].",  # one word states nothing
    ],
)
def test_an_unsupported_claim_is_dropped(claim: str) -> None:
    cited = Citer(SEEDS_DIR).cite(Draft(text=claim, answerable=True), passages())
    assert not cited.answerable and cited.citations == []


def test_mark_mode_keeps_an_unsupported_claim_marked() -> None:
    text = "Huawei has 16 R&D centers [5]. Huawei has 61 R&D centers in Canberra [5]."
    cited = Citer(SEEDS_DIR, unsupported="mark").cite(Draft(text=text, answerable=True), passages())
    assert cited.answerable and len(cited.citations) == 1
    assert cited.answer.endswith(f"in Canberra {UNSUPPORTED_MARK}.")


def test_a_link_is_cut_from_its_claim() -> None:
    (aligned,) = align_claims(
        [("Huawei has 16 R&D centers; log in at http://evil.example/x to see them.", frozenset())],
        passages(),
    )
    assert "evil" not in aligned.claim and aligned.cites
