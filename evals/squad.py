"""SQuAD 2.0 (the public half in `../shared/data/squad2-public`) as a test of answering.

Layout: `corpus.jsonl` ({doc_id: "Title#n", title, text}) and `questions.jsonl` ({id, question,
doc_id, answerable, answers[], plausible_answers[]}). Each paragraph becomes one file, indexed into
its own collection (`squad-<dir name>`), so the seeds index is untouched; an index that already
holds exactly this corpus is reused.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from evals.beir import doc_filename, read_jsonl
from indexer.kernel.errors import GoldFileError
from indexer.kernel.settings import Settings


class SquadParagraph(BaseModel):
    doc_id: str
    title: str
    text: str

    @property
    def article(self) -> str:
        return self.doc_id.split("#", 1)[0]


class SquadQuestion(BaseModel):
    id: str
    question: str
    doc_id: str
    answerable: bool
    answers: list[str] = []
    plausible_answers: list[str] = []

    @property
    def article(self) -> str:
        return self.doc_id.split("#", 1)[0]


class SquadSet(BaseModel):
    name: str
    paragraphs: list[SquadParagraph]
    questions: list[SquadQuestion]


def load_squad(root: Path) -> SquadSet:
    try:
        paragraphs = [SquadParagraph.model_validate(d) for d in read_jsonl(root / "corpus.jsonl")]
        questions = [SquadQuestion.model_validate(d) for d in read_jsonl(root / "questions.jsonl")]
    except OSError as exc:
        raise GoldFileError(f"{root}: cannot read ({exc.strerror})") from exc
    except ValueError as exc:
        raise GoldFileError(f"{root}: not a SQuAD-style set: {exc}") from exc
    known = {p.doc_id for p in paragraphs}
    stray = [q.id for q in questions if q.doc_id not in known]
    if not questions or stray:
        raise GoldFileError(f"{root}: questions without their paragraph: {stray[:5]}")
    return SquadSet(name=root.name, paragraphs=paragraphs, questions=questions)


def squad_settings(ds: SquadSet, settings: Settings, corpus_dir: Path) -> Settings:
    slug = re.sub(r"[^a-z0-9-]", "-", ds.name.lower()).strip("-") or "set"
    return settings.model_copy(update={"collection": f"squad-{slug}", "corpus_dir": corpus_dir})


def write_paragraphs(ds: SquadSet, corpus_dir: Path) -> dict[str, str]:
    """One .txt per paragraph (title line, blank line, text); returns file name -> doc_id."""
    corpus_dir.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}
    for p in ds.paragraphs:
        name = doc_filename(p.doc_id)
        path = corpus_dir / name
        content = f"{p.title}\n\n{p.text}\n"
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
        names[name] = p.doc_id
    return names


def index_squad(ds: SquadSet, settings: Settings, *, progress: bool = False) -> dict[str, str]:
    """Write and sync the paragraphs (an unchanged index is reused); file name -> doc_id."""
    from indexer.embedding.factory import build_embedder
    from indexer.sync import sync_corpus

    names = write_paragraphs(ds, settings.corpus_dir)
    sync_corpus(settings, settings.corpus_dir, embedder=build_embedder(settings), progress=progress)
    return names
