"""Which chunk ids are live, answered from the manifest alone, without reading a record.

A chunk's id follows from its file's committed version (`chunk_id(source, doc_hash, index)`), so
the manifest names every live id. The service's dense query asks Chroma for ids and distances
only and drops the ids not in this set: a crashed run's orphans, or an indexer's uncommitted
chunks. Kept as sorted 64-bit keys (the ids are hex digests): 8 bytes a chunk, where a set of id
strings would take ~100 (~10 MB instead of ~130 MB at 1.2 M chunks).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from indexer.chunking import chunk_id
from indexer.store.base import Manifest

# Hashing ~1.7 us an id (measured): up to here (~35 ms) a new version's set is built in the
# caller's thread; a larger one on a background thread while queries use the previous set.
SYNC_BUILD_CHUNKS = 20_000


def live_ids(manifest: Manifest, sources: Sequence[str]) -> list[str]:
    """The ids of the committed chunks of `sources` (unknown sources have none)."""
    out: list[str] = []
    for source in dict.fromkeys(sources):
        entry = manifest.files.get(source)
        if entry is not None:
            out += [chunk_id(source, entry.doc_hash, i) for i in range(entry.chunks)]
    return out


class LiveIds:
    """Membership in a set of chunk ids."""

    def __init__(self, ids: Sequence[str]) -> None:
        keys = np.fromiter((int(i[:16], 16) for i in ids), dtype=np.uint64, count=len(ids))
        keys.sort()
        self._keys = keys

    def __contains__(self, chunk_id: str) -> bool:
        try:
            key = np.uint64(int(chunk_id[:16], 16))
        except ValueError:  # not an id of ours
            return False
        at = int(np.searchsorted(self._keys, key))
        return at < len(self._keys) and bool(self._keys[at] == key)

    @classmethod
    def of(cls, manifest: Manifest) -> LiveIds:
        return cls(live_ids(manifest, list(manifest.files)))


class LiveIdCache:
    """The live ids of the newest manifest seen, shared by request threads.

    A stale set is safe: the chunks a query keeps are read with `get`, which checks each against
    the manifest itself, so a dead chunk never shows; a new file's chunks are skipped until the
    set that names them is ready (as the keyword index does while it rebuilds).
    """

    def __init__(self) -> None:
        self._held: tuple[Manifest, LiveIds] | None = None
        self._building: Manifest | None = None
        self._lock = threading.Lock()

    def get(self, manifest: Manifest) -> LiveIds:
        with self._lock:
            held = self._held
            if held is not None and held[0] is manifest:
                return held[1]
            if held is None or sum(f.chunks for f in manifest.files.values()) <= SYNC_BUILD_CHUNKS:
                self._held = (manifest, LiveIds.of(manifest))
                return self._held[1]
            if self._building is not manifest:
                self._building = manifest
                threading.Thread(
                    target=self._build, args=(manifest,), daemon=True, name="live-ids"
                ).start()
            return held[1]

    def _build(self, manifest: Manifest) -> None:
        built = LiveIds.of(manifest)
        with self._lock:
            if self._building is manifest:
                self._held, self._building = (manifest, built), None
