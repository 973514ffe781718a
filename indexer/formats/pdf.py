"""PDF text with pypdfium2 (PDFium: Apache-2.0/BSD-3, a self-contained wheel, no system packages).

Chosen by measurement (docs/formats.md): 8x faster per page than pypdf, half the memory, the same
reading order on the real test files, and PDFium marks a word it hyphenated across a line break
with U+FFFE, which is joined back ("dan-/gerous" -> "dangerous") while real hyphens ("pay-rolls")
stay. Running headers and footers are text on the page and are kept, as a reader sees them.
"""

from __future__ import annotations

import re
from pathlib import Path

from indexer.formats import PAGE_BREAK, Extraction, ExtractionFailed, PageSpan

MAX_PAGES = 5000  # more than this is an archive dump, not a document someone reads
MIN_PAGE_CHARS = 10  # fewer non-space characters: the page has no usable text layer
_EOF_WINDOW = 1024  # readers look for %%EOF within the last KiB
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufeff\ufffe\uffff]")
_TRAILING = re.compile(r"[ \t]+\n")


def _clean(raw: str) -> str:
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\ufffe", "")
    return _TRAILING.sub("\n", _CONTROL.sub("", text)).strip()


def extract_pdf(path: Path) -> Extraction:
    import pypdfium2 as pdfium

    with path.open("rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - _EOF_WINDOW))
        tail = fh.read()
    if b"%%EOF" not in tail:
        raise ExtractionFailed("truncated or corrupt PDF (no %%EOF marker at the end)")
    try:
        doc = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise ExtractionFailed("encrypted PDF: a password is needed to open it") from exc
        raise ExtractionFailed(f"corrupt PDF ({exc})") from exc
    try:
        count = len(doc)
        if count == 0:
            raise ExtractionFailed("PDF has no pages")
        if count > MAX_PAGES:
            raise ExtractionFailed(f"too many pages ({count} > {MAX_PAGES})")
        pieces: list[str] = []
        pages: list[PageSpan] = []
        empty: list[int] = []
        pos = 0
        for i in range(count):
            page = doc[i]
            textpage = page.get_textpage()
            try:
                text = _clean(textpage.get_text_range())
            finally:
                textpage.close()
                page.close()
            if len("".join(text.split())) < MIN_PAGE_CHARS:
                empty.append(i + 1)
                text = ""
            if pieces:
                pos += len(PAGE_BREAK)
            pages.append(PageSpan(page=i + 1, char_start=pos, char_end=pos + len(text)))
            pieces.append(text)
            pos += len(text)
        if len(empty) == count:
            raise ExtractionFailed(
                "no text layer (a scanned PDF?); OCR is not part of the default install"
            )
        title = (doc.get_metadata_dict().get("Title") or "").strip() or None
    finally:
        doc.close()
    return Extraction(format="pdf", extractor=f"pypdfium2 {pdfium.version.PYPDFIUM_INFO}",
                      text=PAGE_BREAK.join(pieces), title=title, pages=pages,
                      empty_pages=empty)  # fmt: skip
