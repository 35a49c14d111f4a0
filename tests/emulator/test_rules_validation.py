"""What kube-apiserver 1.34 answers 422 to (emulator.validation), with upstream's exact
cause reasons, fields and messages: apimachinery's objectmeta.go and util/validation,
pkg/apis/core/validation, pkg/apis/networking/validation, pkg/apis/coordination/validation."""

from __future__ import annotations

import copy

import pytest

from emulator import defaulting
from emulator.fielderrors import Cause
from emulator.netprobe_bodies import ephemeral_container, policy_bodies, probe_pod
from emulator.validation import invalid_status, status_message, validate

SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
PORT_RANGE = "must be between 1 and 65535, inclusive"


def stored(kind: str, body: dict) -> dict:
    return defaulting.default(kind, body)


def pod_with(**container: object) -> dict:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n"}}
    body["spec"] = {"containers": [{"name": "c", "image": "busybox:1.36", **container}]}
    return stored("Pod", body)


def np(spec: dict, name: str = "np") -> dict:
    meta = {"name": name, "namespace": "n"}
    body = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta,
        "spec": spec,
    }
    return stored("NetworkPolicy", body)


def ingress_port(port: dict) -> dict:
    return np({"podSelector": {}, "ingress": [{"ports": [port]}]})


def ingress_peer(peer: dict) -> dict:
    return np({"podSelector": {}, "ingress": [{"from": [peer]}]})


def lines(causes: list[Cause]) -> list[str]:
    return [str(c) for c in causes]


# -- what netprobe sends is accepted ------------------------------------------------------


def test_netprobes_probe_pod_passes_pod_validation() -> None:
    assert validate("Pod", stored("Pod", probe_pod())) == []


def test_netprobes_staging_ephemeral_container_may_be_added() -> None:
    old = stored("Pod", probe_pod())
    old["spec"]["containers"][0]["name"] = "app"
    update = copy.deepcopy(old)
    update["spec"]["ephemeralContainers"] = [ephemeral_container()]
    new = defaulting.prepare_for_update("Pod", update, old)
    assert validate("Pod", new, old, subresource="ephemeralcontainers") == []


@pytest.mark.parametrize(
    "body", policy_bodies(), ids=lambda b: f"{b['metadata']['namespace']}/{b['metadata']['name']}"
)
def test_every_policy_of_the_suites_passes_validation(body: dict) -> None:
    assert validate("NetworkPolicy", stored("NetworkPolicy", body)) == []


# -- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name", "valid"),
    [
        ("Namespace", "prod", True),
        ("Namespace", "prod.eu", False),
        ("Namespace", "a" * 63, True),
        ("Namespace", "a" * 64, False),
        ("Pod", "web.prod", True),
        ("Pod", "a" * 253, True),
        ("Pod", "a" * 254, False),
        ("Pod", "Web", False),
        ("Pod", "-web", False),
        ("NetworkPolicy", "allow.dns", True),
        ("NetworkPolicy", "allow_dns", False),
        ("Lease", "netprobe.lock", True),
        ("Lease", "Lock", False),
    ],
)
def test_names_are_dns_labels_for_namespaces_and_subdomains_otherwise(
    kind: str, name: str, valid: bool
) -> None:
    meta: dict = {"name": name} if kind == "Namespace" else {"name": name, "namespace": "n"}
    body = {"Pod": pod_with(), "NetworkPolicy": np({"podSelector": {}})}.get(kind, {"kind": kind})
    body = {**body, "metadata": meta}
    causes = [c for c in validate(kind, stored(kind, body)) if c.field == "metadata.name"]
    assert (causes == []) is valid


def test_an_invalid_pod_name_has_upstreams_message_and_422_text() -> None:
    body = pod_with()
    body["metadata"]["name"] = "Foo_bar"
    causes = validate("Pod", body)
    assert causes == [
        Cause("FieldValueInvalid", f'Invalid value: "Foo_bar": {SUBDOMAIN}', "metadata.name")
    ]
    assert status_message("Pod", "Foo_bar", causes) == (
        f'Pod "Foo_bar" is invalid: metadata.name: Invalid value: "Foo_bar": {SUBDOMAIN}'
    )


def test_a_namespace_name_with_a_dot_is_a_subdomain_not_a_label() -> None:
    causes = validate(
        "Namespace", stored("Namespace", {"kind": "Namespace", "metadata": {"name": "a.b"}})
    )
    assert lines(causes) == ['metadata.name: Invalid value: "a.b": must not contain dots']
    causes = validate(
        "Namespace", stored("Namespace", {"kind": "Namespace", "metadata": {"name": "A"}})
    )
    assert lines(causes) == [f'metadata.name: Invalid value: "A": {LABEL}']


