"""The answer-sentence scorer: a logistic regression over `evidence.FEATURES`.

Its coefficients are data, fitted by `evals/train_scorer.py` on the public SQuAD 2.0 half and
committed as `scorer_model.json` beside this file; re-running the script reproduces the file.
The file also records the operating point (the probability under which the service abstains)
chosen by article-level cross-validation; `CITELINE_ANSWER_THRESHOLD` overrides it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from indexer.kernel.errors import ScorerModelError
from service.answering.evidence import FEATURES, Matrix

MODEL_PATH = Path(__file__).with_name("scorer_model.json")


@dataclass(frozen=True)
class ScorerModel:
    mean: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]
    coef: npt.NDArray[np.float64]
    intercept: float
    threshold: float
    extra_ratio: float

    def score(self, features: Matrix) -> npt.NDArray[np.float64]:
        """P(sentence answers the question) for each row, with the evidence rules applied."""
        if features.shape[0] == 0:
            return np.zeros(0)
        z = ((features - self.mean) / self.scale) @ self.coef + self.intercept
        return apply_evidence_rules(1.0 / (1.0 + np.exp(-z)), features)

    def to_json(self, **extra: object) -> str:
        body = {
            "features": list(FEATURES),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "coef": [round(float(v), 6) for v in self.coef],
            "intercept": round(self.intercept, 6),
            "threshold": round(self.threshold, 4),
            "extra_ratio": round(self.extra_ratio, 4),
            **extra,
        }
        return json.dumps(body, indent=1) + "\n"


_MISSING_NUMBER = FEATURES.index("miss_numbers")
_MISSING_ENTITY = FEATURES.index("miss_entities")
ENTITY_PENALTY = 0.5


def apply_evidence_rules(
    probability: npt.NDArray[np.float64], features: Matrix
) -> npt.NDArray[np.float64]:
    """Two rules on top of the regression, each checked by cross-validation on SQuAD to cost no
    answered-with-gold-span (docs/answering.md): a sentence that lacks a number the question
    names ("in 2019") cannot answer it; one whose neighbourhood lacks a name the question names
    is halved. SQuAD's adversarial questions barely move on them; real near misses ("How many
    employees does Haier have?" over an article that never counts them) do."""
    out = np.where(features[:, _MISSING_NUMBER] > 0, 0.0, probability)
    return np.where(features[:, _MISSING_ENTITY] > 0, out * ENTITY_PENALTY, out)


def parse_model(raw: str) -> ScorerModel:
    try:
        body = json.loads(raw)
        if tuple(body["features"]) != FEATURES:
            raise ValueError("its feature list differs from service.answering.evidence.FEATURES")
        mean, scale, coef = (
            np.asarray(body[k], dtype=np.float64) for k in ("mean", "scale", "coef")
        )
        if any(a.shape != (len(FEATURES),) for a in (mean, scale, coef)):
            raise ValueError("mean/scale/coef must have one value per feature")
        return ScorerModel(mean, scale, coef, float(body["intercept"]), float(body["threshold"]),
                           float(body["extra_ratio"]))  # fmt: skip
    except (KeyError, TypeError, ValueError) as exc:
        raise ScorerModelError(f"the answer scorer model is invalid: {exc}") from exc


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_PATH) -> ScorerModel:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScorerModelError(f"cannot read the answer scorer model {path}: {exc}") from exc
    return parse_model(raw)
