"""JUnit XML, as CI systems render it: one ``testsuite`` per suite, one ``testcase`` per
expectation, the analyzer's reasons (and the observation) in the failure text.

A live result where the dataplane disagreed with the analyzer but the suite's expectation
held is not a failure unless ``strict``; its ``status`` property says so either way.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from netprobe.errors import InputError
from netprobe.report.describe import Counts, reasons, verdict_sentence
from netprobe.results import ExpectationResult, Status, SuiteResult, is_failure

# Characters XML 1.0 cannot hold at all, even escaped; ElementTree writes them as they are,
# which makes the whole report unreadable to CI. Suite names, skip reasons and probe output
# may carry them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def junit_element(suites: Sequence[SuiteResult], strict: bool = False) -> ET.Element:
    """The ``testsuites`` element of ``suites``."""
    root = ET.Element("testsuites", name="netprobe")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for suite in suites:
        element = _suite(suite, strict)
        root.append(element)
        for key in totals:
            totals[key] += int(element.get(key, "0"))
        total_time += suite.duration
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root)
    return root


def render_junit(suites: Sequence[SuiteResult], strict: bool = False) -> str:
    text: str = ET.tostring(junit_element(suites, strict), encoding="unicode")
    text = _NOT_XML.sub(lambda match: f"\\x{ord(match.group()):02x}", text)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + text + "\n"


def write_junit(suites: Sequence[SuiteResult], path: Path, strict: bool = False) -> None:
    """Write the JUnit XML of ``suites`` to ``path`` (its folder must exist)."""
    try:
        path.write_text(render_junit(suites, strict), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write the JUnit report: {exc.strerror}") from exc


def _suite(suite: SuiteResult, strict: bool) -> ET.Element:
    counts = Counts.of(suite.results)
    element = ET.Element("testsuite", name=suite.name, file=str(suite.path))
    failures = errors = 0
    if suite.backend:
        properties = ET.SubElement(element, "properties")
        ET.SubElement(properties, "property", name="backend", value=suite.backend)
        if suite.cni:
            ET.SubElement(properties, "property", name="cni", value=suite.cni)
    for result in suite.results:
        case = _case(result, suite, strict)
        failures += case.find("failure") is not None
        errors += case.find("error") is not None
        element.append(case)
    element.set("tests", str(counts.expectations))
    element.set("failures", str(failures))
    element.set("errors", str(errors))
    element.set("skipped", str(counts.skipped))
    element.set("time", f"{suite.duration:.3f}")
    return element


def _case(result: ExpectationResult, suite: SuiteResult, strict: bool) -> ET.Element:
    expectation = result.expectation
    classname = suite.name + (f".{result.step}" if result.step else "")
    case = ET.Element("testcase", classname=classname, name=expectation.id)
    case.set("file", expectation.location.file)
    if expectation.location.line is not None:
        case.set("line", str(expectation.location.line))
    observation = result.observation
    case.set("time", "0")
    properties = ET.SubElement(case, "properties")
    ET.SubElement(properties, "property", name="status", value=result.status.value)
    if observation is not None:
        ET.SubElement(properties, "property", name="observed", value=observation.outcome.value)
        ET.SubElement(properties, "property", name="attempts", value=str(observation.attempts))
        if observation.settled_after is not None:
            settled = f"{observation.settled_after:g}"
            ET.SubElement(properties, "property", name="settled_after", value=settled)
        if observation.flapped:
            ET.SubElement(properties, "property", name="flapped", value="true")
    body = "\n".join(
        [f"at {expectation.location}", verdict_sentence(result), *map(str, reasons(result))]
    )
    status = result.status
    if result.skip is not None:
        ET.SubElement(case, "skipped", message=result.skip)
    elif status is Status.ERROR:
        error = ET.SubElement(case, "error", message=verdict_sentence(result), type="probe")
        error.text = body
    elif is_failure(result, strict):
        failure = ET.SubElement(
            case, "failure", message=verdict_sentence(result), type=status.value
        )
        failure.text = body
    elif status is not Status.PASS:
        ET.SubElement(case, "system-out").text = body
    return case