def test_a_missing_name_is_required() -> None:
    body = pod_with()
    body["metadata"] = {"namespace": "n"}
    assert lines(validate("Pod", body)) == [
        "metadata.name: Required value: name or generateName is required"
    ]


def test_several_causes_are_bracketed_and_the_group_qualifies_the_kind() -> None:
    causes = validate("NetworkPolicy", ingress_port({"port": 0, "protocol": "ICMP"}))
    assert status_message("NetworkPolicy", "np", causes) == (
        'NetworkPolicy.networking.k8s.io "np" is invalid: ['
        "spec.ingress[0].ports[0].protocol: Unsupported value: "
        '"ICMP": supported values: "TCP", "UDP", "SCTP", '
        f"spec.ingress[0].ports[0].port: Invalid value: 0: {PORT_RANGE}]"
    )
    status = invalid_status("NetworkPolicy", "np", causes)
    assert status["code"] == 422 and status["reason"] == "Invalid"
    assert status["details"]["group"] == "networking.k8s.io"
    assert status["details"]["causes"][1] == {
        "reason": "FieldValueInvalid",
        "message": f"Invalid value: 0: {PORT_RANGE}",
        "field": "spec.ingress[0].ports[0].port",
    }
    assert "group" not in invalid_status("Pod", "p", [])["details"]


# -- labels and annotations -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "messages"),
    [
        ({"app": "web", "example.com/tier": "db", "a": ""}, []),
        (
            {"app": "a" * 64},
            [f'metadata.labels: Invalid value: "{"a" * 64}": must be no more than 63 characters'],
        ),
        (
            {"app": "web!"},
            [
                'metadata.labels: Invalid value: "web!": a valid label must '
                "be an empty string or consist of "
                "alphanumeric characters, '-', '_' or '.', and must start "
                "and end with an alphanumeric "
                "character (e.g. 'MyValue',  or 'my_value',  or '12345', "
                "regex used for validation is "
                "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
            ],
        ),
        (
            {"/app": "x"},
            ['metadata.labels: Invalid value: "/app": prefix part must be non-empty'],
        ),
        (
            {"Example.com/app": "x"},
            [f'metadata.labels: Invalid value: "Example.com/app": prefix part {SUBDOMAIN}'],
        ),
        (
            {"a/b/c": "x"},
            [
                'metadata.labels: Invalid value: "a/b/c": a qualified name '
                "must consist of alphanumeric "
                "characters, '-', '_' or '.', and must start and end with an "
                "alphanumeric character (e.g. "
                "'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
                "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an "
                "optional DNS subdomain prefix and '/' "
                "(e.g. 'example.com/MyName')"
            ],
        ),
        (
            {"k" * 64: "x"},
            [
                (
                    f'metadata.labels: Invalid value: "{"k" * 64}": name part '
                    f"must be no more than 63 characters"
                )
            ],
        ),
    ],
)
def test_label_keys_are_qualified_names_and_values_at_most_63_characters(
    labels: dict, messages: list[str]
) -> None:
    body = pod_with()
    body["metadata"]["labels"] = labels
    assert lines(validate("Pod", body)) == messages


def test_annotations_may_total_256_kib() -> None:
    body = pod_with()
    body["metadata"]["annotations"] = {"a": "x" * (256 * 1024 - 1)}
    assert validate("Pod", body) == []
    body["metadata"]["annotations"] = {"a": "x" * (256 * 1024)}
    assert lines(validate("Pod", body)) == [
        "metadata.annotations: Too long: may not be more than 262144 bytes"
    ]


# -- pod specs ----------------------------------------------------------------------------


def test_a_pod_needs_containers() -> None:
    body = stored("Pod", {"kind": "Pod", "metadata": {"name": "p", "namespace": "n"}, "spec": {}})
    assert lines(validate("Pod", body)) == ["spec.containers: Required value"]


