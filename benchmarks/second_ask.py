"""`python -m benchmarks.second_ask`: when the joined reader refuses, ask the model again over
narrower evidence, and compare that with the extractive rescue (issue 16: "extractive sentence,
or a second, narrower prompt: measure both").

    seeds REPORT OUT.jsonl            every question a local eval run (REPORT) refused
    squad ROWS OUT.jsonl              every question `benchmarks.reader_squad` ROWS refused at the
                                      default rescue, with that article's out-of-fold scorer
    --table seeds REPORT OUT.jsonl    key facts / false / correct refusal per floor and budget
    --table squad ROWS OUT.jsonl      gold span / false / correct abstention per floor and budget

The second ask is the same prompt over the scorer's best sentences and their neighbours only
(`build_context` at `BUDGETS` tokens instead of `CITELINE_EVIDENCE_BUDGET`), decided by the same
rule (`decide`) without the rescue, and cited by the same citer. It would run only for a refusal,
and only from a floor on the scorer's best probability; so one replay of the refused questions
gives every floor. About 3 s a second ask here.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.reader_squad import joined_at, point
from benchmarks.rescue_curve import score
from evals.results import EvalReport
from indexer.runtime import configure_offline

if TYPE_CHECKING:
    from service.answering.reader import EvidenceReader
    from service.pipeline import Pipeline

BUDGETS = (60, 120)
FLOORS = (0.0, 0.10, 0.20, 0.30)
DEFAULT_RESCUE = 0.54
Second = Mapping[str, Mapping[str, Any]]  # question id -> {"best": p, "b60": answer or None, ...}


def ask_again(
    pipeline: Pipeline, reader: EvidenceReader, question: str, top_k: int
) -> dict[str, Any]:  # pragma: no cover - needs the local model
    from service.answering.context import build_context

    question, passages, _ = pipeline.read(question, top_k)
    row: dict[str, Any] = {"best": reader.context(question, passages).best}
    for budget in BUDGETS:
        narrow = build_context(reader.extractive, question, passages, budget)
        reply = reader.reply(question, narrow)
        cited = pipeline.citer.cite(reader.draft(reply, narrow, question, rescue=2.0), passages)
        row[f"b{budget}"], row[f"b{budget}_reply"] = (cited.answer if cited.answerable else None,
                                                      reply)  # fmt: skip
    return row


def _after(
    refused_answer: str | None, qid: str, second: Second, floor: float | None, budget: int
) -> tuple[str | None, bool]:
    """(the answer, whether a second ask ran) for a question; `refused_answer` is None when the
    run refused it."""
    again = second.get(qid)
    if refused_answer is not None or floor is None or again is None or again["best"] < floor:
        return refused_answer, False
    return again[f"b{budget}"], True


def seeds_points(report: EvalReport, second: Second, key_facts: Mapping[str, list[list[str]]],
                 style: str, budget: int) -> list[dict[str, float | None]]:  # fmt: skip
    """One point per floor (None: no second ask) on one style of the gold."""
    rows = [q for q in report.questions if q.style == style and q.error is None]
    points: list[dict[str, float | None]] = []
    for floor in (None, *FLOORS):
        after = {q.id: _after(None if q.abstained else q.answer, q.id, second, floor, budget)
                 for q in rows}  # fmt: skip
        calls = float(sum(asked for _, asked in after.values()))
        scored = score(rows, lambda q, after=after: after[q.id][0], key_facts)
        points.append({"floor": floor, "calls": calls, **scored})
    return points


def squad_points(rows: Sequence[dict[str, Any]], second: Second,
                 budget: int) -> list[dict[str, float | None]]:  # fmt: skip
    """One point per floor (None: no second ask) on `reader_squad` rows, at the default rescue."""
    points: list[dict[str, float | None]] = []
    for floor in (None, *FLOORS):
        after = {r["id"]: _after(joined_at(r, DEFAULT_RESCUE), r["id"], second, floor, budget)
                 for r in rows}  # fmt: skip
        calls = float(sum(asked for _, asked in after.values()))
        scored = point(rows, lambda r, after=after: after[r["id"]][0])
        points.append({"floor": floor, "calls": calls, **scored})
    return points


def _lines(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _record(out: Path, todo: Sequence[tuple[str, str]], ask: Callable[[str], dict[str, Any]],
            extra: Callable[[str], None] = lambda qid: None) -> None:  # fmt: skip
    done = {row["id"] for row in _lines(out)}
    with out.open("a", encoding="utf-8") as sink:
        for qid, question in todo:
            if qid not in done:
                extra(qid)
                sink.write(json.dumps({"id": qid, **ask(question)}) + "\n")
                sink.flush()


def main(argv: list[str]) -> None:  # pragma: no cover - the replays need the local model
    table = argv[:1] == ["--table"]
    kind, source, out = argv[1:4] if table else argv[:3]
    second = {row["id"]: row for row in _lines(Path(out))}
    if kind == "squad":
        rows = _lines(Path(source))
        if table:
            for budget in BUDGETS:
                for p in squad_points(rows, second, budget):
                    print(f"budget {budget}", json.dumps(p))
            return
        from benchmarks.reader_squad import squad_reader

        configure_offline(threads=2)
        ds, folds, pipeline, reader = squad_reader()
        by_id = {q.id: q for q in ds.questions}

        def use_fold(qid: str) -> None:
            reader.extractive.model = folds[by_id[qid].article]

        todo = [(r["id"], by_id[r["id"]].question) for r in rows
                if joined_at(r, DEFAULT_RESCUE) is None]  # fmt: skip
        _record(Path(out), todo, lambda q: ask_again(pipeline, reader, q, 5), use_fold)
        return
    report = EvalReport.model_validate_json(Path(source).read_text(encoding="utf-8"))
    if table:
        from evals.schema import load_gold

        facts = {q.id: q.key_facts for q in load_gold(Path(report.gold_path)).questions}
        for style in sorted({q.style for q in report.questions}):
            for budget in BUDGETS:
                for p in seeds_points(report, second, facts, style, budget):
                    print(style, f"budget {budget}", json.dumps(p))
        return
    configure_offline(threads=2)
    from evals.cli import ANSWERERS
    from indexer.kernel.settings import get_settings
    from service.answering.reader import EvidenceReader
    from service.pipeline import build_pipeline

    pipeline = build_pipeline(get_settings().model_copy(update=ANSWERERS["local"]))
    pipeline.warm_up()
    reader = pipeline.answerer
    assert isinstance(reader, EvidenceReader)
    todo = [(q.id, q.question) for q in report.questions if q.abstained]
    _record(Path(out), todo, lambda q: ask_again(pipeline, reader, q, report.top_k))


if __name__ == "__main__":
    main(sys.argv[1:])
