"""deploy/*.yaml validate against the Kubernetes schemas (offline, kubernetes-validate),
and the RBAC there is exactly what the backend's preflight asks for: no more, no less."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from netprobe.backends.kubernetes.diagnose import events_access
from netprobe.backends.kubernetes.preflight import cleanup_checks, run_checks

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S_VERSION = "1.33.0"
"""A Kubernetes version the schemas ship for; CronJob, Lease and RBAC are GA there."""


def documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(DEPLOY.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                found.append((f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc))
    return found


DOCUMENTS = documents()


def test_there_is_something_to_validate() -> None:
    kinds = {doc["kind"] for _, doc in DOCUMENTS}
    assert {"ClusterRole", "Role", "ServiceAccount", "CronJob", "ClusterRoleBinding"} <= kinds
    assert (DEPLOY / "Dockerfile").is_file()


@pytest.mark.parametrize(("name", "doc"), DOCUMENTS, ids=[name for name, _ in DOCUMENTS])
def test_manifest_is_valid_for_kubernetes(name: str, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_an_invalid_manifest_is_caught() -> None:
    bad = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "x"},
        "spec": {"schedule": 5},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def granted(*files: str) -> set[tuple[str, str, str]]:
    """(verb, group, resource[/sub]) granted by the roles in ``files``."""
    out = set()
    for name, doc in DOCUMENTS:
        if name.split(":")[0] in files and doc["kind"] in ("ClusterRole", "Role"):
            for rule in doc["rules"]:
                assert "*" not in rule["verbs"] and "*" not in rule["resources"], name
                for group in rule["apiGroups"]:
                    for resource in rule["resources"]:
                        out |= {(verb, group, resource) for verb in rule["verbs"]}
    return out


def needed(checks) -> set[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return {
        (c.verb, c.group, f"{c.resource}/{c.subresource}" if c.subresource else c.resource)
        for c in checks
    }


def test_the_runner_role_grants_exactly_what_a_run_and_cleanup_check() -> None:
    wanted = needed(run_checks(["a"], ["b"], [], "netprobe-system")) | needed(
        cleanup_checks("netprobe-system")
    )
    wanted |= needed([events_access("a")])  # diagnostics of a failed run
    assert granted("rbac.yaml") == wanted
    assert {("get", "", "pods/exec"), ("create", "", "pods/exec")} <= wanted


def test_the_staging_role_grants_what_staging_checks_and_never_pod_writes() -> None:
    have = granted("rbac-staging.yaml")
    assert needed(run_checks([], [], ["shop"], "x")) - needed(run_checks([], [], [], "x")) <= have
    assert needed([events_access("shop")]) <= have  # diagnostics of a failed run
    assert not {("create", "", "pods"), ("delete", "", "pods"), ("patch", "", "pods")} & have


def test_the_cronjob_runs_as_the_runner_service_account_without_privileges() -> None:
    (cron,) = [doc for _, doc in DOCUMENTS if doc["kind"] == "CronJob"]
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "netprobe"
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert "--junit" in container["args"][0] and "-o json" in container["args"][0]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
