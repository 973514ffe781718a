"""Synthetic corpora for benchmarks: deterministic, built from the seed articles' own sentences."""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def seed_sentences(seeds: Path) -> list[str]:
    sentences: list[str] = []
    for path in sorted(seeds.glob("*.txt")):
        for para in path.read_text(encoding="utf-8").splitlines():
            sentences += [s.strip() for s in _SENTENCE_END.split(para) if len(s.split()) >= 6]
    return sentences


def synthetic_corpus(seeds: Path, out: Path, n_docs: int, seed: int = 7) -> Path:
    """`n_docs` articles of 6-14 recombined seed sentences, each with a unique code word."""
    rng = random.Random(seed)
    sentences = seed_sentences(seeds)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for i in range(n_docs):
        body = rng.sample(sentences, rng.randint(6, 14))
        paragraphs = [" ".join(body[j : j + 3]) for j in range(0, len(body), 3)]
        text = f"Synthetic report {i} on project Z{i:05d}\n\n" + "\n\n".join(paragraphs) + "\n"
        (out / f"doc_{i:05d}.txt").write_text(text, encoding="utf-8")
    return out


def replicated_corpus(seeds: Path, out: Path, factor: int) -> Path:
    """The seed articles copied `factor` times (`copy_k/`): the 1x/10x/100x runs."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for k in range(factor):
        target = out / f"copy_{k:03d}"
        target.mkdir()
        for path in sorted(seeds.glob("*.txt")):
            # A per-copy header keeps file hashes distinct, as real near-duplicates would be.
            text = f"Copy {k}\n" + path.read_text(encoding="utf-8")
            (target / path.name).write_text(text, encoding="utf-8")
    return out
