"""Files, directories, lists and documents -> objects and a cluster state: what a user
pointing netprobe at manifests or at ``kubectl get -o yaml`` output sees."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

import pytest

from netprobe.documents import parse_yaml_documents
from netprobe.errors import InputError, LocatedError
from netprobe.manifests import (
    LoadedObjects,
    load_paths,
    load_state,
    manifest_files,
    parse_objects,
    parse_pod,
)
from netprobe.model import ContainerPort, PodRef, PolicyType, Protocol
from netprobe.selectors import Labels

# Every test here runs through libyaml's parser and through the pure-Python one.
pytestmark = pytest.mark.usefixtures("yaml_parser")

SAMPLES = Path(__file__).parent.parent / "manifests"


class Warnings(list[str]):
    def __call__(self, message: str) -> None:
        self.append(message)


def objects_of(text: str, warn: Warnings | None = None) -> LoadedObjects:
    return parse_objects(
        parse_yaml_documents(text, "m.yaml"), warn if warn is not None else Warnings()
    )


def test_kubectl_list_output_loads_as_printed() -> None:
    warn = Warnings()
    loaded = load_paths([SAMPLES / "kubectl-list.yaml"], warn)
    (namespace,) = loaded.namespaces
    assert namespace.labels == Labels({"kubernetes.io/metadata.name": "shop", "team": "payments"})
    (pod,) = loaded.pods
    assert pod.ref == PodRef("shop", "web-7d9f8b6c5d-x2x7q")
    assert pod.ports == (
        ContainerPort(8080, Protocol.TCP, "http"),
        ContainerPort(9090, Protocol.TCP, "metrics"),
    )
    assert pod.ip == ip_address("10.244.1.17")
    assert pod.ips == (ip_address("10.244.1.17"), ip_address("fd00:10:244:1::11"))
    (policy,) = loaded.policies
    assert str(policy.ref) == "shop/web-from-frontend"
    assert policy.ingress[0].ports[0].port == "http"
    assert warn == [
        f"{SAMPLES / 'kubectl-list.yaml'}:89 items[2]: skipping v1 Service 'shop/web' "
        "(netprobe models v1 Namespace, v1 Pod and networking.k8s.io/v1 NetworkPolicy)"
    ]


def test_typed_list_items_take_kind_and_api_version_from_the_list() -> None:
    loaded = load_paths([SAMPLES / "podlist.json"], Warnings())
    assert [str(pod.ref) for pod in loaded.pods] == ["data/db-0", "data/db-1"]
    assert loaded.pods[0].named_port("pg", Protocol.TCP) == 5432
    assert loaded.pods[0].location is not None and loaded.pods[0].location.path == "items[0]"


def test_network_policy_list_items_keep_a_submittable_manifest() -> None:
    loaded = objects_of(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicyList\nitems:\n"
        "- metadata: {name: deny, namespace: a}\n  spec: {podSelector: {}}\n"
    )
    (policy,) = loaded.policies
    assert policy.manifest == {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "deny", "namespace": "a"},
        "spec": {"podSelector": {}},
    }


def test_multi_document_files_and_empty_documents() -> None:
    loaded = objects_of(
        "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\n"
    )
    assert [ns.name for ns in loaded.namespaces] == ["a"]
    assert [str(pod.ref) for pod in loaded.pods] == ["a/p"]


def test_directories_are_searched_recursively_in_sorted_order() -> None:
    tree = SAMPLES / "tree"
    assert [path.relative_to(tree).as_posix() for path in manifest_files([tree], Warnings())] == [
        "apps/shop/pods.yml",
        "apps/shop/policies.json",
        "base/namespaces.yaml",
    ]
    warn = Warnings()
    state = load_state([tree], warn)
    assert warn == []
    assert [ns.name for ns in state.namespaces] == ["shop", "monitoring"]
    assert [str(pod.ref) for pod in state.pods] == ["shop/api", "monitoring/scraper"]
    (policy,) = state.policies
    assert policy.ref.name == "api-from-monitoring"
    assert policy.policy_types == (PolicyType.INGRESS,)
    assert policy.location is not None and policy.location.file.endswith("policies.json")


def test_json_locations_have_lines() -> None:
    loaded = load_paths([SAMPLES / "tree" / "apps" / "shop" / "policies.json"], Warnings())
    (rule,) = loaded.policies[0].ingress
    assert rule.ports[0].location is not None and rule.ports[0].location.line == 10


def test_a_file_named_twice_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    loaded = load_paths([tmp_path, tmp_path / "ns.yaml"], Warnings())
    assert len(loaded.namespaces) == 1


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.yaml: no such file or directory"):
        load_paths([tmp_path / "nope.yaml"], Warnings())


def test_an_empty_directory_is_a_warning(tmp_path: Path) -> None:
    warn = Warnings()
    assert load_paths([tmp_path], warn).pods == ()
    assert warn == [f"{tmp_path}: no *.yaml, *.yml, *.json files here"]


def test_syntax_errors_are_located(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("apiVersion: v1\nkind: [Pod\n")
    with pytest.raises(LocatedError, match=r"bad.yaml:3: YAML syntax error"):
        load_paths([tmp_path], Warnings())


@pytest.mark.parametrize(
    ("text", "skipped"),
    [
        ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: a}\n",
         "skipping apps/v1 Deployment 'a/web'"),
        ("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: x}\n",
         "skipping projectcalico.org/v3 NetworkPolicy 'x'"),
        ("apiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata: {name: x}\n",
         "skipping extensions/v1beta1 NetworkPolicy 'x'"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "skipping v1 ConfigMap (no name)"),
    ],
)  # fmt: skip
def test_other_kinds_are_skipped_with_a_one_line_warning(text: str, skipped: str) -> None:
    warn = Warnings()
    loaded = objects_of(text, warn)
    assert (loaded.namespaces, loaded.pods, loaded.policies) == ((), (), ())
    (message,) = warn
    assert message.startswith(f"m.yaml:1: {skipped} (netprobe models")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("second", "kind"),
    [
        ("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n", "Namespace 'a'"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\n", "Pod 'a/p'"),
        ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: n}\n",
         "NetworkPolicy 'default/n'"),
    ],
)  # fmt: skip
def test_an_object_defined_twice_names_both_places(tmp_path: Path, second: str, kind: str) -> None:
    (tmp_path / "a.yaml").write_text(second)
    (tmp_path / "b.yaml").write_text("# again\n" + second)
    with pytest.raises(LocatedError) as info:
        load_paths([tmp_path], Warnings())
    assert str(info.value) == (
        f"{tmp_path / 'b.yaml'}:2: {kind} is defined twice; the first definition is at "
        f"{tmp_path / 'a.yaml'}:1 (keep one of them)"
    )


def test_same_name_in_other_namespaces_or_kinds_is_fine() -> None:
    loaded = objects_of(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: a}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: b}\n---\n"
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x, namespace: a}\n"
    )
    assert len(loaded.pods) == 2 and len(loaded.policies) == 1


def test_implicit_namespaces_are_added_once_with_one_warning_each() -> None:
    warn = Warnings()
    state = objects_of(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: declared, labels: {a: b}}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p1, namespace: implicit}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p2, namespace: implicit}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p3, namespace: declared}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p4}\n---\n"
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {name: n, namespace: other}\n",
    ).to_state(warn)
    assert [(ns.name, dict(ns.labels)) for ns in state.namespaces] == [
        ("declared", {"a": "b", "kubernetes.io/metadata.name": "declared"}),
        ("implicit", {"kubernetes.io/metadata.name": "implicit"}),
        ("default", {"kubernetes.io/metadata.name": "default"}),
        ("other", {"kubernetes.io/metadata.name": "other"}),
    ]
    assert warn == [
        "m.yaml:5 (document 2): namespace 'implicit' (used by pod implicit/p1) is not declared; "
        "assuming it exists with only the label kubernetes.io/metadata.name=implicit",
        "m.yaml:17 (document 5): namespace 'default' (used by pod default/p4) is not declared; "
        "assuming it exists with only the label kubernetes.io/metadata.name=default",
        "m.yaml:21 (document 6): namespace 'other' (used by NetworkPolicy other/n) is not "
        "declared; assuming it exists with only the label kubernetes.io/metadata.name=other",
    ]


def test_namespaces_always_carry_their_name_label() -> None:
    warn = Warnings()
    loaded = objects_of(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n"
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n"
        "  labels: {kubernetes.io/metadata.name: c}\n",
        warn,
    )
    assert [dict(ns.labels) for ns in loaded.namespaces] == [
        {"kubernetes.io/metadata.name": "a"},
        {"kubernetes.io/metadata.name": "b"},
    ]
    (message,) = warn
    assert message.startswith("m.yaml:5 (document 2): namespace 'b' declares label")


def test_pod_defaults_sidecar_ports_and_host_network() -> None:
    (field,) = parse_yaml_documents(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {app: web}}\nspec:\n"
        "  hostNetwork: true\n"
        "  initContainers:\n"
        "  - {name: setup, ports: [{containerPort: 1111}]}\n"
        "  - {name: proxy, restartPolicy: Always, ports: [{containerPort: 15001, name: envoy}]}\n"
        "  containers:\n"
        "  - name: app\n    ports:\n    - {containerPort: 53, protocol: UDP, name: dns}\n"
        "    - {containerPort: 80}\n",
        "pod.yaml",
    )
    pod = parse_pod(field)
    assert pod.ref == PodRef("default", "p")
    assert pod.labels == Labels({"app": "web"})
    assert pod.host_network is True
    assert pod.ip is None and pod.ips == ()
    assert pod.ports == (
        ContainerPort(53, Protocol.UDP, "dns"),
        ContainerPort(80, Protocol.TCP, None),
        ContainerPort(15001, Protocol.TCP, "envoy"),
    )


def test_ipv6_only_pod_is_found_by_its_address() -> None:
    state = objects_of(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus:\n"
        "  podIPs: [{ip: 'fd00::5'}, {ip: 10.0.0.5}]\n"
    ).to_state(Warnings())
    (pod,) = state.pods
    assert pod.ip == ip_address("fd00::5")
    assert state.pod_at(ip_address("10.0.0.5")) is pod


def test_finished_pods_are_skipped_with_a_warning() -> None:
    warn = Warnings()
    loaded = objects_of(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: job-x, namespace: a}\n"
        "status: {phase: Succeeded, podIP: 10.0.0.9}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: a}\n"
        "status: {phase: Running, podIP: 10.0.0.9}\n",
        warn,
    )
    assert [pod.name for pod in loaded.pods] == ["web"]
    assert warn == [
        "m.yaml:1 (document 1): skipping pod 'a/job-x' in phase Succeeded: "
        "it has no network any more"
    ]


def test_a_big_cluster_loads(tmp_path: Path) -> None:
    docs = [
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: ns{i % 7}, "
        f"labels: {{app: a{i % 13}}}}}\nspec: {{containers: [{{name: c, ports: "
        f"[{{containerPort: 80, name: http}}]}}]}}\nstatus: {{podIP: 10.0.{i // 256}.{i % 256}}}\n"
        for i in range(500)
    ]
    docs += [
        f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: n{i}, "
        f"namespace: ns{i % 7}}}\nspec:\n  podSelector: {{matchLabels: {{app: a{i % 13}}}}}\n"
        f"  ingress: [{{from: [{{ipBlock: {{cidr: 10.0.0.0/16, except: [10.0.1.0/24]}}}}], "
        f"ports: [{{port: http}}, {{port: 8000, endPort: 8100}}]}}]\n"
        for i in range(100)
    ]
    (tmp_path / "big.yaml").write_text("---\n".join(docs))
    warn = Warnings()
    state = load_state([tmp_path], warn)
    assert (len(state.pods), len(state.policies), len(state.namespaces)) == (500, 100, 7)
    assert len(warn) == 7


def test_pods_sharing_an_ip_are_a_warning_unless_host_network() -> None:
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec: {{hostNetwork: {host}}}\n"
    pod += "status: {{podIP: 10.0.0.9}}\n"
    warn = Warnings()
    objects_of(
        "---\n".join(
            pod.format(name=name, host=host)
            for name, host in [("a", "false"), ("b", "false"), ("n1", "true"), ("n2", "true")]
        )
    ).to_state(warn)
    shared = [message for message in warn if "both have IP" in message]
    assert shared == [
        "m.yaml:7 (document 2): pods default/a and default/b both have IP 10.0.0.9; "
        "netprobe attributes traffic from 10.0.0.9 to one of them only"
    ]


def test_hidden_files_and_directories_are_left_out(tmp_path: Path) -> None:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text("on: push\n")
    (tmp_path / ".draft.yaml").write_text("not: a manifest\n")
    (tmp_path / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    assert manifest_files([tmp_path], Warnings()) == [tmp_path / "ns.yaml"]


def _laughs(levels: int) -> str:
    """A "billion laughs" block: each level aliases the previous one nine times."""
    lines = ['    l0: &l0 ["ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha"]']
    for level in range(1, levels):
        lines.append(f"    l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join(lines)


def test_aliased_metadata_is_copied_once_not_expanded() -> None:
    text = (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        f"metadata:\n  name: p\n  namespace: a\n  managedFields:\n{_laughs(7)}\n"
        "spec: {podSelector: {}}\n"
    )
    (policy,) = objects_of(text).policies  # expanded, 9 levels would take hours
    assert policy.manifest is not None
    fields = policy.manifest["metadata"]["managedFields"]
    assert fields["l6"][0] is fields["l5"]


def test_annotations_must_be_strings_as_the_api_server_requires() -> None:
    text = (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        f"metadata:\n  name: p\n  namespace: a\n  annotations:\n{_laughs(2)}\n"
        "spec: {podSelector: {}}\n"
    )
    with pytest.raises(LocatedError, match=r"metadata\.annotations\.l0: expected a string"):
        objects_of(text)


def test_an_unquoted_date_in_annotations_is_the_string_the_api_server_reads() -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: a\n"
        "  annotations: {created: 2024-02-30, checked: 2024-01-01}\n"
    )
    (pod,) = objects_of(text).pods
    assert str(pod.ref) == "a/p"
