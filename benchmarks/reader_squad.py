"""`python -m benchmarks.reader_squad OUT.jsonl [N]`: the joined reader against its two halves on
SQuAD 2.0's public half, cross-validated by article; `--table OUT.jsonl` prints the comparison.

For each of N evenly sampled questions (`evals.squad_eval.sample`, 120), the scorer is the one
fitted on the *other* articles (`evals.train_scorer.fit`, the shipped operating point), so the
evidence the model reads, the extractive answer and every threshold are out-of-fold, like the
extractive curve in `evals/scorer_results.json`. The local model (`make setup-llm`) reads the
evidence once; the row records its reply, the scorer's best sentence, the extractive answer, the
model's reply alone (cited by alignment, no gate), whether `decide` accepted the reply, and the
joined answer without the rescue. The rescue only turns a refusal into the extractive answer,
so `--table` gives every rescue threshold from one run (at the gate the rows were recorded
with); `--gates OUT.jsonl` decides the recorded replies again without the model: at each gate
(`decide`'s floor on the evidence a reply leans on) with the default rescue, then at the
default gate with each rescue threshold. Rows are appended as
they come (a rerun resumes). About 10 s a question here.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.squad_eval import holds_gold_span
from indexer.runtime import configure_offline

if TYPE_CHECKING:
    from evals.squad import SquadSet
    from service.answering.reader import EvidenceReader
    from service.answering.scorer import ScorerModel
    from service.pipeline import Pipeline

SQUAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "squad2-public"
THRESHOLDS = (0.54, 0.40, 0.30, 0.20, 0.10)
GATES = (0.10, 0.08, 0.07, 0.05, 0.03)


def point(rows: Sequence[dict[str, Any]], answer: Any) -> dict[str, float]:
    """answered with a gold span / false abstention / correct abstention, for `answer(row)` ->
    the answer text or None (a refusal)."""
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    given = {id(r): answer(r) for r in rows}
    gold = [given[id(r)] is not None and holds_gold_span(r["answers"], given[id(r)]) for r in ans]
    return {
        "gold": sum(gold) / len(ans),
        "false_abstention": sum(given[id(r)] is None for r in ans) / len(ans),
        "correct_abstention": sum(given[id(r)] is None for r in una) / len(una),
    }


def joined_at(row: dict[str, Any], rescue: float) -> str | None:
    """The joined answer at this rescue threshold: the rescue runs only when the model's reply
    was not accepted."""
    if row["accepted"]:
        return row["joined"]  # type: ignore[no-any-return]
    return row["extractive"] if row["best"] >= rescue else None


def table(rows: Sequence[dict[str, Any]]) -> list[tuple[str, dict[str, float]]]:
    def joined(t: float) -> Any:
        return lambda r: joined_at(r, t)

    out = [
        ("extractive (its operating point)", point(rows, lambda r: r["extractive"])),
        ("the model's reply alone (cited by alignment)", point(rows, lambda r: r["model"])),
    ]
    out += [(f"joined, rescue {t:.2f}", point(rows, joined(t))) for t in THRESHOLDS]
    return out


Reader = tuple["SquadSet", dict[str, "ScorerModel"], "Pipeline", "EvidenceReader"]


def squad_reader() -> Reader:  # pragma: no cover - needs the local model
    """(the SQuAD set, the scorer fitted without each article, the local pipeline, its reader)."""
    import numpy as np

    from evals import train_scorer
    from evals.cli import ANSWERERS
    from evals.scorer_data import build_rows
    from evals.squad import index_squad, load_squad, squad_settings
    from indexer.kernel.settings import get_settings
    from service.answering.reader import EvidenceReader
    from service.answering.scorer import load_model
    from service.pipeline import build_pipeline

    ds = load_squad(SQUAD)
    base = get_settings()
    settings = squad_settings(ds, base.model_copy(update=ANSWERERS["local"]),
                              base.data_dir / "corpora" / ds.name)  # fmt: skip
    index_squad(ds, settings)
    rows = build_rows(ds, base, progress=False)
    article = np.array([ds.questions[i].article for i in rows.question])
    shipped = load_model().threshold
    folds = {held: train_scorer.fit(rows.features[article != held],
                                    rows.labels[article != held], shipped)
             for held in sorted(set(article))}  # fmt: skip
    pipeline = build_pipeline(settings)
    pipeline.warm_up()
    reader = pipeline.answerer
    assert isinstance(reader, EvidenceReader)
    return ds, folds, pipeline, reader


def record(out: Path, limit: int) -> None:  # pragma: no cover - needs the local model (~20 min)
    from evals.squad_eval import sample
    from indexer.kernel.models import Draft, Passage

    ds, folds, pipeline, reader = squad_reader()
    done = ({json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()}
            if out.exists() else set())  # fmt: skip
    with out.open("a", encoding="utf-8") as sink:
        for qi in sample(ds, limit):
            q = ds.questions[qi]
            if q.id in done:
                continue
            reader.extractive.model = folds[q.article]  # out-of-fold scorer for this article
            question, passages, _ = pipeline.read(q.question, 5)
            context = reader.context(question, passages)
            text = reader.reply(question, context)

            def cited(draft: Draft, passages: Sequence[Passage] = passages) -> str | None:
                answer = pipeline.citer.cite(draft, passages)
                return answer.answer if answer.answerable else None

            unrescued = reader.draft(text, context, question, rescue=2.0)
            row = {"id": q.id, "answerable": q.answerable, "answers": q.answers,
                   "reply": text, "best": context.best,
                   "extractive": cited(context.extractive),
                   "model": cited(Draft(text=text, answerable=True)),
                   "accepted": unrescued.answerable, "joined": cited(unrescued)}  # fmt: skip
            sink.write(json.dumps(row) + "\n")
            sink.flush()


def redecide(
    rows: Sequence[dict[str, Any]], points: Sequence[tuple[float, float]]
) -> list[tuple[tuple[float, float], dict[str, float]]]:  # pragma: no cover - needs the index
    """The joined reader at each (gate, rescue) point, deciding the recorded replies again over
    the same out-of-fold evidence: no model call."""
    from service.answering.reader import trim_repeats

    ds, folds, pipeline, reader = squad_reader()
    by_id = {q.id: q for q in ds.questions}
    answers: dict[tuple[float, float], dict[str, str | None]] = {pt: {} for pt in points}
    for row in rows:
        q = by_id[row["id"]]
        reader.extractive.model = folds[q.article]
        question, passages, _ = pipeline.read(q.question, 5)
        context = reader.context(question, passages)
        reply = trim_repeats(row["reply"])
        for gate, rescue in points:
            draft = reader.draft(reply, context, question, rescue=rescue, gate=gate)
            cited = pipeline.citer.cite(draft, passages)
            answers[gate, rescue][row["id"]] = cited.answer if cited.answerable else None
    return [(pt, point(rows, lambda r, pt=pt: answers[pt][r["id"]])) for pt in points]


def main(argv: list[str]) -> None:
    if argv[:1] == ["--gates"]:
        from service.answering.reader import GATE_THRESHOLD

        configure_offline(threads=2)
        lines = Path(argv[1]).read_text(encoding="utf-8").splitlines()
        points = [(g, THRESHOLDS[0]) for g in GATES]
        points += [(GATE_THRESHOLD, t) for t in THRESHOLDS[1:]]
        print("gate | rescue | answered with a gold span | false abstention | correct abstention")
        for (gate, rescue), p in redecide([json.loads(x) for x in lines if x.strip()], points):
            print(f"{gate:.2f} | {rescue:.2f} | {p['gold']:.3f} | {p['false_abstention']:.3f} | "
                  f"{p['correct_abstention']:.3f}")  # fmt: skip
        return
    if argv[:1] == ["--table"]:
        lines = Path(argv[1]).read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        n = sum(r["answerable"] for r in rows)
        print(f"{len(rows)} questions ({n} answerable), out-of-fold scorer")
        print("answerer | answered with a gold span | false abstention | correct abstention")
        for name, p in table(rows):
            print(f"{name} | {p['gold']:.3f} | {p['false_abstention']:.3f} | "
                  f"{p['correct_abstention']:.3f}")  # fmt: skip
        return
    configure_offline(threads=2)
    record(Path(argv[0]), int(argv[1]) if len(argv) > 1 else 120)


if __name__ == "__main__":
    main(sys.argv[1:])
