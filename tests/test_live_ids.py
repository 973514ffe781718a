"""The live-id set the dense query filters Chroma's hits with: exact membership from the manifest
alone, and a new version's large set built off the request path."""

from __future__ import annotations

import time

import pytest

from indexer.chunking import chunk_id
from indexer.store import live_ids as live_module
from indexer.store.base import FileEntry, Manifest
from indexer.store.live_ids import LiveIdCache, LiveIds, live_ids


def _manifest(**files: tuple[str, int]) -> Manifest:
    entries = {
        name: FileEntry(source=name, doc_hash=doc_hash, title=name, chunks=n, bytes=1)
        for name, (doc_hash, n) in files.items()
    }
    return Manifest(embed_model="m", dim=3, files=entries)


def test_membership_is_exactly_the_manifests_chunks() -> None:
    manifest = _manifest(a=("h1", 3), b=("h2", 2))
    live = LiveIds.of(manifest)
    assert all(chunk_id("a", "h1", i) in live for i in range(3))
    assert chunk_id("a", "h1", 3) not in live  # one past the file's chunk count
    assert chunk_id("a", "old-version", 0) not in live  # an orphan of another version
    assert chunk_id("b", "h2", 1) in live
    assert "orphan-0" not in live and "" not in live  # not hex: never ours
    assert live_ids(manifest, ["b", "zzz", "b"]) == [chunk_id("b", "h2", i) for i in range(2)]


def test_a_small_new_version_is_used_at_once() -> None:
    cache = LiveIdCache()
    first, second = _manifest(a=("h1", 2)), _manifest(a=("h2", 2))
    assert chunk_id("a", "h1", 0) in cache.get(first)
    assert cache.get(first) is cache.get(first)  # built once per version
    assert chunk_id("a", "h2", 0) in cache.get(second)


def test_a_large_new_version_is_built_in_the_background(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = LiveIdCache()
    first = _manifest(a=("h1", 2))
    cache.get(first)  # the very first set is always built in the caller's thread
    monkeypatch.setattr(live_module, "SYNC_BUILD_CHUNKS", 0)
    second = _manifest(a=("h2", 2))
    interim = cache.get(second)
    assert chunk_id("a", "h1", 0) in interim  # the previous set, while the new one is built
    deadline = time.monotonic() + 10
    while chunk_id("a", "h2", 0) not in cache.get(second) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert chunk_id("a", "h2", 0) in cache.get(second)
    assert chunk_id("a", "h1", 0) not in cache.get(second)