@pytest.mark.parametrize(
    ("container", "messages"),
    [
        ({"name": "Probe"}, [f'spec.containers[0].name: Invalid value: "Probe": {LABEL}']),
        ({"name": ""}, ["spec.containers[0].name: Required value"]),
        ({"image": ""}, ["spec.containers[0].image: Required value"]),
        (
            {"image": " busybox"},
            [
                (
                    'spec.containers[0].image: Invalid value: " busybox": must '
                    "not have leading or trailing whitespace"
                )
            ],
        ),
        (
            {"imagePullPolicy": "Sometimes"},
            [
                (
                    "spec.containers[0].imagePullPolicy: Unsupported value: "
                    '"Sometimes": supported values: "Always", "IfNotPresent", '
                    '"Never"'
                )
            ],
        ),
        (
            {"ports": [{"containerPort": 0}]},
            ["spec.containers[0].ports[0].containerPort: Required value"],
        ),
        (
            {"ports": [{"containerPort": 65536}]},
            [f"spec.containers[0].ports[0].containerPort: Invalid value: 65536: {PORT_RANGE}"],
        ),
        (
            {"ports": [{"containerPort": 80, "protocol": "ICMP"}]},
            [
                (
                    "spec.containers[0].ports[0].protocol: Unsupported value: "
                    '"ICMP": supported values: "SCTP", "TCP", "UDP"'
                )
            ],
        ),
        (
            {"ports": [{"containerPort": 80, "name": "a"}, {"containerPort": 81, "name": "a"}]},
            ['spec.containers[0].ports[1].name: Duplicate value: "a"'],
        ),
        (
            {"env": [{"name": "A=B"}]},
            [
                (
                    'spec.containers[0].env[0].name: Invalid value: "A=B": a '
                    "valid environment variable name must consist only of "
                    "printable ASCII characters other than '='"
                )
            ],
        ),
        (
            {"readinessProbe": {"periodSeconds": 2}},
            ["spec.containers[0].readinessProbe: Required value: must specify a handler type"],
        ),
        (
            {"livenessProbe": {"tcpSocket": {"port": 80}, "successThreshold": 2}},
            ["spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"],
        ),
        (
            {"readinessProbe": {"tcpSocket": {"port": "HTTP"}}},
            [
                (
                    "spec.containers[0].readinessProbe.tcpSocket.port: Invalid "
                    'value: "HTTP": must contain only alpha-numeric characters '
                    "(a-z, 0-9), and hyphens (-)"
                ),
                (
                    "spec.containers[0].readinessProbe.tcpSocket.port: Invalid "
                    'value: "HTTP": must contain at least one letter (a-z)'
                ),
            ],
        ),
        (
            {"volumeMounts": [{"name": "data", "mountPath": "/d"}]},
            ['spec.containers[0].volumeMounts[0].name: Not found: "data"'],
        ),
        (
            {"securityContext": {"runAsUser": -1}},
            [
                (
                    "spec.containers[0].securityContext.runAsUser: Invalid "
                    "value: -1: must be between 0 and 2147483647, inclusive"
                )
            ],
        ),
        (
            {"securityContext": {"seccompProfile": {"type": "Custom"}}},
            [
                (
                    "spec.containers[0].securityContext.seccompProfile.type: "
                    'Unsupported value: "Custom": supported values: "Localhost", '
                    '"RuntimeDefault", "Unconfined"'
                )
            ],
        ),
        (
            {"restartPolicy": "Always"},
            ["spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers"],
        ),
    ],
)
def test_container_rules(container: dict, messages: list[str]) -> None:
    assert lines(validate("Pod", pod_with(**container))) == messages


@pytest.mark.parametrize(
    ("name", "messages"),
    [
        ("http", []),
        ("http-alt", []),
        ("h2c", []),
        ("a" * 15, []),
        ("a" * 16, ["must be no more than 15 characters"]),
        ("80", ["must contain at least one letter (a-z)"]),
        (
            "HTTP",
            [
                "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                "must contain at least one letter (a-z)",
            ],
        ),
        ("http--alt", ["must not contain consecutive hyphens"]),
        ("-http", ["must not begin or end with a hyphen"]),
        ("http-", ["must not begin or end with a hyphen"]),
        ("http_alt", ["must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"]),
    ],
)
def test_container_port_names_are_iana_service_names(name: str, messages: list[str]) -> None:
    causes = validate("Pod", pod_with(ports=[{"containerPort": 80, "name": name}]))
    assert lines(causes) == [
        f'spec.containers[0].ports[0].name: Invalid value: "{name}": {m}' for m in messages
    ]


def test_container_names_are_unique() -> None:
    body = pod_with()
    body["spec"]["containers"].append(copy.deepcopy(body["spec"]["containers"][0]))
    assert lines(validate("Pod", body)) == ['spec.containers[1].name: Duplicate value: "c"']


