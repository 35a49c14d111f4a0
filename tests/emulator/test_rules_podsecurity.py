"""Pod Security admission as kube-apiserver 1.34 applies it (emulator.podsecurity): one
truth table per check of staging/src/k8s.io/pod-security-admission/policy, the evaluator's
order, and the exact 403 message."""

from __future__ import annotations

import copy

import pytest

from emulator import defaulting
from emulator.netprobe_bodies import ephemeral_container, probe_pod
from emulator.podsecurity import forbidden_message, violations

RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def pod(context: dict | None = None, **spec: object) -> dict:
    """A pod that passes restricted, with ``context`` merged into its container's
    securityContext and ``spec`` into its spec."""
    container = {
        "name": "c",
        "image": "busybox:1.36",
        "securityContext": {**RESTRICTED_CONTAINER, **(context or {})},
    }
    body = {
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "n"},
        "spec": {"containers": [container], **spec},
    }
    return defaulting.default("Pod", body)


def test_netprobes_probe_pod_passes_restricted() -> None:
    body = defaulting.default("Pod", probe_pod())
    assert violations("restricted", body) == []
    assert violations("baseline", body) == []


def test_netprobes_probe_pod_with_its_staging_container_passes_restricted() -> None:
    body = defaulting.default("Pod", probe_pod())
    body["spec"]["ephemeralContainers"] = [ephemeral_container()]
    assert violations("restricted", body) == []


def test_ephemeral_containers_are_checked_too() -> None:
    body = pod()
    body["spec"]["ephemeralContainers"] = [{"name": "debug", "image": "busybox"}]
    assert violations("restricted", body) == [
        (
            'allowPrivilegeEscalation != false (container "debug" must '
            "set securityContext.allowPrivilegeEscalation=false)"
        ),
        (
            'unrestricted capabilities (container "debug" must set '
            'securityContext.capabilities.drop=["ALL"])'
        ),
        (
            'runAsNonRoot != true (pod or container "debug" must set '
            "securityContext.runAsNonRoot=true)"
        ),
        (
            'seccompProfile (pod or container "debug" must set '
            'securityContext.seccompProfile.type to "RuntimeDefault" or '
            '"Localhost")'
        ),
    ]


def test_the_privileged_level_admits_anything() -> None:
    assert violations("privileged", pod({"privileged": True}, hostNetwork=True)) == []


def test_a_bare_pod_is_refused_by_restricted_with_upstreams_message() -> None:
    body = {
        "kind": "Pod",
        "metadata": {"name": "web"},
        "spec": {"containers": [{"name": "app", "image": "nginx"}]},
    }
    found = violations("restricted", defaulting.default("Pod", body))
    assert forbidden_message("web", "restricted", "latest", found) == (
        'pods "web" is forbidden: violates PodSecurity "restricted:latest": '
        'allowPrivilegeEscalation != false (container "app" must set '
        "securityContext.allowPrivilegeEscalation=false), "
        'unrestricted capabilities (container "app" must set '
        'securityContext.capabilities.drop=["ALL"]), '
        'runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), '
        'seccompProfile (pod or container "app" must set '
        'securityContext.seccompProfile.type to "RuntimeDefault" or '
        '"Localhost")'
    )
    assert violations("baseline", defaulting.default("Pod", body)) == []


