"""The conformance suites (suites/conformance/): they pass the static check, stay small
enough for a quick run, cover every part of docs/semantics.md they promise, and take their
per-CNI skips from fixtures/cni-limitations.yaml."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from netprobe import cli
from netprobe.model import NetworkPolicy, PolicyType, Protocol
from netprobe.suite.loader import load_suite
from netprobe.suite.model import ApplyPolicy, SetNamespaceLabels, SetPodLabels, Suite

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "suites" / "conformance"
MAIN = FOLDER / "conformance.netprobe.yaml"
SCTP = FOLDER / "sctp.netprobe.yaml"


@pytest.fixture(scope="module")
def suite() -> Suite:
    return load_suite(MAIN, lambda message: None)


def applied(suite: Suite) -> Iterator[NetworkPolicy]:
    yield from suite.policies
    for step in suite.steps:
        for action in step.actions:
            if isinstance(action, ApplyPolicy):
                yield action.policy


def test_the_static_check_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check", str(FOLDER)]) == 0
    out = capsys.readouterr().out
    assert "violated" in out and "expectations hold" in out


def test_the_classic_three_by_three_model(suite: Suite) -> None:
    assert sorted(ns.name for ns in suite.namespaces) == ["x", "y", "z"]
    assert sorted(str(pod.ref) for pod in suite.pods) == [
        f"{ns}/{pod}" for ns in "xyz" for pod in "abc"
    ]
    for pod in suite.pods:
        served = {(p.name, p.port, p.protocol) for p in pod.ports}
        assert served == {
            (f"serve-{port}-{proto.value.lower()}", port, proto)
            for port in (80, 81)
            for proto in (Protocol.TCP, Protocol.UDP)
        }


def test_small_enough_for_a_quick_run(suite: Suite) -> None:
    assert len(suite.expectations) <= 1500
    assert len(suite.steps) <= 16


def test_covers_what_it_promises(suite: Suite) -> None:
    policies = list(applied(suite))
    types = {p.policy_types for p in policies}
    assert (PolicyType.INGRESS,) in types and (PolicyType.EGRESS,) in types
    assert any(set(t) == {PolicyType.INGRESS, PolicyType.EGRESS} for t in types)
    rules = [r for p in policies for r in (*p.ingress, *p.egress)]
    peers = [peer for rule in rules for peer in rule.peers]
    ports = [port for rule in rules for port in rule.ports]
    assert any(peer.pod_selector and peer.namespace_selector for peer in peers), "AND"
    assert any(
        any(p.pod_selector and not p.namespace_selector for p in r.peers)
        and any(p.namespace_selector and not p.pod_selector for p in r.peers)
        for r in rules
    ), "OR"
    selectors = [s for peer in peers for s in (peer.pod_selector, peer.namespace_selector) if s]
    assert any(s.match_expressions for s in selectors), "matchExpressions"
    assert any(isinstance(port.port, str) for port in ports), "named ports"
    assert any(port.end_port for port in ports), "endPort"
    assert any(peer.ip_block and peer.ip_block.except_ for peer in peers), "ipBlock except"
    assert any(p.egress for p in policies), "egress rules"
    applied_twice = Counter(p.ref for p in policies)
    assert max(applied_twice.values()) >= 2, "a policy changed in place"
    actions = [type(a) for step in suite.steps for a in step.actions]
    assert SetPodLabels in actions and SetNamespaceLabels in actions, "label changes"
    protocols = {e.protocol for e in suite.expectations}
    assert protocols == {Protocol.TCP, Protocol.UDP}


@pytest.mark.parametrize(
    ("path", "tag", "words"),
    [(MAIN, "ipblock-pod", "cilium/cilium#9209"), (SCTP, "sctp", "cilium/cilium#5719")],
)
def test_cilium_limitations_skip_with_their_reason(path: Path, tag: str, words: str) -> None:
    suite = load_suite(path, lambda message: None)
    tagged = [e for e in suite.expectations if tag in e.tags]
    assert tagged
    for expectation in tagged:
        reason = expectation.skip_reason("kubernetes", "cilium")
        assert reason is not None and words in reason
        assert expectation.skip_reason("kubernetes", "calico") is None
        assert expectation.skip_reason("kubernetes", "kindnet") is None
    untagged = [e for e in suite.expectations if tag not in e.tags]
    assert untagged and all(e.skip_reason("kubernetes", "cilium") is None for e in untagged)


def test_the_static_check_skips_only_what_needs_pod_ips(suite: Suite) -> None:
    skipped = [e for e in suite.expectations if e.skip_reason("static")]
    assert skipped and all("ipblock-pod" in e.tags for e in skipped)
    assert all(e.skip_reason("local") is None for e in suite.expectations)


CNIS = {"calico", "cilium", "kindnet"}


def test_cni_limitations_are_declared_in_one_place_and_used() -> None:
    from netprobe.suite.loader import load_suites

    suites = load_suites([ROOT / "suites"], lambda message: None)
    shared = load_suite(MAIN, lambda message: None).settings.skips
    limits = [s for s in shared if set(s.backends) & CNIS]
    assert limits, "fixtures/cni-limitations.yaml reaches the conformance suite"
    used_tags = {tag for suite in suites for e in suite.expectations for tag in e.tags}
    for rule in limits:
        assert set(rule.tags) <= used_tags, f"no expectation carries {rule.tags}"
    for suite in suites:
        for expectation in suite.expectations:
            for skip in expectation.skips:
                if set(skip.backends) & CNIS:
                    assert skip in limits, f"{suite.name}: a CNI skip outside the shared file"