def test_pod_level_enums_and_sysctls() -> None:
    body = pod_with()
    body["spec"]["restartPolicy"] = "Sometimes"
    body["spec"]["dnsPolicy"] = "Google"
    body["spec"]["securityContext"] = {
        "sysctls": [{"name": "net/ipv4/ip_unprivileged_port_start"}, {"name": "Net.X"}]
    }
    assert lines(validate("Pod", body)) == [
        (
            'spec.restartPolicy: Unsupported value: "Sometimes": '
            'supported values: "Always", "OnFailure", "Never"'
        ),
        (
            'spec.dnsPolicy: Unsupported value: "Google": supported '
            'values: "ClusterFirstWithHostNet", "ClusterFirst", '
            '"Default", "None"'
        ),
        "spec.securityContext.sysctls[1].name: Invalid value: "
        '"Net.X": must have at most 253 characters and match regex '
        "^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$",
    ]


def test_ephemeral_containers_cannot_be_set_on_create() -> None:
    body = pod_with()
    body["spec"]["ephemeralContainers"] = [
        {
            "name": "e",
            "image": "busybox",
            "terminationMessagePolicy": "File",
            "imagePullPolicy": "Always",
        }
    ]
    assert lines(validate("Pod", body)) == [
        "spec.ephemeralContainers: Forbidden: cannot be set on create"
    ]


def test_an_ephemeral_container_needs_an_existing_target_and_no_ports() -> None:
    old = pod_with()
    new = copy.deepcopy(old)
    extra = {
        "name": "e",
        "image": "busybox",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "Always",
    }
    new["spec"]["ephemeralContainers"] = [
        {
            **extra,
            "targetContainerName": "nope",
            "ports": [{"containerPort": 80, "protocol": "TCP"}],
        }
    ]
    assert lines(validate("Pod", new, old, subresource="ephemeralcontainers")) == [
        'spec.ephemeralContainers[0].targetContainerName: Not found: "nope"',
        "spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container",
    ]


def test_existing_ephemeral_containers_may_not_change() -> None:
    extra = {
        "name": "e",
        "image": "busybox",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "Always",
    }
    old = pod_with()
    old["spec"]["ephemeralContainers"] = [extra]
    new = copy.deepcopy(old)
    new["spec"]["ephemeralContainers"][0]["image"] = "alpine"
    (cause,) = validate("Pod", new, old, subresource="ephemeralcontainers")
    assert (cause.reason, cause.field) == ("FieldValueForbidden", "spec.ephemeralContainers")
    assert cause.message.startswith(
        'Forbidden: existing ephemeral containers "e" may not be changed\n'
    )
    new["spec"]["ephemeralContainers"] = []
    assert lines(validate("Pod", new, old, subresource="ephemeralcontainers")) == [
        (
            "spec.ephemeralContainers: Forbidden: existing ephemeral "
            'containers "e" may not be removed\n'
        )
    ]


def test_pod_updates_may_change_images_but_not_ports() -> None:
    old = pod_with(ports=[{"containerPort": 80}])
    image = copy.deepcopy(old)
    image["spec"]["containers"][0]["image"] = "busybox:1.37"
    assert validate("Pod", image, old) == []
    port = copy.deepcopy(old)
    port["spec"]["containers"][0]["ports"][0]["containerPort"] = 81
    (cause,) = validate("Pod", port, old)
    assert (cause.reason, cause.field) == ("FieldValueForbidden", "spec")
    assert cause.message.startswith(
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
        "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be "
        "set to 1 if it was previously negative)\n"
    )
    fewer = copy.deepcopy(old)
    fewer["spec"]["containers"] = []
    assert (
        lines(validate("Pod", fewer, old))[-1]
        == "spec.containers: Forbidden: pod updates may not add or remove containers"
    )


def test_pod_labels_may_change_on_update() -> None:
    old = pod_with()
    new = copy.deepcopy(old)
    new["metadata"]["labels"] = {"netprobe.io/role": "server"}
    assert validate("Pod", new, old) == []