BASELINE_CASES = [
    ({}, {"hostNetwork": True, "hostPID": True}, ["host namespaces (hostNetwork, hostPID)"]),
    (
        {"privileged": True},
        {},
        ['privileged (container "c" must not set securityContext.privileged=true)'],
    ),
    ({"privileged": False}, {}, []),
    (
        {"capabilities": {"add": ["NET_ADMIN", "CHOWN"], "drop": ["ALL"]}},
        {},
        [
            (
                'non-default capabilities (container "c" must not include '
                '"NET_ADMIN" in securityContext.capabilities.add)'
            )
        ],
    ),
    ({"capabilities": {"add": ["NET_BIND_SERVICE", "KILL"]}}, {}, []),
    (
        {"procMount": "Unmasked"},
        {},
        ['procMount (container "c" must not set securityContext.procMount to "Unmasked")'],
    ),
    ({"procMount": "Default"}, {}, []),
    (
        {"seccompProfile": {"type": "Unconfined"}},
        {},
        [
            (
                'seccompProfile (container "c" must not set '
                'securityContext.seccompProfile.type to "Unconfined")'
            )
        ],
    ),
    (
        {},
        {"securityContext": {"seccompProfile": {"type": "Unconfined"}}},
        ['seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")'],
    ),
    (
        {"seLinuxOptions": {"type": "spc_t"}},
        {},
        [
            (
                'seLinuxOptions (container "c" set forbidden '
                'securityContext.seLinuxOptions: type "spc_t")'
            )
        ],
    ),
    (
        {"seLinuxOptions": {"type": "spc_t", "user": "root"}},
        {},
        [
            (
                'seLinuxOptions (container "c" set forbidden '
                'securityContext.seLinuxOptions: type "spc_t"; user may not '
                "be set)"
            )
        ],
    ),
    ({"seLinuxOptions": {"type": "container_engine_t"}}, {}, []),
    (
        {},
        {
            "securityContext": {
                "sysctls": [
                    {"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"},
                    {"name": "net.ipv4.tcp_rmem", "value": "4096"},
                ]
            }
        },
        [],
    ),
    (
        {},
        {
            "securityContext": {
                "sysctls": [
                    {"name": "kernel.msgmax", "value": "1"},
                    {"name": "net.core.somaxconn", "value": "1"},
                ]
            }
        },
        ["forbidden sysctls (kernel.msgmax, net.core.somaxconn)"],
    ),
    (
        {},
        {"volumes": [{"name": "host", "hostPath": {"path": "/"}}]},
        ['hostPath volumes (volume "host")'],
    ),
    (
        {"windowsOptions": {"hostProcess": True}},
        {},
        [
            (
                'hostProcess (container "c" must not set '
                "securityContext.windowsOptions.hostProcess=true)"
            )
        ],
    ),
]


@pytest.mark.parametrize(("context", "spec", "expected"), BASELINE_CASES)
def test_baseline_checks(context: dict, spec: dict, expected: list[str]) -> None:
    assert violations("baseline", pod(context, **spec)) == expected


def test_host_ports_are_listed_sorted_as_strings() -> None:
    body = pod()
    body["spec"]["containers"][0]["ports"] = [
        {"containerPort": 8080, "hostPort": 8080, "protocol": "TCP"},
        {"containerPort": 80, "hostPort": 80, "protocol": "TCP"},
    ]
    assert violations("baseline", body) == ['hostPort (container "c" uses hostPorts 80, 8080)']


def test_probe_and_lifecycle_hosts_are_forbidden_from_1_34() -> None:
    body = pod()
    body["spec"]["containers"][0]["readinessProbe"] = {
        "tcpSocket": {"port": 80, "host": "10.0.0.1"}
    }
    expected = ['probe or lifecycle host (container "c" uses probe or lifecycle host "10.0.0.1")']
    assert violations("baseline", body) == expected
    assert violations("baseline", body, "v1.34") == expected
    assert violations("baseline", body, "v1.33") == []


@pytest.mark.parametrize(
    ("sysctl", "version", "allowed"),
    [
        ("net.ipv4.ip_unprivileged_port_start", "v1.22", True),
        ("net.ipv4.ip_local_reserved_ports", "v1.26", False),
        ("net.ipv4.ip_local_reserved_ports", "v1.27", True),
        ("net.ipv4.tcp_keepalive_time", "v1.28", False),
        ("net.ipv4.tcp_keepalive_time", "v1.29", True),
        ("net.ipv4.tcp_wmem", "v1.31", False),
        ("net.ipv4.tcp_wmem", "v1.32", True),
        ("net.ipv4.tcp_wmem", "v1.40", True),
    ],
)
def test_the_safe_sysctls_grow_with_the_policy_version(
    sysctl: str, version: str, allowed: bool
) -> None:
    body = pod(securityContext={"sysctls": [{"name": sysctl, "value": "1"}]})
    assert (violations("baseline", body, version) == []) is allowed


def test_apparmor_unconfined_is_forbidden_by_annotation_and_by_field() -> None:
    body = pod({"appArmorProfile": {"type": "Unconfined"}})
    body["metadata"]["annotations"] = {
        "container.apparmor.security.beta.kubernetes.io/c": "unconfined"
    }
    assert violations("baseline", body) == [
        "forbidden AppArmor profiles "
        '(container.apparmor.security.beta.kubernetes.io/c="unconfined", '
        ""
        'container "c" must not set securityContext.appArmorProfile.type to "Unconfined")'
    ]


