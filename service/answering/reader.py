"""The joined reader: the learned evidence scorer chooses what an LLM reads, and our code decides
what is cited and when to refuse.

1. **Evidence first** (`build_context`): every sentence of the retrieved passages is scored by the
   extractive answerer's scorer; the LLM reads the best sentences with their neighbours, grouped by
   passage and in document order, within `evidence_budget` tokens (estimated as characters / 4),
   instead of whole passages. Each source whose best sentence scores at least `SOURCE_SHARE` of
   the best gets its best sentence in first, so comparison and list questions see every article.
2. **The model writes** from those excerpts (`prompts.evidence_messages`), capped by question type
   (`answer_limits`); a reply that starts repeating a sentence is cut (`RepeatGuard`).
3. **Our code decides** (`decide`). The model's claims are aligned with the passage sentences
   that support them (`service/citing/align.py`, the citer's own alignment), and the evidence for
   the answer is the scorer's best probability among those sentences and their neighbours:
   - the model answered, with the kind of answer asked for (`fits_kind`: a number for "how
     many", a date for "when", a new name for "who"), and its evidence is at least
     `GATE_THRESHOLD`: its text goes to the citer, which cites each aligned claim and drops the
     rest, followed by the sentences the extractive answerer would quote that no claim aligns
     with (`unused_evidence`: the model often answers from a neighbour, or paraphrases the fact
     away);
   - otherwise (it refused, nothing aligned, or it leaned on sentences the scorer rejects) the
     answer is the extractive one, quoted from the evidence, when the scorer's best sentence is
     at least the rescue threshold (`CITELINE_RESCUE_THRESHOLD`, `RESCUE_THRESHOLD` by default);
     else "the documents don't say".

Both thresholds were fitted on public data and the seeds' original style, never on the questions
reported: `RESCUE_THRESHOLD` is the first point of the scorer's leave-one-article-out curve on
the public SQuAD 2.0 half with correct abstention >= 0.90 (0.54, `evals/scorer_results.json`).
`GATE_THRESHOLD` was the extractive answerer's own operating point (0.10) until the joined
reader's own gate curve on 120 cross-validated SQuAD questions (`benchmarks/reader_squad.py
--gates`) and a seeds run put it at 0.07: on SQuAD false abstention 0.173 -> 0.115 for 2 of 68
more unanswerable questions answered, on the original style 0.182 -> 0.136 for none. The rescue
threshold is the trade between false and correct refusals (docs/llm.md:
`benchmarks/rescue_curve.py`, `benchmarks/reader_squad.py`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from indexer.kernel.models import NOT_FOUND_MESSAGE, REFUSAL_TOKEN, Draft, Passage
from indexer.text.lexical import has_date, tokenize
from indexer.text.sentences import Span
from service.answering.context import Context, build_context
from service.answering.extractive import ExtractiveAnswerer
from service.answering.prompts import evidence_messages
from service.answering.question import analyze
from service.citing.align import EmbedTexts, align_claims, claims_of
from service.citing.markers import MARKER

RESCUE_THRESHOLD = 0.54
GATE_THRESHOLD = 0.07

Cite = tuple[int, Span]  # (passage n, a sentence's span of its chunk text)


class ChatLLM(Protocol):
    @property
    def name(self) -> str: ...

    def complete(self, messages: list[dict[str, str]], max_tokens: int | None = None) -> str: ...

    def stream_messages(
        self, messages: list[dict[str, str]], max_tokens: int | None = None
    ) -> Iterator[str]: ...


def refused(text: str) -> bool:
    body = text.strip().strip("*`\"' ")
    return not body or body.startswith(REFUSAL_TOKEN) or body.upper().startswith("NOT_IN")


def aligned_cites(text: str, context: Context, embed: EmbedTexts | None) -> list[Cite]:
    """The passage sentences the model's claims align with (the citer's own alignment)."""
    aligned = align_claims(claims_of(text), context.passages, embed)
    return [cite for claim in aligned for cite in claim.cites]


def answer_evidence(cites: Sequence[Cite], context: Context) -> float:
    """The scorer's best probability among the sentences the model's claims align with (and
    their neighbours); 0 when no claim aligns."""
    best = 0.0
    for n, span in cites:
        near = [v for (m, start), v in context.scores.items() if m == n and
                abs(start - span.start) <= 2 * max(1, span.end - span.start)]  # fmt: skip
        best = max([best, context.scores.get((n, span.start), 0.0), *near])
    return best


def unused_evidence(cites: Sequence[Cite], context: Context) -> list[str]:
    """The extractive answer's quoted sentences that none of the model's claims align with: a
    small model often answers from a neighbouring sentence, or paraphrases away the one that
    holds the fact."""
    out: list[str] = []
    for piece in context.quoted:
        quote = piece.quotes[0]
        if not any(n == quote.n and span.start < quote.end and quote.start < span.end
                   for n, span in cites):  # fmt: skip
            out.append(piece.text)
    return out


def fits_kind(question: str, text: str) -> bool:
    """The reply has the kind of answer the question asks for: a number for "how many/much", a
    year or date for "when", a name the question does not hold for "who"."""
    info = analyze(question)
    asked = {t.norm for t in tokenize(question)}
    tokens = [t for t in tokenize(MARKER.sub("", text)) if t.norm not in asked]
    if info.kind in ("count", "amount", "money"):
        return any(t.is_number for t in tokens)
    if info.kind == "when":
        return has_date(tokens) or any(t.is_number for t in tokens)
    if info.kind == "who":  # a proper-cased word: "Wang", not "BYD" or "NEVs"
        return any(t.raw[:1].isupper() and t.raw[1:].islower() for t in tokens[1:])
    return True


def decide(
    text: str,
    context: Context,
    embed: EmbedTexts | None = None,
    question: str = "",
    rescue: float = RESCUE_THRESHOLD,
    gate: float = GATE_THRESHOLD,
) -> Draft:
    """The answer's draft from the model's reply and the evidence (see the module docstring)."""
    if not refused(text) and fits_kind(question, text):
        cites = aligned_cites(text, context, embed)
        if answer_evidence(cites, context) >= gate:
            extra = unused_evidence(cites, context)
            return Draft(text=" ".join([text.strip(), *extra]), answerable=True)
    if context.best >= rescue and context.extractive.answerable:
        return context.extractive
    return Draft(text=NOT_FOUND_MESSAGE, answerable=False)


class RepeatGuard:
    """Stops a reply once it repeats a sentence it already wrote (a small model's loop)."""

    def __init__(self) -> None:
        self.text = ""
        self._seen: set[str] = set()
        self._done = 0

    def feed(self, delta: str) -> bool:
        """Add `delta`; False when the reply has started repeating (the repeat is not kept)."""
        self.text += delta
        while True:
            ends = [self.text.find(c, self._done) for c in ".!?\n"]
            found = [e for e in ends if e >= 0]
            if not found:
                return True
            end = min(found) + 1
            key = " ".join(self.text[self._done : end].lower().split()).strip(" .!?")
            if key and len(key) > 12 and key in self._seen:
                self.text = self.text[: self._done]
                return False
            self._seen.add(key)
            self._done = end


def trim_repeats(text: str) -> str:
    guard = RepeatGuard()
    guard.feed(text)
    return guard.text


class EvidenceReader:
    """An LLM (local or OpenAI-compatible) reading the scorer's evidence; our code decides."""

    streams_tokens = True

    def __init__(
        self,
        llm: ChatLLM,
        extractive: ExtractiveAnswerer,
        budget: int,
        embed: EmbedTexts | None = None,
        *,
        rescue: float = RESCUE_THRESHOLD,
    ) -> None:
        self._llm = llm
        self._extractive = extractive
        self._budget = budget
        self._embed = embed
        self._rescue = rescue

    @property
    def name(self) -> str:
        return f"{self._llm.name}+evidence"

    @property
    def rescue(self) -> float:
        return self._rescue

    @property
    def extractive(self) -> ExtractiveAnswerer:
        return self._extractive

    def warm_up(self) -> None:
        warm = getattr(self._llm, "warm_up", None)
        if callable(warm):
            warm()

    def check_ready(self) -> None:
        check = getattr(self._llm, "check_ready", None)
        if callable(check):
            check()

    def context(self, question: str, passages: Sequence[Passage]) -> Context:
        return build_context(self._extractive, question, passages, self._budget)

    def _messages(self, question: str, context: Context) -> list[dict[str, str]]:
        return evidence_messages(question, context.excerpts, sentences=context.sentences)

    def reply(self, question: str, context: Context) -> str:
        """The model's reply to this evidence, a repeating tail cut."""
        raw = self._llm.complete(self._messages(question, context), context.max_tokens)
        return trim_repeats(raw)

    def draft(
        self,
        reply: str,
        context: Context,
        question: str,
        rescue: float | None = None,
        gate: float = GATE_THRESHOLD,
    ) -> Draft:
        """`decide` with this reader's alignment and rescue threshold (or `rescue`)."""
        return decide(reply, context, self._embed, question,
                      self._rescue if rescue is None else rescue, gate)  # fmt: skip

    def answer(self, question: str, passages: Sequence[Passage]) -> Draft:
        context = self.context(question, passages)
        if not context.excerpts:
            return context.extractive
        return self.draft(self.reply(question, context), context, question)

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        """The model's deltas, held back while they could still be the refusal word."""
        context = self.context(question, passages)
        if not context.excerpts:
            return
        guard = RepeatGuard()
        pending, shown, hidden = "", False, False
        deltas = self._llm.stream_messages(self._messages(question, context), context.max_tokens)
        try:
            for delta in deltas:
                before = len(guard.text)
                going = guard.feed(delta)
                fresh = guard.text[before:]
                if hidden:
                    fresh = ""
                elif not shown:  # could this still be the refusal word? then hold it back
                    pending += fresh
                    head = pending.strip().strip("*`\"' ")
                    fresh = ""
                    if REFUSAL_TOKEN.startswith(head[: len(REFUSAL_TOKEN)]):
                        hidden = len(head) >= len(REFUSAL_TOKEN)  # else: keep holding
                    else:
                        fresh, shown = pending, True
                if fresh:
                    yield fresh
                if not going:
                    break
        finally:
            close = getattr(deltas, "close", None)
            if callable(close):
                close()

    def finish(self, question: str, passages: Sequence[Passage], raw: str) -> Draft:
        """The draft of a streamed reply: the same decision `answer` makes."""
        context = self.context(question, passages)
        if not context.excerpts:
            return context.extractive
        return self.draft(trim_repeats(raw), context, question)
