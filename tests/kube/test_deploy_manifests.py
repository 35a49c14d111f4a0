"""deploy/*.yaml validate against the Kubernetes schemas (offline, kubernetes-validate),
the RBAC there is exactly what the backend's preflight asks for: no more, no less, and the
CronJob's ConfigMap (the example, and the one its comment says to make) holds suites that
`netprobe run /suites` finds in the mounted folder."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from configmap_volume import configmap_volume

from netprobe.backends.kubernetes.diagnose import events_access
from netprobe.backends.kubernetes.preflight import cleanup_checks, run_checks
from netprobe.cli import main
from netprobe.suite import SUITE_SUFFIX
from netprobe.suite.loader import load_suites

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


def cronjob_pod() -> tuple[dict[str, Any], dict[str, Any]]:
    (cron,) = [doc for _, doc in DOCUMENTS if doc["kind"] == "CronJob"]
    return cron, cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def suites_configmap() -> tuple[str, str, str]:
    """The ConfigMap the CronJob mounts as its suites: name, namespace, mount path."""
    cron, pod = cronjob_pod()
    (container,) = pod["containers"]
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/suites"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    return volume["configMap"]["name"], cron["metadata"]["namespace"], mount["mountPath"]


def test_the_cronjob_runs_the_suites_of_the_folder_its_configmap_is_mounted_at() -> None:
    _, pod = cronjob_pod()
    (container,) = pod["containers"]
    _, _, mount = suites_configmap()
    assert f"netprobe run {mount} --backend kubernetes" in container["args"][0]


def test_netprobe_run_finds_the_suite_of_the_example_configmap_in_its_mount(
    tmp_path: Path,
) -> None:
    name, namespace, _ = suites_configmap()
    (configmap,) = [
        doc
        for _, doc in DOCUMENTS
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == name
    ]
    assert configmap["metadata"]["namespace"] == namespace
    assert all(key.endswith(SUITE_SUFFIX) for key in configmap["data"])
    volume = configmap_volume(tmp_path / "suites", configmap["data"])
    suites = load_suites([volume], print)  # what `netprobe run /suites` loads
    assert [suite.path.name for suite in suites] == list(configmap["data"])


def test_the_command_the_cronjob_documents_writes_the_configmap_it_mounts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    name, namespace, _ = suites_configmap()
    documented = f"netprobe bundle suites/ --configmap {name} -n {namespace} | kubectl apply -f -"
    assert documented in (DEPLOY / "cronjob.yaml").read_text()
    monkeypatch.chdir(DEPLOY.parent)
    assert main(shlex.split(documented.partition("|")[0])[1:]) == 0
    manifest = yaml.safe_load(capsys.readouterr().out)
    kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)
    assert manifest["metadata"] == {"name": name, "namespace": namespace}
    volume = configmap_volume(tmp_path / "suites", manifest["data"])
    bundled = load_suites([volume], print)
    assert [s.name for s in bundled] == [s.name for s in load_suites([Path("suites")], print)]
