"""Process-wide switches that keep Citeline offline and sized for small machines.

Called once by each entry point (CLI, app factory, tests) before heavy imports do any work.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def _bundled_tiktoken_cache() -> str | None:
    # find_spec, not import: importing llama_index.core costs ~2 s, paid by every CLI start.
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "_static" / "tiktoken_cache"
    return str(path) if path.is_dir() else None


def configure_offline(threads: int = 2) -> None:
    """Never download anything at run time; never oversubscribe a 2-core box.

    `setdefault` everywhere: a user who sets these deliberately keeps their value.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")  # chromadb posthog
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))
    # tiktoken downloads encodings unless pointed at llama-index's bundled cache.
    cache = _bundled_tiktoken_cache()
    if cache and not os.environ.get("TIKTOKEN_CACHE_DIR"):
        os.environ["TIKTOKEN_CACHE_DIR"] = cache
    # NLTK: llama-index ships its data; a stray NLTK_DATA would send it looking elsewhere.
    os.environ.pop("NLTK_DATA", None)
