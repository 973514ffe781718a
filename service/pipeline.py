"""Question in, verified answer out: validate, retrieve, answer, cite. No HTTP in here.

`top_k`: None means `settings.top_k`; below 1 is a 422; above `settings.max_top_k` is clamped to it
(in-process callers such as the BEIR eval ask for "as many as allowed").
`sources`: restricts retrieval to those files; an unknown source (or an empty list) is a 422 (it
names neither the corpus's files nor echoes the input), so a typo is not answered from nothing.
Text that is not valid Unicode (lone surrogates) is a 422 too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence

from indexer.embedding.base import Embedder
from indexer.extracted import extracted_dir
from indexer.kernel.errors import IndexNotReadyError, InvalidRequestError, LLMError
from indexer.kernel.models import NOT_FOUND_MESSAGE, Answer, Draft, Passage
from indexer.kernel.settings import Settings
from indexer.store.base import ChunkStore, one_manifest_read
from service.answering.base import Answerer
from service.answering.coverage import note_gaps
from service.answering.drafting import draft_stream
from service.citing.citer import Citer
from service.events import (
    DoneEvent,
    ErrorEvent,
    FinalEvent,
    PassagesEvent,
    StreamEvent,
    TokenEvent,
)
from service.retrieval.dense import DenseRetriever, Retriever

log = logging.getLogger(__name__)
SERVE_EMBED_THREADS = 1
Expand = Callable[[str, list[Passage]], list[Passage]]


def _encodable(text: str) -> bool:
    """False for lone surrogates ("\\ud800", or a non-UTF-8 byte from argv): bad input, a 422."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        store: ChunkStore,
        answerer: Answerer,
        *,
        fallback: Answerer | None = None,
        retriever: Retriever | None = None,
        expand: Expand | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.answerer = answerer
        self.fallback = fallback
        self.retriever = retriever or DenseRetriever(embedder, store)
        # Passages an answer reads beyond the retrieved ones (a list running into the next
        # chunk: `service.answering.continuation`); `search` returns the retrieved ones only.
        self.expand = expand
        self.citer = Citer(
            settings.corpus_dir,
            extracted_dir(settings.data_dir, settings.collection),
            embed=embedder.embed_documents,
            unsupported=settings.unsupported_claims,
        )

    def warm_up(self) -> None:
        """Load the model, and (when an index exists) the vector and keyword indexes, so the
        first question does not pay ~1.3 s for them."""
        self.embedder.warm_up()
        if self.store.manifest() is not None:
            self.retriever.retrieve("warm up", 1, None)
        for answerer in (self.answerer, self.fallback):  # the local model loads here
            warm = getattr(answerer, "warm_up", None)
            if callable(warm):
                warm()

    def check_ready(self) -> None:
        """Raise `IndexNotReadyError` unless the index exists and holds chunks."""
        if self.store.manifest() is None or self.store.count() == 0:
            raise IndexNotReadyError("the index is empty: run `citeline index` first")
        check = getattr(self.answerer, "check_ready", None)  # the local model: loaded yet?
        if callable(check):
            check()

    def _validate(
        self, question: str, top_k: int | None, sources: Sequence[str] | None
    ) -> tuple[str, int, list[str] | None]:
        question = question.strip()
        if not _encodable(question) or not all(_encodable(s) for s in sources or ()):
            raise InvalidRequestError("the request holds text that is not valid Unicode")
        if not question:
            raise InvalidRequestError("question must not be empty")
        if len(question) > self.settings.max_question_chars:
            raise InvalidRequestError(
                f"question is longer than {self.settings.max_question_chars} characters"
            )
        k = self.settings.top_k if top_k is None else top_k
        if k < 1:
            raise InvalidRequestError("top_k must be at least 1")
        if sources is None:
            return question, min(k, self.settings.max_top_k), None
        manifest = self.store.manifest()
        known = sorted(manifest.files) if manifest else []
        unknown = [s for s in sources if s not in known]
        if not sources or unknown:
            # Neither the corpus's file names nor the caller's strings go back in the message.
            what = f"{len(unknown)} source(s) not in the index" if unknown else "sources is empty"
            raise InvalidRequestError(f"{what}; `sources` takes paths as `/v1/search` shows them")
        return question, min(k, self.settings.max_top_k), list(dict.fromkeys(sources))

    def _retrieve(
        self, question: str, top_k: int, sources: list[str] | None
    ) -> tuple[list[Passage], dict[str, float]]:
        result = self.retriever.retrieve(question, top_k, sources)
        if not result.hits:
            self.check_ready()  # an empty index is an error, an unrelated question is not
        passages = [Passage(n=i, chunk=c, score=s) for i, (c, s) in enumerate(result.hits, 1)]
        return passages, dict(result.timings_ms)

    def _validate_and_retrieve(
        self, question: str, top_k: int | None, sources: Sequence[str] | None
    ) -> tuple[str, list[Passage], dict[str, float]]:
        with one_manifest_read():  # one manifest round trip per request, one consistent version
            question, k, srcs = self._validate(question, top_k, sources)
            passages, timings = self._retrieve(question, k, srcs)
        return question, passages, timings

    def search(
        self, question: str, top_k: int | None = None, sources: Sequence[str] | None = None
    ) -> list[Passage]:
        return self._validate_and_retrieve(question, top_k, sources)[1]

    def read(
        self, question: str, top_k: int | None = None, sources: Sequence[str] | None = None
    ) -> tuple[str, list[Passage], dict[str, float]]:
        """The question and the passages `ask` answers from (retrieved, then expanded), with
        their timings; benchmarks replay the answer's steps from here."""
        question, passages, timings = self._validate_and_retrieve(question, top_k, sources)
        if self.expand is not None and passages:
            mark = time.perf_counter()
            passages = self.expand(question, passages)
            timings["expand"] = _ms(mark)
        return question, passages, timings

    def _draft(self, question: str, passages: list[Passage]) -> tuple[Draft, str]:
        if not passages:
            return Draft(text=NOT_FOUND_MESSAGE, answerable=False), self.answerer.name
        try:
            return self.answerer.answer(question, passages), self.answerer.name
        except LLMError as exc:
            if self.fallback is None:
                raise
            log.warning("%s failed (%s); answering with %s", self.answerer.name, exc.code,
                        self.fallback.name)  # fmt: skip
            return self.fallback.answer(question, passages), self.fallback.name

    def ask(
        self, question: str, top_k: int | None = None, sources: Sequence[str] | None = None
    ) -> Answer:
        started = time.perf_counter()
        question, passages, timings = self.read(question, top_k, sources)
        mark = time.perf_counter()
        draft, name = self._draft(question, passages)
        timings["generate"] = _ms(mark)
        mark = time.perf_counter()
        cited, _ = note_gaps(question, self.citer.cite(draft, passages), passages)
        timings["cite"] = _ms(mark)
        timings["total"] = _ms(started)
        return Answer(
            answer=cited.answer,
            answerable=cited.answerable,
            citations=cited.citations,
            passages=passages,
            answerer=name,
            timings_ms=timings,
        )

    def stream_ask(
        self, question: str, top_k: int | None = None, sources: Sequence[str] | None = None
    ) -> Iterator[StreamEvent]:
        """Validation and retrieval run now (their errors raise, before any event); answering
        runs as the events are consumed, and its errors become an `ErrorEvent` then `DoneEvent`."""
        started = time.perf_counter()
        question, passages, timings = self.read(question, top_k, sources)
        return self._events(question, passages, timings, started)

    def _events(
        self, question: str, passages: list[Passage], timings: dict[str, float], started: float
    ) -> Iterator[StreamEvent]:
        yield PassagesEvent(passages=passages)
        mark = time.perf_counter()
        answerer, draft = self.answerer, Draft(text=NOT_FOUND_MESSAGE, answerable=False)
        shown = False
        try:
            if passages:
                for item in draft_stream(answerer, question, passages):
                    if isinstance(item, Draft):
                        draft = item
                    else:
                        shown = True
                        yield TokenEvent(text=item)
        except LLMError as exc:
            if self.fallback is None or shown:
                yield ErrorEvent(code=exc.code, message=exc.message)
                yield DoneEvent()
                return
            answerer = self.fallback
            for item in draft_stream(answerer, question, passages):
                if isinstance(item, Draft):
                    draft = item
                else:
                    yield TokenEvent(text=item)
        timings["generate"] = _ms(mark)
        # The same citer on the same kind of draft as `ask`: the final event equals its answer.
        cited, note = note_gaps(question, self.citer.cite(draft, passages), passages)
        if note:
            yield TokenEvent(text=f" {note}")
        timings["total"] = _ms(started)
        yield FinalEvent(
            answer=cited.answer,
            answerable=cited.answerable,
            citations=cited.citations,
            answerer=answerer.name,
            timings_ms=timings,
        )
        yield DoneEvent()


