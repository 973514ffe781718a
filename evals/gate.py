"""The CI quality gate (thresholds) and the per-question comparison with a committed baseline."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evals.results import (
    LOWER_IS_BETTER,
    METRIC_NAMES,
    NEVER_GATED,
    BaselineDiff,
    EvalReport,
    GateResult,
    GateRow,
    QuestionChange,
)
from indexer.kernel.errors import GoldFileError


class Thresholds(BaseModel):
    """`min:` metrics must be at least their value; `max:` ones at most (latency, abstention)."""

    model_config = ConfigDict(extra="forbid")

    min: dict[str, float] = Field(default_factory=dict)
    max: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_metrics(self) -> Thresholds:
        for section, names in (("min", self.min), ("max", self.max)):
            for full in names:
                name = full.split(":", 1)[-1]  # `<style>:<metric>` gates one style
                if name not in METRIC_NAMES:
                    raise ValueError(f"{section}.{name}: unknown metric (known: {METRIC_NAMES})")
                if name in NEVER_GATED:
                    raise ValueError(f"{section}.{name}: LLM-judged metrics never gate")
                if (name in LOWER_IS_BETTER) != (section == "max"):
                    want = "max" if name in LOWER_IS_BETTER else "min"
                    raise ValueError(f"{section}.{name}: lower is better here? use `{want}:`")
        return self


def load_thresholds(path: Path) -> Thresholds:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return Thresholds.model_validate(data)
    except OSError as exc:
        raise GoldFileError(f"cannot read thresholds {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise GoldFileError(f"{path}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        raise GoldFileError(f"{path}: invalid thresholds:\n{exc}") from exc


def check_gate(metrics: dict[str, float | None], thresholds: Thresholds) -> GateResult:
    """A metric with no value (e.g. no quotes at all) fails: absence is not quality."""
    rows = []
    for name, limit in thresholds.min.items():
        value = metrics.get(name)
        rows.append(
            GateRow(
                metric=name,
                value=value,
                op=">=",
                threshold=limit,
                ok=value is not None and value >= limit,
            )
        )
    for name, limit in thresholds.max.items():
        value = metrics.get(name)
        rows.append(
            GateRow(
                metric=name,
                value=value,
                op="<=",
                threshold=limit,
                ok=value is not None and value <= limit,
            )
        )
    return GateResult(passed=all(r.ok for r in rows), rows=rows)


def compare_baseline(report: EvalReport, baseline: EvalReport, baseline_path: str) -> BaselineDiff:
    before = {q.id: q for q in baseline.questions}
    after = {q.id: q for q in report.questions}
    diff = BaselineDiff(baseline_path=baseline_path, baseline_created_at=baseline.created_at)
    for qid, now in after.items():
        old = before.get(qid)
        if old is None:
            diff.new.append(qid)
        elif old.passed and not now.passed:
            diff.regressed.append(
                QuestionChange(id=qid, before=True, after=False, reasons=now.reasons)
            )
        elif not old.passed and now.passed:
            diff.improved.append(QuestionChange(id=qid, before=False, after=True))
    diff.removed = [qid for qid in before if qid not in after]
    for name, value in report.metrics.items():
        old_value = baseline.metrics.get(name)
        if value is not None and old_value is not None:
            diff.metric_deltas[name] = value - old_value
    return diff
