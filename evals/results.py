"""The shape of an eval run: per-question results, aggregate metrics, gate and baseline changes.

`report.json` and `baseline.json` are both a dumped `EvalReport`, so a baseline is just a past run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from indexer.kernel.errors import GoldFileError

# Higher is better for all but these (the gate checks them as maxima).
LOWER_IS_BETTER = frozenset({"false_abstention_rate", "latency_p50_ms", "latency_p95_ms"})
METRIC_NAMES = (
    "pass_rate",
    "hit_at_1",
    "hit_at_3",
    "hit_at_5",
    "mrr",
    "citation_precision",
    "citation_recall",
    "quote_validity",
    "key_fact_recall",
    "cited_fact_rate",
    "abstention_accuracy",
    "false_abstention_rate",
    "latency_p50_ms",
    "latency_p95_ms",
    "judge_faithfulness",
    "judge_correctness",
)
NEVER_GATED = frozenset({"judge_faithfulness", "judge_correctness"})


class QuestionResult(BaseModel):
    id: str
    question: str
    type: str
    style: str = "original"
    answerable: bool = Field(description="expected: the gold set says the corpus answers it")
    abstained: bool = Field(description="observed: the system answered `answerable: false`")
    answer: str = ""
    gold_sources: list[str] = Field(default_factory=list)
    retrieved_sources: list[str] = Field(default_factory=list)
    cited_sources: list[str] = Field(default_factory=list)
    quotes: list[str] = Field(default_factory=list)
    gold_rank: int | None = None
    hit_at_1: float | None = None
    hit_at_3: float | None = None
    hit_at_5: float | None = None
    reciprocal_rank: float | None = None
    citation_precision: float | None = None
    citation_recall: float | None = None
    quotes_total: int = 0
    quotes_valid: int = 0
    quote_problems: list[str] = Field(default_factory=list)
    facts_found: list[bool] = Field(default_factory=list)
    key_fact_recall: float | None = None
    facts_stated: int = Field(default=0, description="key facts the answer states")
    facts_cited: int = Field(default=0, description="...whose sentence cites a quote holding it")
    latency_ms: float = 0.0
    judge_faithfulness: float | None = None
    judge_correctness: float | None = None
    error: str | None = None
    passed: bool = False
    reasons: list[str] = Field(default_factory=list, description="why it failed")


class GateRow(BaseModel):
    metric: str
    value: float | None
    op: str  # ">=" or "<="
    threshold: float
    ok: bool


class GateResult(BaseModel):
    passed: bool
    rows: list[GateRow]

    @property
    def failures(self) -> list[GateRow]:
        return [r for r in self.rows if not r.ok]


class QuestionChange(BaseModel):
    id: str
    before: bool
    after: bool
    reasons: list[str] = Field(default_factory=list)


class BaselineDiff(BaseModel):
    baseline_path: str
    baseline_created_at: str = ""
    regressed: list[QuestionChange] = Field(default_factory=list)
    improved: list[QuestionChange] = Field(default_factory=list)
    new: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    metric_deltas: dict[str, float] = Field(default_factory=dict)


class EvalReport(BaseModel):
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())
    target: str = ""
    answerer: str = ""
    gold_path: str = ""
    corpus_dir: str = ""
    top_k: int | None = None
    metrics: dict[str, float | None] = Field(default_factory=dict)
    by_style: dict[str, dict[str, float | None]] = Field(default_factory=dict)
    by_type: dict[str, dict[str, float | None]] = Field(default_factory=dict)
    questions: list[QuestionResult] = Field(default_factory=list)
    gate: GateResult | None = None
    changes: BaselineDiff | None = None

    def gated_values(self) -> dict[str, float | None]:
        """Overall metrics, plus `<style>:<metric>` for each style (what thresholds may name)."""
        values = dict(self.metrics)
        for style, metrics in self.by_style.items():
            values.update({f"{style}:{name}": v for name, v in metrics.items()})
        return values

    @property
    def failed(self) -> list[QuestionResult]:
        return [q for q in self.questions if not q.passed]


def load_report(path: Path) -> EvalReport | None:
    """A past report (the baseline); None if there is none yet."""
    if not path.is_file():
        return None
    try:
        return EvalReport.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        raise GoldFileError(f"{path}: not a Citeline eval report: {exc}") from exc
