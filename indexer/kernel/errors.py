"""Citeline's whole exception tree, in one place. Each error carries its HTTP `status` and `code`.

Lower layers raise these (`raise ... from exc`); the HTTP layer maps each to its status in one
handler (`service/http/errors.py`); the CLI prints `message` and `code`.
"""

from __future__ import annotations


class CitelineError(Exception):
    """Base of every error Citeline raises on purpose."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ---- configuration and requests ----


class ConfigError(CitelineError):
    code = "config_error"


class GoldFileError(ConfigError):
    """A gold (or thresholds) file that cannot be used; `message` lists every problem found."""

    code = "invalid_gold_file"


class ScorerModelError(ConfigError):
    """The committed answer-scorer coefficients are missing or do not match the features."""

    code = "scorer_model_invalid"


class InvalidRequestError(CitelineError):
    status = 422
    code = "invalid_request"


# ---- corpus, store and index ----


class DocumentError(CitelineError):
    """A corpus file that cannot be read or decoded (the indexer skips it and reports)."""

    code = "document_error"


class StoreError(CitelineError):
    """The vector store failed (embedded or server)."""

    status = 503
    code = "store_unavailable"


class IndexNotReadyError(StoreError):
    """No index yet, or an empty one: run `citeline index` first."""

    code = "index_not_ready"


class EmbeddingMismatchError(CitelineError):
    """The collection was built with another embedding model or dimension."""

    status = 409
    code = "embedding_mismatch"


class DocumentNotFoundError(CitelineError):
    """`GET /v1/documents/{source}`: the source is not in the live index (or its file is gone)."""

    status = 404
    code = "document_not_found"


class DocumentChangedError(CitelineError):
    """The file's bytes no longer hash to the indexed version: a citation's offsets do not apply."""

    status = 409
    code = "document_changed"


class IndexLockedError(CitelineError):
    """Another indexer run holds the lock on this collection."""

    status = 409
    code = "index_locked"


# ---- models: embeddings and the LLM ----


class EmbeddingError(CitelineError):
    status = 502
    code = "embedding_failed"


class LLMError(CitelineError):
    """The LLM server failed or answered something unusable."""

    status = 502
    code = "llm_error"


class LLMTimeoutError(LLMError):
    status = 504
    code = "llm_timeout"


class LLMBusyError(LLMError):
    """The local model's queue is full (or it is still loading): 503 with `Retry-After`."""

    status = 503
    code = "llm_busy"


# ---- access control ----


class UnauthorizedError(CitelineError):
    status = 401
    code = "unauthorized"


class ForbiddenError(CitelineError):
    status = 403
    code = "forbidden"


class WidgetTokenError(CitelineError):
    status = 401
    code = "invalid_widget_token"
