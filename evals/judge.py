"""Optional LLM-judged faithfulness and correctness, via the configured OpenAI-compatible endpoint.

Reported beside the deterministic metrics and never gated: a judge is itself a model that errs.
A judge failure on one question leaves that question unscored rather than failing the run.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from evals.schema import GoldQuestion
from evals.target import Observed
from indexer.kernel.errors import ConfigError
from indexer.kernel.settings import Settings

if TYPE_CHECKING:
    from openai import OpenAI

_PROMPT = """You grade an answer produced by a question-answering system over documents.
Question: {question}
Reference key facts (each alternative list is one fact): {facts}
Answer: {answer}
Cited passages:
{quotes}

Score two things from 0.0 to 1.0:
- faithfulness: is every claim in the answer supported by the cited passages?
- correctness: does the answer correctly answer the question (for an answer that declines,
  1.0 if the question cannot be answered from documents like these, else 0.0)?
Reply with JSON only: {{"faithfulness": <number>, "correctness": <number>}}"""
_JSON = re.compile(r"\{.*\}", re.DOTALL)


def parse_scores(text: str) -> tuple[float | None, float | None]:
    """Scores from the judge's reply; tolerant of prose around the JSON, None when unusable."""
    match = _JSON.search(text)
    if not match:
        return None, None
    try:
        data: Any = json.loads(match.group(0))
    except json.JSONDecodeError:
        return None, None

    def one(key: str) -> float | None:
        value = data.get(key) if isinstance(data, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return min(max(float(value), 0.0), 1.0)
        return None

    return one("faithfulness"), one("correctness")


class LLMJudge:
    def __init__(self, settings: Settings) -> None:
        if settings.resolved_answerer != "openai" or not settings.llm_base_url:
            raise ConfigError("--judge needs an OpenAI-compatible LLM (set CITELINE_LLM_BASE_URL)")
        self._settings = settings
        self._client: OpenAI | None = None

    @property
    def model(self) -> str:
        return self._settings.llm_model

    def _get_client(self) -> OpenAI:
        if self._client is None:
            from service.answering.llm_client import openai_client

            self._client = openai_client(self._settings, max_retries=1)
        return self._client

    def score(
        self, question: GoldQuestion, observed: Observed
    ) -> tuple[float | None, float | None]:
        import openai

        prompt = _PROMPT.format(
            question=question.question,
            facts=json.dumps(question.key_facts) if question.answerable else "(none: unanswerable)",
            answer=observed.answer,
            quotes="\n".join(f"[{c.n}] {c.quote}" for c in observed.citations) or "(none)",
        )
        try:
            resp = self._get_client().chat.completions.create(
                model=self._settings.llm_model,
                messages=[{"role": "user", "content": prompt}],
                temperature=0.0,
                max_tokens=100,
            )
        except openai.OpenAIError:
            return None, None
        content = resp.choices[0].message.content if resp.choices else None
        return parse_scores(content or "")
