"""Citeline's own exception tree. Lower layers raise these (`raise ... from exc`);
the HTTP layer maps each to a status code in one handler; the CLI prints `message`."""

from __future__ import annotations


class CitelineError(Exception):
    """Base of every error Citeline raises on purpose."""

    status_code: int = 500
    code: str = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(CitelineError):
    code = "config_error"


class InvalidRequestError(CitelineError):
    status_code = 422
    code = "invalid_request"


class DocumentError(CitelineError):
    """A corpus file that cannot be read or decoded (the indexer skips it and reports)."""

    code = "document_error"


class StoreError(CitelineError):
    """The vector store failed (embedded or server)."""

    status_code = 503
    code = "store_unavailable"


class IndexNotReadyError(StoreError):
    """No index yet, or an empty one: run `citeline index` first."""

    code = "index_not_ready"


class EmbeddingMismatchError(CitelineError):
    """The collection was built with another embedding model or dimension."""

    status_code = 409
    code = "embedding_mismatch"


class IndexLockedError(CitelineError):
    """Another indexer run holds the lock on this collection."""

    status_code = 409
    code = "index_locked"


class EmbeddingError(CitelineError):
    status_code = 502
    code = "embedding_failed"


class LLMError(CitelineError):
    """The LLM server failed or answered something unusable."""

    status_code = 502
    code = "llm_error"


class LLMTimeoutError(LLMError):
    status_code = 504
    code = "llm_timeout"
