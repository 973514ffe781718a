"""Multi-turn chat → one standalone question, so retrieval sees what a follow-up is about.

"and how many joint-innovation centers?" retrieves nothing useful on its own; after "How many R&D
centers does Huawei have?" it must become a question about Huawei. With an LLM configured we ask it
to rewrite; the embedded default (no LLM) uses a deterministic rule that carries the earlier
question's named entities into a follow-up that lacks them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from indexer.kernel.settings import Settings
from indexer.text.lexical import STOPWORDS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Turn:
    role: str  # "system" | "user" | "assistant"
    content: str


class Condenser(Protocol):
    def condense(self, turns: Sequence[Turn]) -> str:
        """The last user turn, rewritten to stand alone given the earlier turns."""
        ...


# Capitalised words that are grammar, not names ("How", "Does", "The").
_NOT_NAMES = STOPWORDS | {"please", "should", "tell", "those", "whose"}
_NAME = re.compile(r"\b[A-Z][A-Za-z0-9&\-]*(?:'s|’s)?")
_LEADING = re.compile(r"^\s*(?:and|also|but|so|then|ok(?:ay)?|what about|how about)\b[\s,]*", re.I)
_ABOUT = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\s+(?P<subject>.+?)\s*\??\s*$", re.I)
_PRONOUN = re.compile(r"\b(it|its|they|their|them|he|his|she|her)\b", re.I)


def names(text: str) -> list[str]:
    """Named entities, roughly: capitalised terms (Huawei, BYD, R&D) minus grammar words."""
    found: list[str] = []
    for match in _NAME.finditer(text):
        word = re.sub(r"(?:'s|’s)$", "", match.group(0)).rstrip("-")
        if word.lower() not in _NOT_NAMES and word not in found:
            found.append(word)
    return found


def last_user(turns: Sequence[Turn]) -> str:
    for turn in reversed(turns):
        if turn.role == "user":
            return turn.content.strip()
    return ""


class HeuristicCondenser:
    """Deterministic rewrite for the embedded default answerer (no LLM)."""

    def condense(self, turns: Sequence[Turn]) -> str:
        question = last_user(turns)
        users = [t.content.strip() for t in turns if t.role == "user"][:-1]
        context = next((names(u) for u in reversed(users) if names(u)), [])
        if not context:
            return question
        previous = next(u for u in reversed(users) if names(u))
        about = _ABOUT.match(question)
        if about and names(about.group("subject")):
            # "what about Haier?" after "How many R&D centers does Huawei have?": same question,
            # new subject.
            return previous.replace(context[-1], about.group("subject").strip(), 1)
        own = names(question)
        pronouns = _PRONOUN.findall(question)
        if own and not pronouns and not _LEADING.match(question):
            return question  # already names what it is about
        missing = [n for n in context if n not in own]
        if not missing:
            return question
        core = _LEADING.sub("", question).strip().rstrip("?").strip()
        if pronouns:
            # "does it have?" → "does Huawei have?": the last-named entity is the usual referent.
            subject = missing[-1]
            core = _PRONOUN.sub(
                lambda m: subject + ("'s" if m.group(1).lower() in ("its", "their", "his") else ""),
                core,
            )
            missing = [n for n in missing if n != subject]
        core = core[:1].upper() + core[1:]
        return f"{core} ({', '.join(missing)})?" if missing else f"{core}?"


_REWRITE_PROMPT = (
    "Rewrite the user's final message as one standalone question that can be understood without "
    "the conversation. Keep every name, number and term it depends on. Reply with the question "
    "only, no preamble."
)


class LLMCondenser:
    """Asks the configured OpenAI-compatible LLM to rewrite; on error, the heuristic."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Any = None  # created on first use: no connections in constructors
        self._fallback = HeuristicCondenser()

    def _openai(self) -> Any:
        if self._client is None:
            from service.answering.llm_client import openai_client

            self._client = openai_client(self._settings, max_retries=0)
        return self._client

    def condense(self, turns: Sequence[Turn]) -> str:
        if sum(1 for t in turns if t.role == "user") < 2:
            return last_user(turns)  # nothing earlier to resolve against: skip the LLM call
        transcript = "\n".join(f"{t.role}: {t.content}" for t in turns if t.role != "system")
        try:
            reply = self._openai().chat.completions.create(
                model=self._settings.llm_model,
                messages=[
                    {"role": "system", "content": _REWRITE_PROMPT},
                    {"role": "user", "content": transcript},
                ],
                temperature=0.0,
                max_tokens=128,
            )
            text = (reply.choices[0].message.content or "").strip()
        except Exception as exc:  # any client/HTTP failure: a worse question beats no answer
            log.warning("condense via LLM failed (%s); using the heuristic rewrite", exc)
            return self._fallback.condense(turns)
        return text.splitlines()[0].strip() if text else self._fallback.condense(turns)


def build_condenser(settings: Settings) -> Condenser:
    if settings.resolved_answerer == "openai":
        return LLMCondenser(settings)
    return HeuristicCondenser()