RESTRICTED_CASES = [
    (
        {"allowPrivilegeEscalation": True},
        {},
        [
            (
                'allowPrivilegeEscalation != false (container "c" must set '
                "securityContext.allowPrivilegeEscalation=false)"
            )
        ],
    ),
    (
        {"capabilities": {"drop": ["NET_RAW"]}},
        {},
        [
            (
                'unrestricted capabilities (container "c" must set '
                'securityContext.capabilities.drop=["ALL"])'
            )
        ],
    ),
    ({"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}, {}, []),
    (
        {"capabilities": {"drop": ["ALL"], "add": ["CHOWN"]}},
        {},
        [
            (
                'unrestricted capabilities (container "c" must not include '
                '"CHOWN" in securityContext.capabilities.add)'
            )
        ],
    ),
    (
        {"capabilities": {"add": ["SYS_ADMIN"]}},
        {},
        [
            (
                'unrestricted capabilities (container "c" must set '
                'securityContext.capabilities.drop=["ALL"]; container "c" '
                'must not include "SYS_ADMIN" in '
                "securityContext.capabilities.add)"
            )
        ],
    ),
    (
        {"runAsNonRoot": False},
        {},
        ['runAsNonRoot != true (container "c" must not set securityContext.runAsNonRoot=false)'],
    ),
    ({"runAsNonRoot": None}, {"securityContext": {"runAsNonRoot": True}}, []),
    ({"runAsUser": 0}, {}, ['runAsUser=0 (container "c" must not set runAsUser=0)']),
    ({}, {"securityContext": {"runAsUser": 0}}, ["runAsUser=0 (pod must not set runAsUser=0)"]),
    (
        {"seccompProfile": None},
        {
            "securityContext": {
                "seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}
            }
        },
        [],
    ),
    (
        {},
        {
            "volumes": [
                {"name": "data", "emptyDir": {}},
                {"name": "cfg", "configMap": {"name": "x"}},
            ]
        },
        [],
    ),
    (
        {},
        {
            "volumes": [
                {"name": "nfs", "nfs": {"server": "s", "path": "/"}},
                {"name": "git", "gitRepo": {"repository": "r"}},
            ]
        },
        ['restricted volume types (volumes ["git" "nfs"] have restricted types)'],
    ),
    (
        {},
        {"volumes": [{"name": "host", "hostPath": {"path": "/"}}]},
        ['restricted volume types (volumes ["host"] have restricted types)'],
    ),
]


@pytest.mark.parametrize(("context", "spec", "expected"), RESTRICTED_CASES)
def test_restricted_checks(context: dict, spec: dict, expected: list[str]) -> None:
    body = pod({k: v for k, v in context.items() if v is not None}, **spec)
    for key in [k for k, v in context.items() if v is None]:
        del body["spec"]["containers"][0]["securityContext"][key]
    assert violations("restricted", body) == expected


def test_restricted_reports_baseline_violations_first_in_file_order() -> None:
    body = pod({"privileged": True, "allowPrivilegeEscalation": True}, hostIPC=True)
    assert [v.split(" (")[0] for v in violations("restricted", body)] == [
        "host namespaces",
        "privileged",
        "allowPrivilegeEscalation != false",
    ]


def test_windows_pods_are_exempt_from_the_linux_only_restricted_checks() -> None:
    body = {
        "kind": "Pod",
        "metadata": {"name": "w"},
        "spec": {"os": {"name": "windows"}, "containers": [{"name": "c", "image": "i"}]},
    }
    assert violations("restricted", defaulting.default("Pod", body)) == [
        'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true)'
    ]


def test_containers_are_named_init_first_and_pluralised() -> None:
    body = pod()
    bare = {"name": "a", "image": "i"}
    body["spec"]["initContainers"] = [copy.deepcopy(bare)]
    body["spec"]["containers"].append({**bare, "name": "b"})
    assert violations("restricted", body)[0] == (
        'allowPrivilegeEscalation != false (containers "a", "b" must '
        "set securityContext.allowPrivilegeEscalation=false)"
    )


def test_an_unknown_level_or_version_is_an_error() -> None:
    with pytest.raises(ValueError, match="level"):
        violations("strict", pod())
    with pytest.raises(ValueError, match="version"):
        violations("baseline", pod(), "1.34")
