"""PDF and DOCX end to end, on real files (tests/fixtures/documents, PROVENANCE.md there):
extraction, skipped-file reasons, the per-file time limit, the gold questions asked over HTTP with
page citations verified against the stored extracted text, and `GET /v1/documents/{source}`."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from evals.metrics import normalize_text
from evals.schema import load_gold
from indexer.extracted import extracted_dir, load_extracted
from indexer.formats import ExtractionFailed, PageSpan, locate
from indexer.formats.docx import extract_docx
from indexer.formats.pdf import extract_pdf
from indexer.formats.worker import ExtractionWorker
from indexer.kernel.models import Draft
from indexer.kernel.settings import Settings
from indexer.loading import load_corpus
from tests.browser import serve
from tests.conftest import DOCUMENTS_SEED as SEED
from tests.conftest import REPO_ROOT

DOCS = REPO_ROOT / "tests" / "fixtures" / "documents"
GOLD = REPO_ROOT / "evals" / "gold_documents.yaml"


# ---- extraction (no index) ----
def test_pdf_text_keeps_pages_running_heads_and_joins_hyphenated_words() -> None:
    pdf = extract_pdf(DOCS / "vicksburg-ocr.pdf")
    assert [p.page for p in pdf.pages] == [1, 2, 3, 4, 5, 6]
    first = pdf.text[pdf.pages[0].char_start : pdf.pages[0].char_end]
    assert first.startswith("THE SIEGE OF VICKSBURG. 49")  # the running head, as printed
    assert "watching the mortar shells" in first  # "mor-/tar" at a line end, joined
    assert "pay-rolls" in pdf.text  # a real hyphen stays
    assert "\ufffe" not in pdf.text and "\r" not in pdf.text
    second = pdf.text[pdf.pages[1].char_start : pdf.pages[1].char_end]
    assert "These shells are visitors we do not care to\nsee in camp" in second  # reading order
    at = pdf.text.index("We expect to be paid off")
    assert locate(pdf, at, at + 20).locator == "page 2"
    across = locate(pdf, pdf.pages[0].char_end - 5, pdf.pages[1].char_start + 5)
    assert (across.page, across.page_end, across.locator) == (1, 2, "pages 1–2")


def test_two_column_brochure_reads_column_by_column() -> None:
    text = extract_pdf(DOCS / "linn-brochure.pdf").text
    assert text.index("Recording") < text.index("To record a sequence, simply press RECORD")
    assert "simply press RECORD and PLAY,\nthen play your MIDI keyboard" in text


def test_owner_password_pdf_opens_user_password_pdf_is_refused() -> None:
    form = extract_pdf(DOCS / "dd0293-encrypted-owner.pdf")  # encrypted, no password to open
    assert len(form.pages) == 4 and "DISCHARGE" in form.text.upper()
    with pytest.raises(ExtractionFailed, match="encrypted PDF: a password is needed"):
        extract_pdf(DOCS / "password-protected.pdf")


def test_docx_blocks_tables_heading_paths_and_no_headers_footers() -> None:
    policy = extract_docx(DOCS / "travel-policy.docx")
    assert "Berlin | EUR 42\nLyon | EUR 38" in policy.text
    assert "finance-help" not in policy.text and "Internal —" not in policy.text
    at = policy.text.index("Rail is the default")
    assert locate(policy, at, at + 10).locator == (
        "paragraph 5 — Travel and Expenses Policy > Booking travel > Rail and air"
    )
    at = policy.text.index("Berlin")
    assert locate(policy, at, at + 6).locator == "table 8 — Travel and Expenses Policy > Expenses"
    real = extract_docx(DOCS / "header-footer.docx")  # python-docx's own test file
    assert real.text == "section with header\n\nsection without header of its own."
    assert "Header for section-1" not in real.text
    tables = extract_docx(DOCS / "paras-and-tables.docx")
    assert [b.kind for b in tables.blocks] == ["paragraph", "table", "paragraph"]


def test_bad_documents_are_reported_and_skipped(tmp_path: Path) -> None:
    for name in ("congress-scanned.pdf", "password-protected.pdf", "truncated.pdf", "heading.docx"):
        shutil.copy(DOCS / name, tmp_path / name)
    (tmp_path / "broken.docx").write_bytes((DOCS / "heading.docx").read_bytes()[:4000])
    (tmp_path / "fake.pdf").write_bytes(b"%PDF-1.7\n garbage \n%%EOF\n")
    result = load_corpus(tmp_path)
    assert [d.source for d in result.documents] == ["heading.docx"]
    assert {s.source: s.reason for s in result.skipped} == {
        "broken.docx": "corrupt or truncated DOCX (not a zip archive)",
        "congress-scanned.pdf": "no text layer (a scanned PDF?); OCR is not part of the default "
        "install",
        "fake.pdf": "corrupt PDF (Failed to load document (PDFium: Data format error).)",
        "password-protected.pdf": "encrypted PDF: a password is needed to open it",
        "truncated.pdf": "truncated or corrupt PDF (no %%EOF marker at the end)",
    }


def test_a_file_over_the_time_limit_is_skipped_and_the_run_goes_on(tmp_path: Path) -> None:
    import pypdfium2 as pdfium

    big = pdfium.PdfDocument.new()  # an enormous (generated) PDF: 4000 pages
    for _ in range(4000):
        big.new_page(612, 792)
    big.save(str(tmp_path / "enormous.pdf"))
    with ExtractionWorker(timeout_s=0.05) as worker:
        assert worker.extract(DOCS / "pdflatex-outline.pdf") is not None  # worker warm
        reason = worker.extract(tmp_path / "enormous.pdf")
        assert reason == "extraction took longer than 0.05 s (per-file limit)"
        worker.timeout_s = 30
        after = worker.extract(DOCS / "linn-brochure.pdf")  # a fresh worker takes over
        assert not isinstance(after, str) and "LinnSequencer" in after.text


def test_pdf_quotes_are_verified_against_the_stored_text_never_the_file(tmp_path: Path) -> None:
    """`Citation.verified` for PDF/DOCX: "extracted" (the stored text of the indexed version reads
    the quote at its offsets, the file itself may be gone), a dropped citation when the stored text
    is missing or disagrees, and "index" only where no extracted store is configured."""
    from indexer.extracted import save_extracted
    from indexer.formats import Extraction
    from indexer.kernel.models import Chunk, Passage
    from service.citing.citer import Citer

    text = "Title page\n\f\nThe depot opened in 1911. It has two floors."
    found = text.index("The depot")
    chunk = Chunk(id="c", source="gone.pdf", title="T", text=text[found:], char_start=found,
                  char_end=len(text), line_start=3, line_end=3, chunk_index=0, content_hash="h",
                  doc_hash="d" * 64)  # fmt: skip
    store = tmp_path / "extracted"
    save_extracted(store, [("gone.pdf", "d" * 64, Extraction(format="pdf", extractor="t",
        text=text, pages=[PageSpan(page=1, char_start=0, char_end=10),
                          PageSpan(page=2, char_start=13, char_end=len(text))])),
    ])  # fmt: skip
    passage = Passage(n=1, chunk=chunk, score=1.0)
    draft = Draft(text="The depot opened in 1911 [1].", answerable=True)
    (cite,) = Citer(tmp_path / "corpus", store).cite(draft, [passage]).citations  # no file at all
    assert cite.verified == "extracted" and cite.quote == "The depot opened in 1911."
    assert text[cite.char_start : cite.char_end] == cite.quote and cite.page == 2
    assert cite.line_start == cite.line_end == 3  # lines of the extracted text
    other = Chunk(**{**chunk.model_dump(), "doc_hash": "e" * 64})  # no stored text for it
    assert not Citer(tmp_path, store).cite(draft, [Passage(n=1, chunk=other, score=1.0)]).answerable
    (bare,) = Citer(tmp_path, None).cite(draft, [passage]).citations
    assert bare.verified == "index" and bare.page is None


# ---- the real index and service ----
@pytest.fixture(scope="module")
def doc_service(documents_index: Settings) -> Iterator[str]:
    from service.http.app import create_app

    with serve(create_app(documents_index), ready_path="/readyz") as base:
        yield base


@pytest.mark.slow
def test_extracted_text_is_stored_by_hash_and_pruned(documents_index: Settings) -> None:
    from indexer.embedding.hashing import HashingEmbedder
    from indexer.sync import sync_corpus

    folder = extracted_dir(documents_index.data_dir, documents_index.collection)
    pdf = documents_index.corpus_dir / "linn-brochure.pdf"
    digest = hashlib.sha256(pdf.read_bytes()).hexdigest()
    stored = load_extracted(folder, digest)
    assert stored is not None and stored.source == "linn-brochure.pdf"
    assert stored.extraction.text == extract_pdf(pdf).text
    # Another collection, same files: removing the PDF removes its stored text after the commit.
    other = documents_index.model_copy(update={"collection": "prune-test"})
    corpus = documents_index.corpus_dir.parent / "prune-corpus"
    corpus.mkdir()
    shutil.copy(pdf, corpus / pdf.name)
    sync_corpus(other, corpus, embedder=HashingEmbedder(dim=32), progress=False)
    assert (extracted_dir(other.data_dir, "prune-test") / f"{digest}.txt").is_file()
    (corpus / pdf.name).unlink()  # the folder is now empty: emptying the index is opted into
    sync_corpus(other, corpus, embedder=HashingEmbedder(dim=32), progress=False, allow_empty=True)
    assert list(extracted_dir(other.data_dir, "prune-test").iterdir()) == []


# Two questions over the OCR'd Vicksburg page the learned answerer gets wrong: it scores the
# sentence that answers the first at 0.08, under its operating point, and answers the second with
# a neighbouring sentence (docs/answering.md). The page-citation checks run on the other eight.
KNOWN_MISSES = {"doc-vicksburg-mortar": False, "doc-vicksburg-shell": True}


@pytest.mark.slow
def test_gold_questions_over_http_cite_pages_verified_against_stored_text(
    documents_index: Settings, doc_service: str
) -> None:
    gold = load_gold(GOLD)
    gold.check_sources(DOCS)
    folder = extracted_dir(documents_index.data_dir, documents_index.collection)
    checked = pages_right = 0
    for q in gold.questions:
        body = httpx.post(f"{doc_service}/v1/ask", json={"question": q.question}, timeout=60)
        assert body.status_code == 200, body.text
        answer = body.json()
        if q.id in KNOWN_MISSES:  # still missed: remove it from KNOWN_MISSES once it is right
            assert answer["answerable"] is KNOWN_MISSES[q.id], q.id
            facts = [p for fact in q.key_facts for p in fact]
            assert not any(normalize_text(p) in normalize_text(answer["answer"]) for p in facts)
            continue
        assert answer["answerable"] is q.answerable, (q.id, answer["answer"])
        if not q.answerable:
            continue
        for fact in q.key_facts:
            assert any(normalize_text(p) in normalize_text(answer["answer"]) for p in fact), q.id
        cited = [c for c in answer["citations"] if c["source"] in q.gold_sources]
        assert cited, (q.id, answer["citations"])
        for c in answer["citations"]:
            digest = hashlib.sha256(
                (documents_index.corpus_dir / c["source"]).read_bytes()
            ).hexdigest()
            stored = load_extracted(folder, digest)
            assert stored is not None and c["verified"] == "extracted"
            assert stored.extraction.text[c["char_start"] : c["char_end"]] == c["quote"]
            checked += 1
        for c in cited:
            if c["source"].endswith(".pdf"):
                assert c["page"] in q.gold_pages[c["source"]], (q.id, c)
                assert c["locator"] == f"page {c['page']}" or c["page_end"] != c["page"]
                pages_right += 1
            else:
                assert c["page"] is None and c["locator"].startswith("paragraph ")
    answered = [q for q in gold.questions if q.answerable and q.id not in KNOWN_MISSES]
    on_pdf = [q for q in answered if any(s.endswith(".pdf") for s in q.gold_sources)]
    assert checked >= len(answered) == 8 and pages_right >= len(on_pdf) == 6


@pytest.mark.slow
def test_document_endpoint_locates_the_span(documents_index: Settings, doc_service: str) -> None:
    text = extract_pdf(documents_index.corpus_dir / "vicksburg-ocr.pdf").text
    start = text.index("We expect to be paid off")
    r = httpx.get(
        f"{doc_service}/v1/documents/vicksburg-ocr.pdf",
        params={"char_start": start, "char_end": start + 24},
    )
    assert r.status_code == 200
    doc = r.json()
    assert doc["format"] == "pdf" and doc["verified"] == "extracted"
    assert doc["text"] == text and not doc["truncated"] and len(doc["pages"]) == 6
    assert doc["span"] == {"char_start": start, "char_end": start + 24, "text_start": start,
                           "text_end": start + 24, "quote": "We expect to be paid off", "page": 2,
                           "page_end": 2, "locator": "page 2"}  # fmt: skip
    seed = httpx.get(f"{doc_service}/v1/documents/{SEED}", params={"char_start": 0, "char_end": 5})
    assert seed.status_code == 200 and seed.json()["verified"] == "file"
    assert seed.json()["span"]["page"] is None
    bad_span = httpx.get(f"{doc_service}/v1/documents/{SEED}", params={"char_start": 10**7})
    assert bad_span.status_code == 422


@pytest.mark.slow
@pytest.mark.parametrize(
    "path",
    [
        "../README.md", "..%2FREADME.md", "%2e%2e/%2e%2e/etc/passwd", "%2Fetc%2Fpasswd",
        "sub%2F..%2Flinn-brochure.pdf", "missing.pdf", "linn-brochure.PDF",
        "..%5Clinn-brochure.pdf",
        "congress-scanned.pdf",  # in the folder, but skipped: not in the index
    ],
)  # fmt: skip
def test_traversal_and_unknown_sources_are_404_without_a_listing(
    doc_service: str, path: str
) -> None:
    r = httpx.get(f"{doc_service}/v1/documents/{path}")
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] in {"document_not_found", "not_found"}
    assert "linn-brochure" not in r.text and "vicksburg" not in r.text


@pytest.mark.slow
def test_document_endpoint_needs_auth_like_ask(documents_index: Settings) -> None:
    from service.http.app import create_app
    from service.security.api_keys import generate_key, hash_key

    key = generate_key()
    settings = documents_index.model_copy(
        update={"auth_enabled": True, "api_key_hashes": [hash_key(key)]}
    )
    with serve(create_app(settings), ready_path="/healthz") as base:
        url = f"{base}/v1/documents/linn-brochure.pdf"
        assert httpx.get(url).status_code == 401
        ok = httpx.get(url, headers={"Authorization": f"Bearer {key}"})
        assert ok.status_code == 200 and "LinnSequencer" in ok.json()["text"]


@pytest.mark.slow
def test_document_endpoint_widget_token_and_host_allowlist(documents_index: Settings) -> None:
    """The widget's "open in document" works with a widget token (bound to its origin); the Host
    allowlist guards this route like every other; a widget token still cannot search."""
    from service.http.app import create_app
    from service.security.api_keys import generate_key, hash_key
    from service.security.widget_tokens import mint_widget_token

    origin, key = "https://intranet.example", generate_key()
    settings = documents_index.model_copy(
        update={"auth_enabled": True, "api_key_hashes": [hash_key(key)],
                "widget_token_secret": SecretStr("s3cret-for-tests"), "cors_origins": [origin]}
    )  # fmt: skip
    token = mint_widget_token(origin, settings).token
    widget = {"Authorization": f"Bearer {token}", "Origin": origin}
    with serve(create_app(settings), ready_path="/healthz") as base:
        url = f"{base}/v1/documents/linn-brochure.pdf"
        ok = httpx.get(url, headers=widget)
        assert ok.status_code == 200 and ok.json()["verified"] == "extracted"
        assert ok.headers["access-control-allow-origin"] == origin
        assert httpx.get(url, headers={**widget, "Origin": "https://evil.example"}).status_code in (
            401, 403)  # fmt: skip
        assert httpx.post(f"{base}/v1/search", json={"question": "x"}, headers=widget
                          ).status_code == 403  # fmt: skip
        rebound = httpx.get(url, headers={"Authorization": f"Bearer {key}", "Host": "evil.test"})
        assert rebound.status_code == 400
        assert rebound.json()["error"]["code"] == "invalid_host"
        assert "LinnSequencer" not in rebound.text