# -- network policies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("port", "messages"),
    [
        ({"port": 80}, []),
        ({"port": "http"}, []),
        ({"port": 32000, "endPort": 32768}, []),
        ({"port": 80, "endPort": 80}, []),
        ({"protocol": "SCTP"}, []),
        ({"port": 0}, [f"spec.ingress[0].ports[0].port: Invalid value: 0: {PORT_RANGE}"]),
        ({"port": 65536}, [f"spec.ingress[0].ports[0].port: Invalid value: 65536: {PORT_RANGE}"]),
        (
            {"port": "80"},
            [
                (
                    'spec.ingress[0].ports[0].port: Invalid value: "80": must '
                    "contain at least one letter (a-z)"
                )
            ],
        ),
        (
            {"port": 90, "endPort": 80},
            [
                (
                    "spec.ingress[0].ports[0].endPort: Invalid value: 80: must "
                    "be greater than or equal to `port`"
                )
            ],
        ),
        (
            {"port": 80, "endPort": 70000},
            [f"spec.ingress[0].ports[0].endPort: Invalid value: 70000: {PORT_RANGE}"],
        ),
        (
            {"port": "http", "endPort": 90},
            [
                (
                    "spec.ingress[0].ports[0].endPort: Invalid value: 90: may "
                    "not be specified when `port` is non-numeric"
                )
            ],
        ),
        (
            {"endPort": 90},
            [
                (
                    "spec.ingress[0].ports[0].endPort: Invalid value: 90: may "
                    "not be specified when `port` is not specified"
                )
            ],
        ),
        (
            {"port": 80, "protocol": "ICMP"},
            [
                (
                    "spec.ingress[0].ports[0].protocol: Unsupported value: "
                    '"ICMP": supported values: "TCP", "UDP", "SCTP"'
                )
            ],
        ),
    ],
)
def test_policy_port_rules(port: dict, messages: list[str]) -> None:
    assert lines(validate("NetworkPolicy", ingress_port(port))) == messages


