"""`benchmarks/rescue_curve.py`: a lower rescue threshold only turns refusals into the extractive
answer, scored like the eval scores it."""

from __future__ import annotations

from benchmarks.rescue_curve import curve
from evals.results import EvalReport, QuestionResult


def _q(qid: str, answerable: bool, abstained: bool, answer: str = "") -> QuestionResult:
    return QuestionResult(id=qid, question=qid, type="fact", answerable=answerable,
                          abstained=abstained, answer=answer)  # fmt: skip


def test_a_lower_threshold_answers_refusals_with_the_extractive_answer() -> None:
    report = EvalReport(questions=[
        _q("kept", True, False, "Huawei has 16 R&D centers [1]."),
        _q("refused", True, True),
        _q("near-miss", False, True),
        _q("weak", False, True),
    ])  # fmt: skip
    rescued = {"refused": (0.3, "It has 28 joint-innovation centers [1]."),
               "near-miss": (0.2, "Something [1]."), "weak": (0.05, "Other [2].")}  # fmt: skip
    facts = {"kept": [["16"]], "refused": [["28 joint-innovation"]]}
    points = {round(p["threshold"], 2): p for p in curve(report, rescued, "original", facts)}
    assert points[0.54] == {"threshold": 0.54, "key_facts": 0.5, "false_refusal": 0.5,
                            "correct_refusal": 1.0}  # fmt: skip
    assert points[0.3]["key_facts"] == 1.0 and points[0.3]["false_refusal"] == 0.0
    assert points[0.3]["correct_refusal"] == 1.0
    assert points[0.2]["correct_refusal"] == 0.5  # the near-miss is answered from 0.20 down
    assert points[0.1]["correct_refusal"] == 0.5  # "weak" (0.05) stays refused


def test_the_squad_table_rescues_only_replies_the_reader_did_not_accept() -> None:
    from benchmarks.reader_squad import table

    def row(answerable: bool, accepted: bool, joined: str | None, best: float,
            extractive: str | None, model: str | None = None) -> dict[str, object]:  # fmt: skip
        return {"answerable": answerable, "answers": ["1998"] if answerable else [],
                "accepted": accepted, "joined": joined, "best": best,
                "extractive": extractive, "model": model}  # fmt: skip

    rows = [
        row(True, True, "It opened in 1998 [1].", 0.9, "Opened 1998 [1].", "In 1998 [1]."),
        row(True, False, None, 0.3, "The plant opened in 1998 [1]."),  # refused; evidence 0.3
        row(True, True, None, 0.9, "In 1998 [1]."),  # accepted, but the citer kept nothing
        row(False, False, None, 0.2, "Something else [1]."),
    ]
    points = dict(table(rows))
    assert points["joined, rescue 0.54"] == {"gold": 1 / 3, "false_abstention": 2 / 3,
                                             "correct_abstention": 1.0}  # fmt: skip
    assert points["joined, rescue 0.30"]["gold"] == 2 / 3  # the refusal is rescued...
    assert points["joined, rescue 0.10"]["false_abstention"] == 1 / 3  # ...never the emptied one
    assert points["joined, rescue 0.10"]["correct_abstention"] == 0.0
    assert points["extractive (its operating point)"]["gold"] == 1.0


def test_a_second_ask_only_changes_refusals_from_its_floor_up() -> None:
    from benchmarks.second_ask import seeds_points

    report = EvalReport(questions=[
        _q("kept", True, False, "Huawei has 16 R&D centers [1]."),
        _q("refused", True, True),
        _q("low", True, True),
        _q("near-miss", False, True),
    ])  # fmt: skip
    second = {"kept": {"best": 0.9, "b120": "Never asked [1]."},  # answered: never asked again
              "refused": {"best": 0.15, "b120": "It has 28 joint-innovation centers [1]."},
              "low": {"best": 0.05, "b120": "It has 40 competency centers [1]."},
              "near-miss": {"best": 0.25, "b120": "Something [1]."}}  # fmt: skip
    facts = {"kept": [["16"]], "refused": [["28"]], "low": [["40"]]}
    points = {p["floor"]: p for p in seeds_points(report, second, facts, "original", 120)}
    assert points[None] == {"floor": None, "key_facts": 1 / 3, "calls": 0.0,
                            "false_refusal": 2 / 3, "correct_refusal": 1.0}  # fmt: skip
    assert (points[0.0]["key_facts"], points[0.0]["calls"]) == (1.0, 3.0)
    assert points[0.0]["correct_refusal"] == 0.0
    assert (points[0.1]["key_facts"], points[0.1]["calls"]) == (2 / 3, 2.0)  # "low" is not asked
    assert (points[0.3]["calls"], points[0.3]["correct_refusal"]) == (0.0, 1.0)


def test_the_squad_second_ask_starts_from_the_default_rescue() -> None:
    from benchmarks.second_ask import squad_points

    rows = [
        {"id": "a", "answerable": True, "answers": ["1998"], "accepted": False, "joined": None,
         "best": 0.6, "extractive": "It opened in 1998 [1]."},  # rescued at 0.54: not asked
        {"id": "b", "answerable": True, "answers": ["300"], "accepted": False, "joined": None,
         "best": 0.2, "extractive": "It employs 300 [1]."},
        {"id": "c", "answerable": False, "answers": [], "accepted": False, "joined": None,
         "best": 0.12, "extractive": "Other [1]."},
    ]  # fmt: skip
    second = {"b": {"best": 0.2, "b60": "It employs 300 people [1]."},
              "c": {"best": 0.12, "b60": None}}  # fmt: skip
    points = {p["floor"]: p for p in squad_points(rows, second, 60)}
    assert points[None] == {"floor": None, "calls": 0.0, "gold": 0.5, "false_abstention": 0.5,
                            "correct_abstention": 1.0}  # fmt: skip
    assert points[0.1] == {"floor": 0.1, "calls": 2.0, "gold": 1.0, "false_abstention": 0.0,
                           "correct_abstention": 1.0}  # fmt: skip
    assert points[0.3]["calls"] == 0.0
