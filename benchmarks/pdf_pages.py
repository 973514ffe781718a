"""Indexing speed per PDF page: a 100-page PDF built from the committed real PDFs' pages
(vicksburg-ocr.pdf and pdflatex-outline.pdf, repeated), indexed end to end (extract in the worker,
chunk, embed with the configured model, write to Chroma). Part of `make bench`;
`python -m benchmarks.pdf_pages` runs it alone."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "tests" / "fixtures" / "documents"


def hundred_page_pdf(path: Path, pages: int = 100) -> Path:
    import pypdfium2 as pdfium

    out = pdfium.PdfDocument.new()
    sources = [pdfium.PdfDocument(DOCS / n) for n in ("vicksburg-ocr.pdf", "pdflatex-outline.pdf")]
    while len(out) < pages:
        for src in sources:
            out.import_pages(src, list(range(min(len(src), pages - len(out)))))
    path.parent.mkdir(parents=True, exist_ok=True)
    out.save(str(path))
    return path


def bench_pdf_pages(work: Path, pages: int = 100) -> dict[str, Any]:
    from indexer.embedding.factory import build_embedder
    from indexer.formats.worker import ExtractionWorker
    from indexer.kernel.settings import Settings
    from indexer.sync import sync_corpus

    corpus = work / "pdf-corpus"
    pdf = hundred_page_pdf(corpus / f"{pages}-pages.pdf", pages)
    started = time.perf_counter()
    with ExtractionWorker() as worker:
        extraction = worker.extract(pdf)
    extract_s = time.perf_counter() - started
    assert not isinstance(extraction, str), extraction
    settings = Settings(corpus_dir=corpus, data_dir=work / "pdf-data", collection="pdfbench")
    report = sync_corpus(settings, corpus, embedder=build_embedder(settings), progress=False)
    return {
        "pages": pages,
        "extract_ms_per_page": round(1000 * extract_s / pages, 2),
        "index_seconds": report.seconds,
        "index_ms_per_page": round(1000 * report.seconds / pages, 1),
        "chunks": report.chunks_total,
    }


if __name__ == "__main__":
    import json
    import tempfile

    from indexer.runtime import configure_offline

    configure_offline(threads=2)
    print(json.dumps(bench_pdf_pages(Path(tempfile.mkdtemp(prefix="citeline-pdf-"))), indent=2))
