"""JUnit XML for CI dashboards: one testcase per gold question, plus one for the gate."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from evals.results import EvalReport

# Characters XML 1.0 cannot carry at all, even escaped; documents may contain them.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _x(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def render_junit(report: EvalReport) -> str:
    failures = len(report.failed) + (1 if report.gate and not report.gate.passed else 0)
    tests = len(report.questions) + (1 if report.gate else 0)
    total_s = sum(q.latency_ms for q in report.questions) / 1000.0
    suites = ET.Element(
        "testsuites", name="citeline-eval", tests=str(tests), failures=str(failures)
    )
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="citeline-eval",
        tests=str(tests),
        failures=str(failures),
        errors="0",
        time=f"{total_s:.3f}",
        timestamp=report.created_at,
    )
    for q in report.questions:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"citeline.eval.{q.type}",
            name=q.id,
            time=f"{q.latency_ms / 1000.0:.3f}",
        )
        if not q.passed:
            # ElementTree escapes attribute and text content; answers are untrusted text.
            fail = ET.SubElement(
                case, "failure", message=_x("; ".join(q.reasons))[:500], type="EvalFailure"
            )
            fail.text = _x(f"question: {q.question}\nanswer: {q.answer}\n" + "\n".join(q.reasons))
        out = ET.SubElement(case, "system-out")
        out.text = _x(
            f"cited: {', '.join(q.cited_sources)}\nretrieved: {', '.join(q.retrieved_sources)}"
        )
    if report.gate is not None:
        case = ET.SubElement(
            suite, "testcase", classname="citeline.eval", name="quality-gate", time="0"
        )
        if not report.gate.passed:
            lines = [
                f"{r.metric} = {r.value} (required {r.op} {r.threshold})"
                for r in report.gate.failures
            ]
            fail = ET.SubElement(case, "failure", message="; ".join(lines), type="QualityGate")
            fail.text = "\n".join(lines)
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )


def write_junit(report: EvalReport, path: Path) -> None:
    path.write_text(render_junit(report), encoding="utf-8")
