"""The extracted text of each PDF/DOCX, stored with the index so citations verify against it.

Layout: `<data_dir>/extracted/<collection>/<doc_hash>.txt` (the exact text the chunks point into,
UTF-8) and `<doc_hash>.json` (its sha256, the extractor, the page/paragraph map). Named by the
file's `doc_hash`, so the manifest versions them: the manifest's hash for a source names the live
text. Written before the manifest commit (readers never see a manifest naming a missing text) and
pruned after it, like chunks. Writes are atomic (temp file + rename).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel

from indexer.formats import Extraction

_HASH = re.compile(r"^[0-9a-f]{64}$")


class StoredText(BaseModel):
    source: str
    doc_hash: str
    text_sha256: str
    extraction: Extraction  # `extraction.text` is the stored text


def extracted_dir(data_dir: Path, collection: str) -> Path:
    return data_dir / "extracted" / collection


def _write(path: Path, data: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(data)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_extracted(folder: Path, items: Iterable[tuple[str, str, Extraction]]) -> int:
    """Store (source, doc_hash, extraction) unless already there; returns how many were written."""
    written = 0
    for source, doc_hash, extraction in items:
        txt, meta = folder / f"{doc_hash}.txt", folder / f"{doc_hash}.json"
        if txt.is_file() and meta.is_file():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(extraction.text.encode()).hexdigest()
        header = extraction.model_dump(exclude={"text"})
        _write(txt, extraction.text)
        _write(meta, json.dumps({"source": source, "doc_hash": doc_hash, "text_sha256": digest,
                                 "extraction": header}, ensure_ascii=False))  # fmt: skip
        written += 1
    return written


def prune_extracted(folder: Path, live_hashes: set[str]) -> int:
    """Delete stored texts no live manifest entry names (replaced, removed, crashed runs)."""
    if not folder.is_dir():
        return 0
    removed = 0
    for path in folder.iterdir():
        stem = path.name.split(".", 1)[0]
        if path.name.startswith(".tmp-") or (_HASH.match(stem) and stem not in live_hashes):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


@lru_cache(maxsize=64)
def _load(folder: str, doc_hash: str, mtime_ns: int) -> StoredText | None:
    base = Path(folder)
    try:
        meta = json.loads((base / f"{doc_hash}.json").read_text(encoding="utf-8"))
        text = (base / f"{doc_hash}.txt").read_bytes().decode("utf-8")
    except (OSError, ValueError):
        return None
    if hashlib.sha256(text.encode()).hexdigest() != meta.get("text_sha256"):
        return None  # damaged or edited: not evidence of anything
    meta["extraction"]["text"] = text
    return StoredText.model_validate(meta)


def load_extracted(folder: Path, doc_hash: str) -> StoredText | None:
    """The stored text for `doc_hash`, if present and intact (its sha256 checks out)."""
    if not _HASH.match(doc_hash):
        return None
    try:
        mtime = (folder / f"{doc_hash}.txt").stat().st_mtime_ns
    except OSError:
        return None
    return _load(str(folder), doc_hash, mtime)