@pytest.mark.parametrize(
    ("peer", "messages"),
    [
        ({"podSelector": {}}, []),
        ({"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "db"}}}, []),
        ({"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}, []),
        ({"ipBlock": {"cidr": "10.0.0.1/8"}}, []),
        ({"ipBlock": {"cidr": "010.0.0.0/8"}}, []),
        ({"ipBlock": {"cidr": "fd00::/8", "except": ["fd00:1::/32"]}}, []),
        ({}, ["spec.ingress[0].from[0]: Required value: must specify a peer"]),
        (
            {"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}},
            ["spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer"],
        ),
        ({"ipBlock": {"cidr": ""}}, ["spec.ingress[0].from[0].ipBlock.cidr: Required value"]),
        (
            {"ipBlock": {"cidr": "10.0.0.0"}},
            [
                (
                    "spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "
                    '"10.0.0.0": must be a valid CIDR value, (e.g. 10.9.8.0/24 '
                    "or 2001:db8::/64)"
                )
            ],
        ),
        (
            {"ipBlock": {"cidr": "10.0.0.0/33"}},
            [
                (
                    "spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "
                    '"10.0.0.0/33": must be a valid CIDR value, (e.g. '
                    "10.9.8.0/24 or 2001:db8::/64)"
                )
            ],
        ),
        (
            {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]}},
            [
                (
                    "spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "
                    '"192.168.0.0/16": must be a strict subset of `cidr`'
                )
            ],
        ),
        (
            {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.0.0.0/8"]}},
            [
                (
                    "spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "
                    '"10.0.0.0/8": must be a strict subset of `cidr`'
                )
            ],
        ),
        (
            {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["fd00::/8"]}},
            [
                (
                    "spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "
                    '"fd00::/8": must be a strict subset of `cidr`'
                )
            ],
        ),
        (
            {"podSelector": {"matchExpressions": [{"key": "app", "operator": "In"}]}},
            [
                (
                    "spec.ingress[0].from[0].podSelector.matchExpressions[0].values: "
                    "Required value: must be specified when `operator` is 'In' "
                    "or 'NotIn'"
                )
            ],
        ),
        (
            {
                "podSelector": {
                    "matchExpressions": [{"key": "app", "operator": "Exists", "values": ["a"]}]
                }
            },
            [
                (
                    "spec.ingress[0].from[0].podSelector.matchExpressions[0].values: "
                    "Forbidden: may not be specified when `operator` is 'Exists' "
                    "or 'DoesNotExist'"
                )
            ],
        ),
        (
            {
                "namespaceSelector": {
                    "matchExpressions": [{"key": "app", "operator": "Matches", "values": ["a"]}]
                }
            },
            [
                (
                    "spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].operator: "
                    'Invalid value: "Matches": not a valid selector operator'
                )
            ],
        ),
        (
            {"podSelector": {"matchLabels": {"app": "a b"}}},
            [
                (
                    "spec.ingress[0].from[0].podSelector.matchLabels: Invalid "
                    'value: "a b": a valid label must be an empty string or '
                    "consist of alphanumeric characters, '-', '_' or '.', and "
                    "must start and end with an alphanumeric character (e.g. "
                    "'MyValue',  or 'my_value',  or '12345', regex used for "
                    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
                )
            ],
        ),
    ],
)
def test_policy_peer_rules(peer: dict, messages: list[str]) -> None:
    assert lines(validate("NetworkPolicy", ingress_peer(peer))) == messages


@pytest.mark.parametrize(
    ("types", "messages"),
    [
        (["Ingress"], []),
        (["Egress", "Ingress"], []),
        (["Ingress", "Ingress"], []),
        (
            ["Both"],
            [
                (
                    'spec.policyTypes[0]: Unsupported value: "Both": supported '
                    'values: "Ingress", "Egress"'
                )
            ],
        ),
        (
            ["Ingress", "Egress", "Ingress"],
            [
                (
                    "spec.policyTypes: Invalid value: "
                    '["Ingress","Egress","Ingress"]: may not specify more than '
                    "two policyTypes"
                )
            ],
        ),
    ],
)
def test_policy_types_rules(types: list[str], messages: list[str]) -> None:
    assert (
        lines(validate("NetworkPolicy", np({"podSelector": {}, "policyTypes": types}))) == messages
    )


def test_egress_rules_are_checked_like_ingress_rules() -> None:
    policy = np({"podSelector": {}, "egress": [{"to": [{}], "ports": [{"port": 0}]}]})
    assert lines(validate("NetworkPolicy", policy)) == [
        f"spec.egress[0].ports[0].port: Invalid value: 0: {PORT_RANGE}",
        "spec.egress[0].to[0]: Required value: must specify a peer",
    ]


# -- leases ---------------------------------------------------------------------------------


def lease(**spec: object) -> dict:
    return stored(
        "Lease", {"kind": "Lease", "metadata": {"name": "l", "namespace": "n"}, "spec": dict(spec)}
    )


@pytest.mark.parametrize(
    ("spec", "messages"),
    [
        ({"holderIdentity": "any text at all", "leaseDurationSeconds": 15}, []),
        (
            {"leaseDurationSeconds": 0},
            ["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"],
        ),
        (
            {"leaseTransitions": -1},
            ["spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0"],
        ),
        (
            {"preferredHolder": "me"},
            ["spec.preferredHolder: Forbidden: may only be specified if `strategy` is defined"],
        ),
    ],
)
def test_lease_rules(spec: dict, messages: list[str]) -> None:
    assert lines(validate("Lease", lease(**spec))) == messages


def test_a_lease_update_needs_the_resource_version() -> None:
    old = {
        **lease(holderIdentity="a"),
        "metadata": {"name": "l", "namespace": "n", "resourceVersion": "3"},
    }
    new = copy.deepcopy(old)
    new["spec"]["holderIdentity"] = "b"
    assert validate("Lease", new, old) == []
    del new["metadata"]["resourceVersion"]
    causes = validate("Lease", new, old)
    assert status_message("Lease", "l", causes) == (
        'Lease.coordination.k8s.io "l" is invalid: metadata.resourceVersion: Invalid value: 0: '
        "must be specified for an update"
    )


def test_a_policy_update_reports_a_spec_error_as_two_causes_and_one_message() -> None:
    old = np({"podSelector": {}})
    new = ingress_port({"port": 0})
    new["metadata"] = copy.deepcopy(old["metadata"])
    causes = validate("NetworkPolicy", new, old)
    assert lines(causes) == [f"spec.ingress[0].ports[0].port: Invalid value: 0: {PORT_RANGE}"] * 2
    assert status_message("NetworkPolicy", "np", causes) == (
        'NetworkPolicy.networking.k8s.io "np" is invalid: '
        f"spec.ingress[0].ports[0].port: Invalid value: 0: {PORT_RANGE}"
    )


def test_an_update_may_not_rename() -> None:
    old = np({"podSelector": {}})
    new = np({"podSelector": {}}, name="other")
    assert 'metadata.name: Invalid value: "other": field is immutable' in lines(
        validate("NetworkPolicy", new, old)
    )


def test_a_namespace_finalizer_must_be_standard_or_qualified() -> None:
    body = stored(
        "Namespace",
        {"kind": "Namespace", "metadata": {"name": "a"}, "spec": {"finalizers": ["custom"]}},
    )
    assert lines(validate("Namespace", body)) == [
        (
            'spec.finalizers: Invalid value: "custom": name is neither a '
            "standard finalizer name nor is it fully qualified"
        )
    ]
