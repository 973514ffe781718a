"""Corpus loading: which files become documents, their text/title/hash, and what is skipped."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from indexer.html_text import html_reading, html_title
from indexer.kernel.errors import DocumentError
from indexer.loading import load_corpus, text_title
from indexer.reading import quote_at

HTML = """<!DOCTYPE html>
<html><head><title>Haier &amp; the IoT era</title>
<style>body { color: red; }</style>
<script type="text/javascript">var secret = "<p>not text</p>";</script>
</head>
<body><!-- a comment
over two lines -->
<h1 class="x">Haier grows abroad</h1>
<p>Haier opened <b>three</b> plants in 2019. AT&amp;T was not involved.</p>
<a href="/x" title="a>b">link</a>
</body></html>
"""


def test_seeds_load_with_titles_hashes_and_exact_text(seeds_dir: Path) -> None:
    result = load_corpus(seeds_dir)
    assert result.skipped == []
    sources = [d.source for d in result.documents]
    assert sources == sorted(p.name for p in seeds_dir.glob("*.txt"))
    first = result.documents[0]
    raw = (seeds_dir / first.source).read_bytes()
    assert first.text == raw.decode("utf-8")
    assert first.doc_hash == hashlib.sha256(raw).hexdigest()
    assert first.bytes == len(raw)
    # The navigation line "US EUROPE AFRICA ASIA 中文" and "Business / Latest News" are passed over.
    assert first.title == "Huawei bringing globalization and localization together"
    assert result.documents[3].title.startswith("How Haier’s Model Can Help")


def test_recursive_sorted_with_slash_sources_and_markdown_titles(tmp_path: Path) -> None:
    (tmp_path / "b" / "c").mkdir(parents=True)
    (tmp_path / "b" / "c" / "deep.md").write_text("## Deep notes about the supply chain\nbody\n")
    (tmp_path / "a.txt").write_text("Short\n\nA line that has enough words in it.\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD.txt").write_text("ref: refs/heads/main and more words\n")
    docs = load_corpus(tmp_path).documents
    assert [d.source for d in docs] == ["a.txt", "b/c/deep.md"]
    assert docs[0].title == "A line that has enough words in it."
    assert docs[1].title == "Deep notes about the supply chain"


def test_title_falls_back_to_first_line_then_file_name() -> None:
    assert text_title("NAV BAR ONE TWO THREE\nshort\n", "f") == "NAV BAR ONE TWO THREE"
    assert text_title("\n\n", "fallback") == "fallback"


def test_bad_files_are_reported_and_skipped_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "good.txt").write_text("A perfectly good document about Haier.\n")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.md").write_text("  \n\n \n")
    (tmp_path / "binary.txt").write_bytes(b"PK\x03\x04\x00\x00binary")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "paper.pdf").write_bytes(b"%PDF-1.7")
    (tmp_path / "big.txt").write_text("x" * 5000)
    (tmp_path / "locked.txt").write_text("cannot read me")
    real_read = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "locked.txt":  # tests run as root, so chmod 000 would not stop a read
            raise PermissionError(13, "Permission denied")
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    result = load_corpus(tmp_path, max_bytes=1000)
    assert [d.source for d in result.documents] == ["good.txt"]
    reasons = {s.source: s.reason for s in result.skipped}
    assert reasons == {
        "big.txt": "too large (5000 bytes > 1000)",
        "binary.txt": "binary file (NUL bytes)",
        "blank.md": "no text",
        "empty.txt": "empty file",
        "latin1.txt": "not valid UTF-8 (byte 3)",
        "locked.txt": "unreadable: Permission denied",
        "paper.pdf": "truncated or corrupt PDF (no %%EOF marker at the end)",
    }


def test_symlinks_leaving_the_corpus_are_skipped(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("Secret text that lives outside the corpus root.\n")
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "real.txt").write_text("A real document inside the corpus.\n")
    os.symlink(outside, root / "escape.txt")
    os.symlink(root / "real.txt", root / "alias.txt")
    os.symlink(tmp_path, root / "loop")
    result = load_corpus(root)
    assert [d.source for d in result.documents] == ["alias.txt", "real.txt"]
    reasons = {s.source: s.reason for s in result.skipped}
    assert reasons == {"escape.txt": "symlink leaves the corpus", "loop": "symlinked folder"}


def test_missing_corpus_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="does not exist"):
        load_corpus(tmp_path / "nope")


def test_crlf_and_bom_are_read_as_text_and_mapped_to_the_file_as_stored(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbfFirst line of the file\r\nsecond\rthird\r\n"
    (tmp_path / "win.txt").write_bytes(data)
    doc = load_corpus(tmp_path).documents[0]
    assert doc.text == "First line of the file\nsecond\nthird\n"
    raw = data.decode("utf-8")  # as stored: the BOM is character 0
    start = doc.text.index("second")
    fs, fe = doc.offsets.file_span(start, start + len("second\nthird"))
    assert raw[fs:fe] == "second\rthird" and doc.offsets.line(fs) == 2
    assert quote_at("win.txt", data, fs, fe) == "second\nthird"


def test_html_reads_as_text_with_offsets_into_the_file(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(HTML, encoding="utf-8")
    doc = load_corpus(tmp_path).documents[0]
    assert doc.title == "Haier & the IoT era"
    for leaked in ("<", ">", "color: red", "secret", "not text", "a comment", "href", "DOCTYPE"):
        assert leaked not in doc.text
    assert "  " not in doc.text  # no runs of spaces where tags were
    assert "Haier opened three plants in 2019. AT&T was not involved.\nlink" in doc.text
    start = doc.text.index("Haier opened")
    end = doc.text.index("involved.") + len("involved.")
    fs, fe = doc.offsets.file_span(start, end)
    assert HTML[fs:fe] == "Haier opened <b>three</b> plants in 2019. AT&amp;T was not involved."
    assert doc.offsets.line(fs) == HTML[:fs].count("\n") + 1 == 9


def test_html_title_drops_script_and_style_and_falls_back_to_h1() -> None:
    title = "<title>Logistics <script>alert(1)</script><style>b{}</style> hub</title>"
    assert html_title(f"<html><head>{title}</head></html>", "file") == "Logistics hub"
    markup = "<h1>Only <i>a</i> heading</h1><p>Body text.</p><script>var x = 1;"
    assert html_reading(markup)[0].split() == ["Only", "a", "heading", "Body", "text."]
    assert html_title(markup, "file") == "Only a heading"
