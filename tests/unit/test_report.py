"""Reports: static results omit observations; live results show them and the status."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from netprobe.errors import InputError, Location
from netprobe.model import PodRef, Protocol, Reason, Verdict
from netprobe.probes import Outcome
from netprobe.report.results import FORMATS, render, render_junit, to_document, write_junit
from netprobe.results import ExpectationResult, Observation, SuiteResult, is_failure
from netprobe.suite.model import Expectation

WEB, DB = PodRef("shop", "web"), PodRef("shop", "db")
REASON = Reason("shop/deny-all isolates shop/db for ingress")


def result(
    allowed: bool,
    analyzer: bool,
    observed: Outcome | None = None,
    attempts: int = 1,
    skip: str | None = None,
    step: str = "",
) -> ExpectationResult:
    expectation = Expectation(
        WEB, DB, 5432, Protocol.TCP, allowed, Location("s.yaml", 7, "expect[0]")
    )
    observation = None
    if observed is not None:
        settled = 2.5 if attempts > 1 else None
        observation = Observation(observed, attempts=attempts, settled_after=settled)
    return ExpectationResult(expectation, step, Verdict(analyzer, (REASON,)), observation, skip)


def suite(*results: ExpectationResult, backend: str | None = None) -> SuiteResult:
    return SuiteResult("shop", Path("s.yaml"), results, backend=backend, duration=1.25)


STATIC = [suite(result(True, True), result(False, True), result(True, True, skip="later"))]
LIVE = [
    suite(
        result(True, True, Outcome.CONNECTED, attempts=3),
        result(False, False, Outcome.CONNECTED),
        result(False, True, Outcome.CONNECTED),
        result(True, True, Outcome.ERROR),
        backend="local",
    )
]


def test_static_table_summarises_and_explains_violations() -> None:
    text = render("table", STATIC)
    assert text.startswith("netprobe check: 1 of 3 expectations violated")
    header = text.splitlines()[2].split()
    assert header == ["suite", "expectations", "held", "violated", "skipped"]
    assert text.splitlines()[4].split() == ["shop", "3", "1", "1", "1"]
    assert "VIOLATED  shop: deny shop/web -> shop/db:5432/TCP" in text
    assert "  - shop/deny-all isolates shop/db for ingress" in text
    assert "observed" not in text


def test_live_table_adds_observations_and_the_three_way_status() -> None:
    text = render("table", LIVE, verbose=True)
    assert text.startswith(
        "netprobe run (local): 2 of 4 expectations violated, 1 could not be probed"
    )
    assert text.splitlines()[2].split()[5:] == [
        "errors",
        "policy",
        "dataplane",
        "backend",
        "seconds",
    ]
    assert text.splitlines()[4].split() == [
        "shop",
        "4",
        "1",
        "2",
        "0",
        "1",
        "1",
        "1",
        "local",
        "1.2",
    ]
    assert "DATAPLANE  shop: deny shop/web -> shop/db:5432/TCP" in text
    assert "observed connected" in text
    assert "ERROR  shop: allow" in text
    assert "held only after retries:" in text
    assert "connected (3 attempts, settled after 2.5s)" in text


def test_json_document_shape_is_stable() -> None:
    document = to_document(LIVE)
    assert list(document) == ["format", "netprobe", "mode", "summary", "suites", "latency"]
    assert document["mode"] == "live"
    first = document["suites"][0]["results"][0]
    assert list(first) == [
        "id", "step", "from", "to", "to_kind", "cidr", "port", "port_name", "protocol",
        "expected", "analyzer", "undefined", "reasons", "observed", "status", "held",
        "violated", "skip", "tags", "location", "changed",
    ]  # fmt: skip
    assert first["observed"] == {
        "outcome": "connected",
        "allowed": True,
        "attempts": 3,
        "settled_after": 2.5,
        "flapped": False,
        "detail": "",
    }
    statuses = [r["status"] for r in document["suites"][0]["results"]]
    assert statuses == ["pass", "dataplane", "policy", "error"]
    assert json.loads(render("json", LIVE)) == document


def test_static_json_has_no_observations() -> None:
    document = to_document(STATIC)
    assert document["mode"] == "static"
    assert {r["observed"] is None for r in document["suites"][0]["results"]} == {True}
    assert document["summary"]["skipped"] == 1


def test_junit_is_well_formed_with_one_testcase_each(tmp_path: Path) -> None:
    path = tmp_path / "j.xml"
    write_junit(LIVE, path)
    root = ET.parse(path).getroot()
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 4
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "2", "1")
    assert cases[0].get("classname") == "shop" and cases[0].get("line") == "7"
    assert cases[1].find("failure") is not None
    assert "isolates shop/db" in (cases[1].findtext("failure") or "")
    assert cases[3].find("error") is not None


def test_junit_strict_fails_dataplane_disagreements_that_held() -> None:
    held_but_wrong = [suite(result(True, False, Outcome.CONNECTED), backend="local")]
    lenient = ET.fromstring(render_junit(held_but_wrong))
    strict = ET.fromstring(render_junit(held_but_wrong, strict=True))
    assert lenient.get("failures") == "0"
    assert strict.get("failures") == "1"


EVERY_KIND = [
    result(allowed, analyzer, observed, skip=skip)
    for allowed in (True, False)
    for analyzer in (True, False)
    for observed in (None, Outcome.CONNECTED, Outcome.REFUSED, Outcome.TIMEOUT, Outcome.ERROR)
    for skip in (None, "later")
]


@pytest.mark.parametrize("strict", [False, True])
def test_every_report_and_the_exit_code_fail_what_is_failure_fails(strict: bool) -> None:
    from netprobe.commands.run import exit_code

    for one in EVERY_KIND:
        failing = is_failure(one, strict)
        case = ET.fromstring(render_junit([suite(one)], strict=strict)).find(".//testcase")
        assert case is not None
        junit = case.find("failure") is not None or case.find("error") is not None
        assert junit == failing, one
        assert exit_code([suite(one)], strict=strict) == int(failing), one
        if not strict:
            document = to_document([suite(one)])["suites"][0]["results"][0]
            assert document["held"] == (not failing and one.skip is None), one
            assert document["violated"] == (failing and one.status.value != "error"), one
            assert one.failed == failing, one


def test_junit_marks_skips_with_their_reason() -> None:
    root = ET.fromstring(render_junit(STATIC))
    skipped = root.findall(".//skipped")
    assert [s.get("message") for s in skipped] == ["later"]


def test_junit_stays_well_formed_with_control_characters(tmp_path: Path) -> None:
    odd = SuiteResult("we\x01ird\x1b[0m", Path("s.yaml"), (result(True, True, skip="no\x07"),))
    path = tmp_path / "j.xml"
    write_junit([odd], path)
    root = ET.parse(path).getroot()
    assert root.find("testsuite").get("name") == "we\\x01ird\\x1b[0m"  # type: ignore[union-attr]
    assert [s.get("message") for s in root.iter("skipped")] == ["no\\x07"]


def test_markdown_for_a_pull_request() -> None:
    text = render("markdown", STATIC)
    assert text.startswith("### :x: netprobe check: 1 of 3 expectations violated")
    assert "| shop    |" in text
    assert "<details>" in text


def test_markdown_tables_keep_their_columns_with_a_pipe_in_a_name() -> None:
    piped = SuiteResult("a|b", Path("s.yaml"), (result(True, True, step="x|y"),))
    text = render("markdown", [piped])
    for first in ("| a", "| x"):
        rows = [line for line in text.splitlines() if line.startswith(first)]
        assert rows and all(len(re.findall(r"(?<!\\)\|", row)) == 6 for row in rows), rows


def test_steps_are_named_in_headlines() -> None:
    text = render("table", [suite(result(False, True, step="lockdown"))])
    assert "shop [step lockdown]: deny shop/web" in text


def test_unknown_format_is_an_input_error() -> None:
    assert FORMATS == ("table", "json", "markdown")
    with pytest.raises(InputError, match="unknown report format 'xml'"):
        render("xml", STATIC)
