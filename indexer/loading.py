"""Read a corpus folder into documents whose text keeps the file's character offsets.

Text is the file decoded as UTF-8 (a BOM dropped, as `service/citing/verify.py` reads it) with
universal newlines (`\\r\\n` and `\\r` become `\\n`, a form both citation verifiers accept).
Anything that cannot be read cleanly is reported in `skipped` and left out;
a bad file never stops the run.

HTML keeps offsets too: every piece of markup (tags, comments, `<script>`/`<style>` bodies, ...) is
replaced by as many spaces, newlines kept, so `text` has the file's length and line numbers, and
any span of visible text is character-for-character the file's. Entities (`&amp;`) are deliberately
left as written: unescaping changes length, and the verifiers compare quotes with the raw file.
A quote that crosses a tag therefore fails verification and is dropped, never misquoted.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
from pathlib import Path

from pydantic import BaseModel

from indexer.formats import EXTRACTED_SUFFIXES, Extraction
from indexer.formats.worker import ExtractionWorker
from indexer.kernel.errors import DocumentError

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
_BINARY_PROBE = 8192
_TITLE_MAX = 200

_MARKUP = re.compile(
    r"<!--.*?(?:-->|\Z)"  # comments (an unterminated one runs to the end)
    r"|<(script|style|noscript|template|svg)\b[^>]*>.*?(?:</\1\s*>|\Z)"  # non-text bodies
    r"|<!\[CDATA\[.*?(?:\]\]>|\Z)"
    r"|<[!?][^>]*>"  # doctype, processing instructions
    r"""|</?[a-zA-Z](?:[^>"']|"[^"]*"|'[^']*')*>""",  # tags, quoted attributes may hold '>'
    re.IGNORECASE | re.DOTALL,
)
_HTML_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_HTML_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


class Document(BaseModel):
    source: str  # path relative to the corpus root, '/' separators
    title: str
    text: str
    doc_hash: str  # sha256 of the file's bytes
    bytes: int
    extraction: Extraction | None = None  # PDF/DOCX: `text` is this extracted text, stored too


class SkippedFile(BaseModel):
    source: str
    reason: str


class LoadResult(BaseModel):
    documents: list[Document]
    skipped: list[SkippedFile]


def blank_markup(markup: str) -> str:
    """`markup` with every non-text part turned into spaces (newlines kept): same length, lines."""
    return _MARKUP.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), markup)


def _clean_title(raw: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", raw)).split())[:_TITLE_MAX]


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


def html_title(markup: str, visible: str, fallback: str) -> str:
    for pattern in (_HTML_TITLE, _HTML_H1):
        match = pattern.search(markup)
        if match and _clean_title(match.group(1)):
            return _clean_title(match.group(1))
    return text_title(visible, fallback)


def decode_text(data: bytes) -> str:
    """UTF-8 (BOM dropped) with universal newlines; raises UnicodeDecodeError."""
    return data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")


def document_text(name: str, data: bytes) -> str:
    """The text the indexer chunks for a file called `name`: what chunk offsets point into."""
    text = decode_text(data)
    return blank_markup(text) if Path(name).suffix.lower() in HTML_SUFFIXES else text


def _metadata_title(title: str | None) -> str | None:
    """A document's own title, unless it is a tool's placeholder such as "Binder1.pdf"."""
    title = " ".join((title or "").split())[:_TITLE_MAX]
    return title if len(title) >= 4 and not re.search(r"\.\w{2,4}$", title) else None


def _extracted(
    path: Path, source: str, data: bytes, worker: ExtractionWorker
) -> Document | SkippedFile:
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
        text = document_text(path.name, data)
    except UnicodeDecodeError as exc:
        return SkippedFile(source=source, reason=f"not valid UTF-8 (byte {exc.start})")
    if not text.strip():
        return SkippedFile(source=source, reason="no text")
    stem = path.stem
    title = (
        html_title(decode_text(data), text, stem)
        if suffix in HTML_SUFFIXES
        else text_title(text, stem)
    )
    digest = hashlib.sha256(data).hexdigest()
    return Document(source=source, title=title, text=text, doc_hash=digest, bytes=len(data))


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
