"""BEIR loader and metrics: hand-computed values with a stub retriever, then end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from evals.beir import doc_filename, evaluate, load_beir, write_corpus
from indexer.kernel.errors import GoldFileError

WORDS = [
    "zebra", "quartz", "violin", "glacier", "harbor", "lantern", "meadow", "nickel", "orchid",
    "pepper", "quiver", "raven", "saffron", "tundra", "umbrella", "velvet", "walnut", "xenon",
    "yonder", "zephyr", "anchor", "bamboo", "cactus", "dolphin", "ember", "falcon", "granite",
    "hazel", "igloo", "jasmine",
]  # fmt: skip


def write_beir(root: Path) -> Path:
    """30 one-topic docs d0..d29 and 10 queries; q_i is about WORDS[i] (doc d_i)."""
    (root / "qrels").mkdir(parents=True)
    with (root / "corpus.jsonl").open("w") as fh:
        for i, word in enumerate(WORDS):
            text = f"This note is about the {word}. The {word} matters here: {word} facts."
            fh.write(json.dumps({"_id": f"d{i}", "title": f"On {word}", "text": text}) + "\n")
    with (root / "queries.jsonl").open("w") as fh:
        for i in range(10):
            fh.write(json.dumps({"_id": f"q{i}", "text": f"{WORDS[i]} {WORDS[i]}"}) + "\n")
        fh.write(json.dumps({"_id": "q-unjudged", "text": "nothing"}) + "\n")
    rows = [f"q{i}\td{i}\t1" for i in range(10)] + ["q2\td12\t1", "q3\td13\t2", "ghost\td1\t1"]
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "\n".join(rows) + "\n"
    )
    return root


def test_load_beir(tmp_path: Path) -> None:
    ds = load_beir(write_beir(tmp_path / "tiny"))
    assert ds.name == "tiny" and len(ds.corpus) == 30 and len(ds.queries) == 11
    assert set(ds.qrels) == {f"q{i}" for i in range(10)}  # unjudged and unknown ids dropped
    assert ds.qrels["q3"] == {"d3": 1, "d13": 2}
    assert ds.corpus["d0"][0] == "On zebra"


def test_load_beir_errors(tmp_path: Path) -> None:
    with pytest.raises(GoldFileError, match="not a BEIR dataset"):
        load_beir(tmp_path)
    root = write_beir(tmp_path / "bad")
    (root / "queries.jsonl").write_text('{"_id": "q0", "text": "x"}\n{oops\n')
    with pytest.raises(GoldFileError, match=r"queries.jsonl:2: not JSON"):
        load_beir(root)


def test_metrics_with_stub_retriever_match_hand_computation(tmp_path: Path) -> None:
    ds = load_beir(write_beir(tmp_path / "tiny"))
    junk = [f"d{i}" for i in range(20, 30)]
    rankings = {
        "q0": ["d0", *junk],  # rank 1
        "q1": ["d20", "d20", "d21", "d1"],  # chunk duplicates collapse: d1 at rank 3
        "q2": ["d2", "d20", "d21", "d22", "d23", "d24", "d12"],  # two relevant: ranks 1 and 7
        "q3": ["d3", "d13"],  # graded: d13 (2) below d3 (1)
        "q9": [*junk, "d9"],  # rank 11: outside every cut-off
    }

    def retrieve(query: str) -> list[str]:
        qid = next(q for q, text in ds.queries.items() if text == query)
        return rankings.get(qid, junk)

    got = evaluate(ds, retrieve)
    ndcg = [
        1.0,
        1 / math.log2(4),
        (1 + 1 / math.log2(8)) / (1 + 1 / math.log2(3)),
        (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)),
    ]
    assert got.queries == 10
    assert got.ndcg_at_10 == pytest.approx(sum(ndcg) / 10)
    assert got.recall_at_1 == pytest.approx((1 + 0 + 0.5 + 0.5) / 10)
    assert got.recall_at_5 == pytest.approx((1 + 1 + 0.5 + 1) / 10)
    assert got.recall_at_10 == pytest.approx((1 + 1 + 1 + 1) / 10)
    assert got.mrr_at_10 == pytest.approx((1 + 1 / 3 + 1 + 1) / 10)


def test_write_corpus_names_are_safe_and_unique(tmp_path: Path) -> None:
    ds = load_beir(write_beir(tmp_path / "tiny"))
    ds.corpus["a/b c"] = ("", "slashes")
    ds.corpus["a_b_c"] = ("", "collides once sanitised")
    out = tmp_path / "corpus"
    out.mkdir()
    names = write_corpus(ds, out)
    assert len(names) == len(ds.corpus) == len(list(out.iterdir()))
    assert (out / doc_filename("d0")).read_text().startswith("On zebra\n\n")
    assert "/" not in doc_filename("a/b c")


@pytest.mark.slow
def test_beir_end_to_end_with_fake_embedder(tmp_path: Path) -> None:
    from evals.beir import run_beir
    from indexer.kernel.settings import Settings

    settings = Settings(embedder="fake", data_dir=tmp_path / "data", chunk_tokens=64,
                        chunk_overlap=0)  # fmt: skip
    got = run_beir(write_beir(tmp_path / "tiny"), settings)
    assert got.queries == 10
    # Each query names its document's one distinctive word, so retrieval should nearly always win.
    assert got.recall_at_10 >= 0.9
    assert got.mrr_at_10 >= 0.7 and got.ndcg_at_10 >= 0.6
    assert 0.0 <= got.recall_at_1 <= got.recall_at_5 <= got.recall_at_10 <= 1.0
