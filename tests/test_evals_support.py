"""Fakes for the eval tests (no tests here): pipelines with the real `Pipeline` method signatures.

`OraclePipeline` answers every gold question perfectly from the real seed files (its quotes are
real spans); `WrongFilesPipeline` and `RandomPassagesPipeline` are sabotaged retrievers.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from evals.metrics import phrase_in
from evals.schema import GoldSet
from indexer.kernel.models import Answer, Chunk, Citation, Passage


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Lines:
    """Non-empty lines of each corpus file with their offsets (what a quote must match)."""

    def __init__(self, corpus_dir: Path) -> None:
        self.files: dict[str, list[tuple[int, int, str]]] = {}
        for path in sorted(corpus_dir.iterdir()):
            text = path.read_text(encoding="utf-8")
            rows, pos = [], 0
            for lineno, line in enumerate(text.split("\n"), start=1):
                if line.strip():
                    rows.append((lineno, pos, line))
                pos += len(line) + 1
            self.files[path.name] = rows

    def chunk(self, source: str, row: tuple[int, int, str]) -> Chunk:
        lineno, start, line = row
        return Chunk(
            id=_sha(f"{source}:{start}")[:16], source=source, title=source, text=line,
            char_start=start, char_end=start + len(line), line_start=lineno, line_end=lineno,
            chunk_index=lineno, content_hash=_sha(line), doc_hash=_sha(source),
        )  # fmt: skip


def answer_from(chunks: list[Chunk], *, answerable: bool = True) -> Answer:
    if not answerable:
        return Answer(answer="The documents don't say.", answerable=False, citations=[],
                      passages=[], answerer="fake")  # fmt: skip
    passages = [Passage(n=i, chunk=c, score=1.0 - i / 100) for i, c in enumerate(chunks, start=1)]
    citations = [
        Citation(n=p.n, source=p.chunk.source, title=p.chunk.title, line_start=p.chunk.line_start,
                 line_end=p.chunk.line_end, char_start=p.chunk.char_start,
                 char_end=p.chunk.char_end, quote=p.chunk.text, score=p.score)
        for p in passages
    ]  # fmt: skip
    return Answer(answer=" ".join(c.text for c in chunks), answerable=True, citations=citations,
                  passages=passages, answerer="fake")  # fmt: skip


class OraclePipeline:
    """Cites, for every key fact, the gold-source line that states it."""

    def __init__(self, gold: GoldSet, corpus_dir: Path) -> None:
        self.by_question = {q.question: q for q in gold.questions}
        self.lines = Lines(corpus_dir)

    def _chunks(self, question: str) -> list[Chunk]:
        q = self.by_question[question]
        chunks: list[Chunk] = []
        for fact in q.key_facts:
            for source in q.gold_sources:
                row = next((r for r in self.lines.files[source]
                            if any(phrase_in(p, r[2]) for p in fact)), None)  # fmt: skip
                if row is not None:
                    chunk = self.lines.chunk(source, row)
                    if chunk not in chunks:
                        chunks.append(chunk)
                    break
        for source in q.gold_sources:  # comparisons: cite every gold source
            if all(c.source != source for c in chunks):
                row = next(r for r in self.lines.files[source]
                           if any(phrase_in(p, r[2]) for f in q.key_facts for p in f))  # fmt: skip
                chunks.append(self.lines.chunk(source, row))
        return chunks

    def ask(
        self, question: str, top_k: int | None = None, sources: list[str] | None = None
    ) -> Answer:
        q = self.by_question[question]
        return answer_from(self._chunks(question), answerable=q.answerable)

    def search(
        self, question: str, top_k: int | None = None, sources: list[str] | None = None
    ) -> list[Passage]:
        return self.ask(question, top_k).passages


class WrongFilesPipeline(OraclePipeline):
    """Sabotage: always retrieves and cites a line from a file that is not a gold source."""

    def ask(
        self, question: str, top_k: int | None = None, sources: list[str] | None = None
    ) -> Answer:
        q = self.by_question[question]
        wrong = next(s for s in self.lines.files if s not in q.gold_sources)
        return answer_from([self.lines.chunk(wrong, self.lines.files[wrong][0])])


class RandomPassagesPipeline(OraclePipeline):
    """Sabotage: retrieves random lines from anywhere (seeded) and answers with them."""

    def __init__(self, gold: GoldSet, corpus_dir: Path, seed: int = 7) -> None:
        super().__init__(gold, corpus_dir)
        self.rng = random.Random(seed)
        self.all = [(s, r) for s, rows in self.lines.files.items() for r in rows]

    def ask(
        self, question: str, top_k: int | None = None, sources: list[str] | None = None
    ) -> Answer:
        picks = self.rng.sample(self.all, top_k or 5)
        return answer_from([self.lines.chunk(s, r) for s, r in picks])
