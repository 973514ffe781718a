"""The abbreviations the live index defines, for the answerer: read from the manifest, re-read
at most every `refresh_s` seconds (a query must not pay a store round trip for them)."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

from indexer.store.base import ChunkStore


class ManifestAbbreviations:
    def __init__(self, store: ChunkStore, refresh_s: float = 2.0) -> None:
        self._store = store
        self._refresh_s = refresh_s
        self._map: Mapping[str, str] = {}
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def __call__(self) -> Mapping[str, str]:
        if time.monotonic() - self._checked < self._refresh_s:
            return self._map
        with self._lock:
            if time.monotonic() - self._checked >= self._refresh_s:
                manifest = self._store.manifest()
                self._map = manifest.abbreviations() if manifest else {}
                self._checked = time.monotonic()
        return self._map
