"""API keys: how they are made, stored (hashed only) and checked (constant time); the key CLI.

Why plain SHA-256 and not scrypt/argon2: our keys are 256-bit random tokens (`generate_key`), not
passwords, so a leaked hash cannot be brute-forced whatever the hash speed; a slow KDF would only
let any anonymous client burn ~50 ms of our 2 CPUs per guess. A pepper would add nothing for the
same reason. `hash_key` refuses short keys so a human-chosen password never becomes a key.

Make a key:  `python -m service.security new`   (prints the key once, and the hash to configure)
Hash a key:  `python -m service.security hash`  (reads the key from stdin, not from argv/history)
Configure:   `CITELINE_AUTH_ENABLED=1 CITELINE_API_KEY_HASHES=sha256:<hex>[,sha256:<hex>...]`
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sys
from collections.abc import Sequence

from indexer.kernel.errors import ConfigError

KEY_PREFIX = "cl_"
MIN_KEY_CHARS = 32
_SCHEME = "sha256:"


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    if len(key) < MIN_KEY_CHARS:
        raise ConfigError(f"API keys must be at least {MIN_KEY_CHARS} characters (use `new`)")
    return _SCHEME + hashlib.sha256(key.encode()).hexdigest()


def _parse_hash(stored: str) -> bytes:
    hex_part = stored.strip().removeprefix(_SCHEME)
    try:
        digest = bytes.fromhex(hex_part)
    except ValueError as exc:
        raise ConfigError(f"api_key_hashes: {stored[:12]!r}... is not sha256:<hex>") from exc
    if len(digest) != 32:
        raise ConfigError(f"api_key_hashes: {stored[:12]!r}... is not a sha256 digest")
    return digest


class KeyRing:
    """The configured key hashes. `match` costs the same whichever entry (if any) matches."""

    def __init__(self, hashes: Sequence[str]) -> None:
        self._digests = [_parse_hash(h) for h in hashes if h.strip()]

    def __len__(self) -> int:
        return len(self._digests)

    def match(self, key: str) -> str | None:
        """A stable, non-secret id for the key (hash prefix), or None."""
        presented = hashlib.sha256(key.encode("utf-8", "replace")).digest()
        found: bytes | None = None
        for digest in self._digests:  # no early exit: timing says nothing about which entry
            if hmac.compare_digest(digest, presented):
                found = digest
        return None if found is None else "key:" + found.hex()[:12]


def main(argv: Sequence[str]) -> int:
    if argv[:1] == ["new"]:
        key = generate_key()
        print(f"key:  {key}\nhash: {hash_key(key)}")
        return 0
    if argv[:1] == ["hash"]:
        try:
            print(hash_key(sys.stdin.readline().strip()))
        except ConfigError as exc:
            print(exc.message, file=sys.stderr)
            return 2
        return 0
    print("usage: python -m service.security new | hash  (key on stdin)", file=sys.stderr)
    return 2
