"""The bodies netprobe itself sends, for the rule tests: a probe pod with every protocol and
a named port, the staging ephemeral container, and the NetworkPolicy of every policy in the
repository's suites (inline or from fixtures, initial or applied by a step)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from netprobe.backends.kubernetes import bodies
from netprobe.model import ContainerPort, NetworkPolicy, Pod, PodRef, Protocol
from netprobe.selectors import Labels
from netprobe.suite.loader import load_suite
from netprobe.suite.model import ApplyPolicy

SUITES = Path(__file__).resolve().parents[2] / "suites"
RUN_ID = "run-1234"


def probe_pod() -> dict[str, Any]:
    """The pod of a suite pod with ports 80/TCP (named ``http``), 53/UDP, 9000/SCTP and 443."""
    ports = (
        ContainerPort(80, Protocol.TCP, "http"),
        ContainerPort(53, Protocol.UDP),
        ContainerPort(9000, Protocol.SCTP),
        ContainerPort(443),
    )
    pod = Pod(PodRef("prod", "web"), Labels({"app": "web"}), ports=ports)
    return bodies.pod_manifest(pod, RUN_ID, bodies.DEFAULT_IMAGE)


def ephemeral_container() -> dict[str, Any]:
    return bodies.ephemeral_container("netprobe-abc12", bodies.DEFAULT_IMAGE, "app")


def suite_policies() -> list[NetworkPolicy]:
    found: dict[tuple[str, str, str], NetworkPolicy] = {}
    for path in sorted(SUITES.rglob("*.netprobe.yaml")):
        suite = load_suite(path, lambda message: None)
        policies = list(suite.policies)
        policies += [a.policy for s in suite.steps for a in s.actions if isinstance(a, ApplyPolicy)]
        for policy in policies:
            found[(path.name, policy.ref.namespace, policy.ref.name)] = policy
    return list(found.values())


def policy_bodies() -> list[dict[str, Any]]:
    return [bodies.policy_manifest(p, RUN_ID) for p in suite_policies()]
