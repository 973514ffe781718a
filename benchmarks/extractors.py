"""Compare PDF text extractors on the committed real PDFs: fidelity, speed per page, memory.

`python -m benchmarks.extractors` prints the table recorded in docs/formats.md. Each library runs
in its own child process so the peak RSS is its own. Fidelity probes (all on real pages):
  reading order  the narrow column beside a picture reads on ("vis...itors we do not care to see")
  hyphenation    line-end hyphens can be joined ("dangerous" recoverable from "dan-/gerous")
  headers        the running head stays the first line of its page ("THE SIEGE OF VICKSBURG")
  columns        the brochure's second column follows its heading ("Recording" ... "To record")
"""

from __future__ import annotations

import json
import logging
import re
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "tests" / "fixtures" / "documents"
FILES = [
    "vicksburg-ocr.pdf", "pdflatex-outline.pdf", "linn-brochure.pdf", "dd0293-encrypted-owner.pdf"
]  # fmt: skip
LIBS = ["pypdfium2", "pypdf", "pdfminer.six"]
REPEAT = 3


def _pages(lib: str, path: Path) -> list[str]:
    if lib == "pypdfium2":
        import pypdfium2 as pdfium

        doc = pdfium.PdfDocument(path)
        try:
            return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
        finally:
            doc.close()
    if lib == "pypdf":
        from pypdf import PdfReader

        reader = PdfReader(path)
        if reader.is_encrypted:
            reader.decrypt("")
        return [p.extract_text() or "" for p in reader.pages]
    from pdfminer.high_level import extract_text

    return extract_text(str(path)).split("\f")


def _probe(texts: dict[str, list[str]]) -> dict[str, bool]:
    vicks = texts["vicksburg-ocr.pdf"]
    flat = lambda s: re.sub(r"[\s\ufffe\u00ad-]+", "", s)  # noqa: E731
    return {
        "reading_order": "visitorswedonotcaretoseeincamp" in flat(vicks[1]),
        "hyphenation": any(
            "dan\ufffegerous" in p or "dan\u00adgerous" in p or "dangerous" in p for p in vicks
        ),
        "headers": vicks[0].strip().startswith("THE") and "VICKSBURG" in vicks[0][:60],
        "columns": "To record a sequence" in texts["linn-brochure.pdf"][0]
        and texts["linn-brochure.pdf"][0].find("Recording")
        < texts["linn-brochure.pdf"][0].find("To record a sequence"),
    }


def child(lib: str) -> None:
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    texts: dict[str, list[str]] = {}
    pages = 0
    started = time.perf_counter()
    for _ in range(REPEAT):
        for name in FILES:
            texts[name] = _pages(lib, DOCS / name)
    seconds = time.perf_counter() - started
    pages = sum(len(t) for t in texts.values())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"lib": lib, "ms_per_page": 1000 * seconds / (REPEAT * pages),
                      "pages": pages, "peak_rss_mb": round(rss, 1), **_probe(texts)}))  # fmt: skip


def main() -> None:
    rows = []
    for lib in LIBS:
        out = subprocess.run([sys.executable, "-m", "benchmarks.extractors", "--child", lib],
                             capture_output=True, text=True, check=True, cwd=ROOT)  # fmt: skip
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    keys = ["lib", "ms_per_page", "peak_rss_mb", "reading_order", "hyphenation", "headers",
            "columns"]  # fmt: skip
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        cells = [f"{row[k]:.1f}" if isinstance(row[k], float) else str(row[k]) for k in keys]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
    else:
        main()
