"""Read a corpus folder into documents: the text to index, and where it sits in each file.

Text is what a reader sees (`indexer/reading.py`): UTF-8, a BOM dropped, `\r\n` and `\r` read as
`\n`; for HTML, markup dropped and entities decoded (`indexer/html_text.py`). `offsets` maps every
character of it back to the file as stored, which is what chunk and citation offsets index.
PDF and DOCX are the exception: their text is extracted (`indexer/formats/`, in a worker process),
stored with the index (`indexer/extracted.py`), and their offsets index that extracted text.
Anything that cannot be read cleanly is reported in `skipped` and left out;
a bad file never stops the run.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from indexer.formats import EXTRACTED_SUFFIXES, Extraction
from indexer.formats.worker import ExtractionWorker
from indexer.html_text import html_title
from indexer.kernel.errors import DocumentError
from indexer.kernel.offsets import OffsetMap
from indexer.reading import HTML_SUFFIXES, read_source

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
_BINARY_PROBE = 8192
_TITLE_MAX = 200


class Document(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    source: str  # path relative to the corpus root, '/' separators
    title: str
    text: str
    offsets: OffsetMap = Field(default_factory=OffsetMap)  # text -> file as stored
    doc_hash: str  # sha256 of the file's bytes
    bytes: int
    extraction: Extraction | None = None  # PDF/DOCX: `text` is this extracted text, stored too


class SkippedFile(BaseModel):
    source: str
    reason: str


class LoadResult(BaseModel):
    documents: list[Document]
    skipped: list[SkippedFile]


def text_title(text: str, fallback: str) -> str:
    """First line with >= 4 words (tokens holding a letter) that is not all capitals.

    Why: scraped articles open with navigation ("US EUROPE AFRICA ASIA 中文", "Business / Latest
    News"); the headline is the first real sentence-like line. Markdown `#` marks are stripped.
    Else the first non-empty line, else `fallback` (the file name).
    """
    first = ""
    for line in text.split("\n"):
        line = line.strip().lstrip("#").strip()
        if not line:
            continue
        first = first or line
        words = [w for w in line.split() if any(ch.isalpha() for ch in w)]
        if len(words) >= 4 and line != line.upper():
            return line[:_TITLE_MAX]
    return first[:_TITLE_MAX] or fallback


def _metadata_title(title: str | None) -> str | None:
    """A document's own title, unless it is a tool's placeholder such as "Binder1.pdf"."""
    title = " ".join((title or "").split())[:_TITLE_MAX]
    return title if len(title) >= 4 and not re.search(r"\.\w{2,4}$", title) else None


def _extracted(
    path: Path, source: str, data: bytes, worker: ExtractionWorker
) -> Document | SkippedFile:
    """PDF/DOCX: `text` is the extracted text and its offsets are its own (identity map): the
    citations of these formats index the extracted text stored with the index, not the file."""
    extraction = worker.extract(path)
    if isinstance(extraction, str):
        return SkippedFile(source=source, reason=extraction)
    if path.read_bytes() != data:  # the worker read it separately
        return SkippedFile(source=source, reason="changed while it was being read")
    title = _metadata_title(extraction.title) or text_title(extraction.text, path.stem)
    return Document(source=source, title=title, text=extraction.text, extraction=extraction,
                    doc_hash=hashlib.sha256(data).hexdigest(), bytes=len(data))  # fmt: skip


def load_document(
    path: Path, source: str, max_bytes: int, worker: ExtractionWorker | None = None
) -> Document | SkippedFile:
    """One file as a Document, or a SkippedFile saying why it cannot be indexed."""
    suffix = path.suffix.lower()
    if suffix not in TEXT_SUFFIXES | HTML_SUFFIXES | EXTRACTED_SUFFIXES:
        return SkippedFile(source=source, reason=f"unsupported file type {suffix or '(none)'}")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return SkippedFile(source=source, reason=f"too large ({size} bytes > {max_bytes})")
        data = path.read_bytes()
    except OSError as exc:
        return SkippedFile(source=source, reason=f"unreadable: {exc.strerror or exc}")
    if not data:
        return SkippedFile(source=source, reason="empty file")
    if suffix in EXTRACTED_SUFFIXES:
        if worker is None:
            with ExtractionWorker() as own:
                return _extracted(path, source, data, own)
        return _extracted(path, source, data, worker)
    if b"\x00" in data[:_BINARY_PROBE]:
        return SkippedFile(source=source, reason="binary file (NUL bytes)")
    try:
        text, offsets = read_source(path.name, data)
    except UnicodeDecodeError as exc:
        return SkippedFile(source=source, reason=f"not valid UTF-8 (byte {exc.start})")
    if not text.strip():
        return SkippedFile(source=source, reason="no text")
    stem = path.stem
    title = text_title(text, stem)
    if suffix in HTML_SUFFIXES:
        title = html_title(data.decode("utf-8"), title)
    digest = hashlib.sha256(data).hexdigest()
    return Document(source=source, title=title, text=text, offsets=offsets, doc_hash=digest,
                    bytes=len(data))  # fmt: skip


def _walk(root: Path) -> tuple[list[tuple[str, Path]], list[SkippedFile]]:
    """(source, path) of every regular file under root; hidden folders are not entered."""
    files: list[tuple[str, Path]] = []
    skipped: list[SkippedFile] = []
    real_root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        for name in list(dirnames):
            if name.startswith(".") or (here / name).is_symlink():
                dirnames.remove(name)  # .git and friends; symlinked folders are never followed
                if not name.startswith("."):
                    source = (here / name).relative_to(root).as_posix()
                    skipped.append(SkippedFile(source=source, reason="symlinked folder"))
        for name in filenames:
            path = here / name
            source = path.relative_to(root).as_posix()
            if path.is_symlink() and not path.resolve().is_relative_to(real_root):
                skipped.append(SkippedFile(source=source, reason="symlink leaves the corpus"))
            elif not path.is_file():
                skipped.append(SkippedFile(source=source, reason="not a regular file"))
            else:
                files.append((source, path))
    return files, skipped


def load_corpus(root: Path, *, max_bytes: int = 20_000_000) -> LoadResult:
    """Every indexable file under `root`, sorted by source; the rest in `skipped`, with reasons."""
    if not root.is_dir():
        raise DocumentError(f"corpus folder {root} does not exist or is not a folder")
    files, skipped = _walk(root)
    documents: list[Document] = []
    with ExtractionWorker() as worker:  # started on the first PDF/DOCX only
        for source, path in sorted(files):
            loaded = load_document(path, source, max_bytes, worker)
            if isinstance(loaded, Document):
                documents.append(loaded)
            else:
                skipped.append(loaded)
    skipped.sort(key=lambda s: s.source)
    return LoadResult(documents=documents, skipped=skipped)
