"""The pytest plugin, end to end with pytester: collection, outcomes, -k, JUnit, skips,
steps, loader errors, and the evaluator seam for live backends."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

SUITE = """\
name: shop
pods:
  frontend/web: {labels: {app: web}, ports: [80]}
  frontend/debug: {labels: {app: debug}}
  database/db: {labels: {app: db}, ports: [5432]}
policies:
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: db-from-frontend, namespace: database}
    spec:
      podSelector: {matchLabels: {app: db}}
      ingress:
        - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: frontend}}}]
expect:
  - allow: frontend/web -> database/db:5432
    tags: [smoke]
  - deny: frontend/debug -> database/db:5432
  - allow: frontend/debug -> frontend/web:80
    skip: "the web pod is not deployed yet"
"""

STEPS = (
    SUITE.replace("name: shop", "name: steps")
    + """\
steps:
  - name: lockdown
    delete: [database/db-from-frontend]
    apply:
      - apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: deny-all, namespace: database}
        spec: {podSelector: {}}
    expect:
      - deny: frontend/web -> database/db:5432
"""
)


@pytest.fixture
def shop(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".netprobe.yaml", shop=SUITE)
    return pytester


def test_each_expectation_is_an_item_and_other_yaml_is_ignored(shop: pytest.Pytester) -> None:
    shop.makefile(".yaml", unrelated="pods: {}\n")
    shop.makefile(".netprobe.yml", almost="pods: {}\n")
    result = shop.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "shop.netprobe.yaml::allow frontend/web -> database/db:5432/TCP",
            "shop.netprobe.yaml::deny frontend/debug -> database/db:5432/TCP",
            "shop.netprobe.yaml::allow frontend/debug -> frontend/web:80/TCP",
            "3 tests collected*",
        ]
    )


def test_a_violation_fails_with_the_analyzers_reasons(shop: pytest.Pytester) -> None:
    result = shop.runpytest("-rs")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*deny frontend/debug -> database/db:5432/TCP*",
            "at *shop.netprobe.yaml:17 expect[[]1[]].deny",
            "the suite expects deny; the policies allow it",
            "  - database/db-from-frontend ingress[[]0[]] admits frontend/debug*",
            "SKIPPED [[]1[]] shop.netprobe.yaml*: the web pod is not deployed yet",
        ]
    )
    assert "Traceback" not in result.stdout.str()


@pytest.mark.parametrize(
    ("expression", "passed", "failed"),
    [("debug and database", 0, 1), ("smoke", 1, 0), ("allow and not debug", 1, 0)],
)
def test_k_selects_by_pod_verb_or_tag(
    shop: pytest.Pytester, expression: str, passed: int, failed: int
) -> None:
    shop.runpytest("-k", expression).assert_outcomes(passed=passed, failed=failed)


def test_junitxml_has_a_testcase_per_expectation(shop: pytest.Pytester) -> None:
    shop.runpytest("--junitxml=report.xml")
    root = ET.parse(shop.path / "report.xml").getroot()
    cases = root.findall(".//testcase")
    assert [case.get("name") for case in cases] == [
        "allow frontend/web -> database/db:5432/TCP",
        "deny frontend/debug -> database/db:5432/TCP",
        "allow frontend/debug -> frontend/web:80/TCP",
    ]
    failure = cases[1].find("failure")
    assert failure is not None and "admits frontend/debug" in (failure.text or "")
    assert cases[2].find("skipped") is not None


def test_steps_prefix_node_ids(pytester: pytest.Pytester) -> None:
    pytester.makefile(".netprobe.yaml", steps=STEPS)
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "steps.netprobe.yaml::initial::allow frontend/web -> database/db:5432/TCP",
            "steps.netprobe.yaml::lockdown::deny frontend/web -> database/db:5432/TCP",
        ]
    )
    pytester.runpytest("-k", "lockdown").assert_outcomes(passed=1)


def test_a_bad_suite_is_a_located_collection_error(pytester: pytest.Pytester) -> None:
    bad = SUITE.replace("web -> database/db:5432", "web -> databse/db:5432")
    pytester.makefile(".netprobe.yaml", bad=bad)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        ["*bad.netprobe.yaml:15 expect[[]0[]].allow.to: no pod 'databse/db' in this suite*"]
    )
    assert "Traceback" not in result.stdout.str()


def test_a_live_evaluator_plugs_in_through_the_hook(shop: pytest.Pytester) -> None:
    shop.makeconftest(
        """
        import dataclasses
        from netprobe.model import Verdict
        from netprobe.probes import Outcome
        from netprobe.results import ExpectationResult, Observation

        CALLS = []

        class Observed:
            def start(self, suite):
                CALLS.append(("start", suite.name))

            def evaluate(self, suite, step, expectation):
                verdict = Verdict(expectation.allowed)
                outcome = Outcome.CONNECTED  # this dataplane lets everything through
                return ExpectationResult(expectation, step.name, verdict, Observation(outcome))

            def finish(self, suite):
                CALLS.append(("finish", suite.name))

        def pytest_netprobe_evaluator(config):
            return Observed()

        def pytest_sessionfinish(session):
            print("CALLS", CALLS)
        """
    )
    result = shop.runpytest("-s")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines(
        ["*CALLS [[]('start', 'shop'), ('finish', 'shop')[]]", "*observed connected*"]
    )


def test_the_plugin_never_imports_kubernetes(shop: pytest.Pytester) -> None:
    shop.makepyfile(
        test_modules="""
        import sys

        def test_no_kubernetes():
            assert "kubernetes" not in sys.modules
        """
    )
    result = shop.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1, skipped=1)


def test_pytest_runs_the_example_suites(pytester: pytest.Pytester) -> None:
    suites = Path(__file__).parents[2] / "suites"
    result = pytester.runpytest_subprocess(str(suites), "-p", "no:cacheprovider", "-q")
    outcomes = result.parseoutcomes()
    assert result.ret == 0, result.stdout.str()
    assert outcomes["passed"] >= 68


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--netprobe-backend", "docker"],
            "*unknown backend 'docker' (choose from local, kubernetes)*",
        ),
        (
            ["--netprobe-backend", "kubernetes", "--netprobe-option", "ready-timeout=0"],
            "*--ready-timeout must be a positive number of seconds, got 0*",
        ),
        (
            ["--netprobe-backend", "kubernetes", "--netprobe-option", "colour=blue"],
            "*unknown option 'colour' (this backend takes: *context*",
        ),
        (
            ["--netprobe-backend", "local", "--netprobe-option", "apply-delay"],
            "*--apply-delay needs a value*",
        ),
        (["--netprobe-option", "context=x"], "*--netprobe-option needs --netprobe-backend*"),
    ],
    ids=["unknown backend", "bad value", "unknown option", "no value", "no backend"],
)
def test_backend_options_are_checked_like_the_cli_does(
    shop: pytest.Pytester, flags: list[str], message: str
) -> None:
    result = shop.runpytest_subprocess("-p", "no:cacheprovider", *flags)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_kubernetes_options_reach_the_backend(shop: pytest.Pytester) -> None:
    """The context named with --netprobe-option is the one the backend looks up."""
    config = shop.path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\nclusters: []\nusers: []\n"
        "contexts: [{name: other, context: {cluster: c, user: u}}]\ncurrent-context: other\n"
    )
    result = shop.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--netprobe-backend",
        "kubernetes",
        "--netprobe-option",
        f"kubeconfig={config}",
        "--netprobe-option",
        "context=kind-missing",
    )
    result.stdout.fnmatch_lines(["*kind-missing*"])
    assert result.ret != 0
