"""The gold file format (YAML) and its validation, with errors that name the file, line and id.

A gold file is meant to be copied and edited by users for their own corpus, so every mistake is
reported all at once, each pointing at the question it is about.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evals.metrics import normalize_text, phrase_in
from indexer.kernel.errors import GoldFileError

QuestionType = Literal["fact", "list", "why_how", "comparison", "near_miss", "off_topic"]
# `paraphrase`: worded unlike the articles; may not copy COPY_LIMIT consecutive evidence words.
Style = Literal["original", "paraphrase"]
COPY_LIMIT = 4
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’]?\s+|\n+")
ANSWERABLE_TYPES = ("fact", "list", "why_how", "comparison")
UNANSWERABLE_TYPES = ("near_miss", "off_topic")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")


class GoldQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    question: str = Field(min_length=1)
    answerable: bool = True
    type: QuestionType = "fact"
    style: Style = "original"
    gold_sources: list[str] = Field(default_factory=list)
    # Each fact: acceptable phrasings; a bare string is shorthand for a one-phrasing fact.
    key_facts: list[list[str]] = Field(default_factory=list)
    # Paged sources (PDF): the physical pages a right citation may point at, per source.
    gold_pages: dict[str, list[int]] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _id_is_slug(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("must be 1-80 of letters, digits, '-', '_' or '.', no spaces")
        return value

    @field_validator("key_facts", mode="before")
    @classmethod
    def _bare_strings(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [[item] if isinstance(item, str) else item for item in value]
        return value

    @field_validator("key_facts")
    @classmethod
    def _phrasings_match_something(cls, value: list[list[str]]) -> list[list[str]]:
        for i, fact in enumerate(value):
            if not fact:
                raise ValueError(f"fact {i} has no phrasings")
            for phrase in fact:
                if not normalize_text(phrase):
                    raise ValueError(f"fact {i} phrasing {phrase!r} is empty after normalisation")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> GoldQuestion:
        if self.answerable:
            if self.type not in ANSWERABLE_TYPES:
                raise ValueError(f"answerable questions need a type in {ANSWERABLE_TYPES}")
            if not self.gold_sources:
                raise ValueError("answerable questions need at least one gold_sources file")
            if not self.key_facts:
                raise ValueError("answerable questions need at least one key fact")
            if self.type == "comparison" and len(set(self.gold_sources)) < 2:
                raise ValueError("comparison questions need two or more gold_sources")
        else:
            if self.type not in UNANSWERABLE_TYPES:
                raise ValueError(f"unanswerable questions need a type in {UNANSWERABLE_TYPES}")
            if self.gold_sources or self.key_facts:
                raise ValueError("unanswerable questions take no gold_sources or key_facts")
        return self


class GoldSet(BaseModel):
    path: str
    questions: list[GoldQuestion]

    @property
    def answerable(self) -> list[GoldQuestion]:
        return [q for q in self.questions if q.answerable]

    @property
    def unanswerable(self) -> list[GoldQuestion]:
        return [q for q in self.questions if not q.answerable]

    def check_sources(self, corpus_dir: Path) -> None:
        """Every gold source must be a file in the corpus (a typo would fail every run silently)."""
        problems = [
            f"{self.path}: question {q.id!r}: gold source {src!r} is not a file in {corpus_dir}"
            for q in self.questions
            for src in q.gold_sources
            if not (corpus_dir / src).is_file()
        ]
        if problems:
            raise GoldFileError("\n".join(problems))
        self.check_paraphrases(corpus_dir)

    def check_paraphrases(self, corpus_dir: Path) -> None:
        """A `paraphrase` question may not copy COPY_LIMIT consecutive words of its evidence.

        The evidence is every sentence of its gold sources that states one of its key facts (the
        file has no quote field). Unanswerable questions have no evidence and are not checked.
        """
        problems = []
        for q in self.questions:
            if q.style != "paraphrase" or not q.answerable:
                continue
            sentences = [
                s
                for src in q.gold_sources
                for s in _SENTENCE_END.split((corpus_dir / src).read_text(encoding="utf-8"))
                if s.strip()
            ]
            evidence = [
                s for s in sentences if any(phrase_in(p, s) for f in q.key_facts for p in f)
            ]
            copied = copied_words(q.question, evidence or sentences)
            if copied:
                problems.append(
                    f"{self.path}: question {q.id!r}: a paraphrase question copies "
                    f"{COPY_LIMIT} consecutive words of its evidence: {copied!r}"
                )
        if problems:
            raise GoldFileError("\n".join(problems))


def copied_words(question: str, evidence: Sequence[str], n: int = COPY_LIMIT) -> str | None:
    """The first run of `n` words of `question` also found in an evidence text, or None.

    Both sides are normalised like key facts (case, punctuation), and every word counts: a
    stop-word run such as "of the global value" is still copied wording.
    """
    words = normalize_text(question).split()
    runs = {
        tuple(ws[i : i + n])
        for ws in (normalize_text(text).split() for text in evidence)
        for i in range(len(ws) - n + 1)
    }
    return next(
        (
            " ".join(words[i : i + n])
            for i in range(len(words) - n + 1)
            if tuple(words[i : i + n]) in runs
        ),
        None,
    )


def _item_lines(text: str) -> list[int]:
    """1-based line of each item under `questions:`, read from the YAML node tree."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "questions" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _format(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        out.append(f"{loc}: {err['msg']}" if loc else str(err["msg"]))
    return out


def parse_gold(text: str, path: str = "<gold>") -> GoldSet:
    try:
        data = yaml.safe_load(text)
        lines = _item_lines(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        raise GoldFileError(f"{where}: not valid YAML: {exc.problem}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise GoldFileError(f"{path}: expected a mapping with a `questions:` list")
    if data.get("version", 1) != 1:
        raise GoldFileError(f"{path}: unsupported version {data.get('version')!r} (expected 1)")
    problems: list[str] = []
    questions: list[GoldQuestion] = []
    seen: dict[str, int] = {}
    items: Sequence[Any] = data["questions"]
    for i, item in enumerate(items):
        line = lines[i] if i < len(lines) else 0
        qid = item.get("id", f"#{i + 1}") if isinstance(item, dict) else f"#{i + 1}"
        where = f"{path}:{line}: question {qid!r}"
        try:
            question = GoldQuestion.model_validate(item)
        except ValidationError as exc:
            problems.extend(f"{where}: {msg}" for msg in _format(exc))
            continue
        if question.id in seen:
            problems.append(f"{where}: duplicate id (first at line {seen[question.id]})")
        seen.setdefault(question.id, line)
        questions.append(question)
    if not items:
        problems.append(f"{path}: `questions:` is empty")
    if problems:
        raise GoldFileError("invalid gold file:\n" + "\n".join(problems))
    return GoldSet(path=path, questions=questions)


def load_gold(path: Path) -> GoldSet:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GoldFileError(f"cannot read gold file {path}: {exc.strerror}") from exc
    return parse_gold(text, str(path))
