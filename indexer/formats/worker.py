"""Run extraction in a child process, so a hostile or pathological file can cost at most
`EXTRACT_TIMEOUT_S` seconds and `EXTRACT_MEMORY_BYTES` of memory, and never crash the run.

One child (`python -m indexer.formats.worker`) serves one indexing run, a file at a time, over
line-delimited JSON on its stdin/stdout. A file that takes too long gets the child killed (and a
fresh one started for the next file); one that crashes PDFium or exhausts the memory cap kills only
the child. Either way the file is reported in `skipped` with the reason, and the run goes on.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from indexer.formats import Extraction, ExtractionFailed

EXTRACT_TIMEOUT_S = 60.0  # per file; a 100-page PDF takes well under a second
EXTRACT_MEMORY_BYTES = 2 * 1024**3  # address-space cap of the child
_STARTUP_TIMEOUT_S = 60.0


def extract_file(path: Path) -> Extraction:
    """In this process, no limits: raises ExtractionFailed with a reason."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        from indexer.formats.pdf import extract_pdf

        return extract_pdf(path)
    if suffix == ".docx":
        from indexer.formats.docx import extract_docx

        return extract_docx(path)
    raise ExtractionFailed(f"unsupported file type {suffix or '(none)'}")


def _answer(path: Path) -> dict[str, Any]:
    try:
        return {"ok": extract_file(path).model_dump()}
    except ExtractionFailed as exc:
        return {"skip": exc.reason}
    except MemoryError:
        return {"skip": f"needs more than {EXTRACT_MEMORY_BYTES // 1024**2} MiB to extract"}
    except Exception as exc:  # a library bug on a strange file: report it, keep serving
        return {"skip": f"unreadable ({type(exc).__name__}: {str(exc)[:120]})"}


def _serve(stdin: IO[str], stdout: IO[str]) -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (EXTRACT_MEMORY_BYTES, EXTRACT_MEMORY_BYTES))
    except (ImportError, ValueError, OSError):
        pass  # not on this platform: the time limit still applies
    stdout.write('{"ready": true}\n')
    stdout.flush()
    for line in stdin:
        stdout.write(json.dumps(_answer(Path(json.loads(line)["path"]))) + "\n")
        stdout.flush()


class ExtractionWorker:
    """The parent's handle on the child; `extract` returns an Extraction or a skip reason."""

    def __init__(self, timeout_s: float = EXTRACT_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._proc: subprocess.Popen[str] | None = None

    def _readline(self, timeout_s: float) -> str | None:
        assert self._proc is not None and self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout_s)
        return self._proc.stdout.readline() if ready else None

    def _start(self) -> subprocess.Popen[str]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "indexer.formats.worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, encoding="utf-8", env=env,
        )  # fmt: skip
        if self._readline(_STARTUP_TIMEOUT_S) is None:
            self.close()
            raise RuntimeError("the extraction worker did not start")
        return self._proc

    def extract(self, path: Path) -> Extraction | str:
        proc = self._start()
        assert proc.stdin is not None
        started = time.monotonic()
        try:
            proc.stdin.write(json.dumps({"path": str(path.resolve())}) + "\n")
            proc.stdin.flush()
            line = self._readline(self.timeout_s)
        except (BrokenPipeError, OSError):
            line = ""
        if line is None:
            self.close()
            return f"extraction took longer than {self.timeout_s:g} s (per-file limit)"
        if not line:
            code = proc.poll()
            self.close()
            took = time.monotonic() - started
            return f"extraction crashed (worker exit {code}) after {took:.1f} s"
        answer = json.loads(line)
        if "ok" in answer:
            return Extraction.model_validate(answer["ok"])
        return str(answer["skip"])

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()

    def __enter__(self) -> ExtractionWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    _serve(sys.stdin, sys.stdout)