def build_pipeline(settings: Settings) -> Pipeline:
    """The real parts: configured embedder, the Chroma store, the configured answerer."""
    from indexer.embedding.factory import build_embedder
    from indexer.embedding.query_cache import CachedQueries
    from indexer.store.chroma import open_chunk_store
    from service.answering.abbreviations import ManifestAbbreviations
    from service.answering.continuation import ListContinuation
    from service.answering.factory import build_answerers

    # One model thread per request: concurrency comes from parallel requests (measured:
    # docs/embeddings.md, "Threads").
    embedder = CachedQueries(build_embedder(settings, threads=SERVE_EMBED_THREADS, serving=True))
    store = open_chunk_store(settings, embedder.name, embedder.dim)
    answerer, fallback = build_answerers(settings, embedder, ManifestAbbreviations(store))
    return Pipeline(
        settings,
        embedder,
        store,
        answerer,
        fallback=fallback,
        retriever=build_retriever(settings, embedder, store),
        expand=ListContinuation(store.get),
    )


def comparison_sides(question: str) -> list[str]:
    """The question once per subject it compares ("Huawei's and Haier's ..."), else []."""
    from service.answering.compare import sides
    from service.answering.evidence import prepare_question

    return sides(prepare_question(question))


def build_retriever(settings: Settings, embedder: Embedder, store: ChunkStore) -> Retriever:
    from service.retrieval.sided import SidedRetriever

    if settings.retrieval == "dense":
        return SidedRetriever(DenseRetriever(embedder, store), comparison_sides)
    from service.retrieval.hybrid import Bm25Provider, HybridRetriever

    hybrid = HybridRetriever(embedder, store, Bm25Provider(store, settings.bm25_dir))
    return SidedRetriever(hybrid, comparison_sides)
