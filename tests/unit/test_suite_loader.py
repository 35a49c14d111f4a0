"""The suite format: what each form of entry expands to, per step."""

from __future__ import annotations

import textwrap
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest
from configmap_volume import configmap_volume

from netprobe.errors import InputError, LocatedError
from netprobe.model import PodRef, PolicyRef, Protocol
from netprobe.suite.loader import load_suite, load_suites, replace_policies
from netprobe.suite.model import ApplyPolicy, DeletePolicy, SetNamespaceLabels, SetPodLabels, Suite

PODS = """\
namespaces:
  frontend: {labels: {tier: front}}
pods:
  frontend/web: {labels: {app: web}, ports: [80, http=8080]}
  frontend/admin: {labels: {app: admin}, ports: [80]}
  database/db: {labels: {app: db}, ports: [postgres=5432, dns=53/UDP]}
"""

POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-ingress, namespace: database}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
    - from:
        - namespaceSelector: {matchLabels: {tier: front}}
          podSelector: {matchLabels: {app: web}}
"""


def load(tmp_path: Path, text: str, warnings: list[str] | None = None, **files: str) -> Suite:
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    path = tmp_path / "s.netprobe.yaml"
    path.write_text(textwrap.dedent(text))
    sink: list[str] = [] if warnings is None else warnings
    return load_suite(path, sink.append)


def ids(suite: Suite) -> list[str]:
    return [e.id for e in suite.expectations]


@pytest.mark.parametrize(
    "entry",
    [
        "- allow: frontend/web -> database/db:5432",
        "- allow: frontend/web -> database/db:5432/TCP",
        "- allow: {from: frontend/web, to: database/db, port: 5432}",
        "- allow: {from: frontend/web, to: database/db, port: '5432/TCP', protocol: TCP}",
        "- allow: {from: {namespace: frontend, labels: {app: web}}, to: database/db, port: 5432}",
        "- allow: frontend/app=web -> database/db:5432",
        "- matrix: {to: [database/db], port: 5432, from: {frontend/web: A}}",
    ],
)
def test_every_form_of_one_pair_means_the_same(tmp_path: Path, entry: str) -> None:
    suite = load(tmp_path, PODS + "expect:\n  " + entry + "\n")
    assert ids(suite) == ["allow frontend/web -> database/db:5432/TCP"]


def test_named_port_resolves_on_the_destination_and_keeps_its_name(tmp_path: Path) -> None:
    suite = load(tmp_path, PODS + "expect:\n  - deny: frontend/web -> database/db:dns\n")
    (expectation,) = suite.expectations
    assert (expectation.port, expectation.protocol, expectation.port_name) == (
        53,
        Protocol.UDP,
        "dns",
    )
    assert expectation.id == "deny frontend/web -> database/db:dns(53)/UDP"


def test_without_a_port_every_declared_port_of_the_destination(tmp_path: Path) -> None:
    suite = load(tmp_path, PODS + "expect:\n  - deny: frontend/web -> database/db\n")
    assert ids(suite) == [
        "deny frontend/web -> database/db:5432/TCP",
        "deny frontend/web -> database/db:53/UDP",
    ]


def test_port_lists_expand(tmp_path: Path) -> None:
    suite = load(tmp_path, PODS + "expect:\n  - deny: frontend/web -> database/db:5432,53/UDP\n")
    assert [(e.port, e.protocol) for e in suite.expectations] == [
        (5432, Protocol.TCP),
        (53, Protocol.UDP),
    ]


def test_wildcards_never_pair_a_pod_with_itself(tmp_path: Path) -> None:
    suite = load(tmp_path, PODS + "expect:\n  - deny: '* -> frontend/*:80'\n")
    assert ids(suite) == [
        "deny frontend/web -> frontend/admin:80/TCP",
        "deny frontend/admin -> frontend/web:80/TCP",
        "deny database/db -> frontend/web:80/TCP",
        "deny database/db -> frontend/admin:80/TCP",
    ]


def test_namespace_label_selector(tmp_path: Path) -> None:
    entry = "- deny: {from: {namespaceLabels: {tier: front}}, to: database/db, port: 5432}\n"
    suite = load(tmp_path, PODS + "expect:\n  " + entry)
    assert [str(e.source) for e in suite.expectations] == ["frontend/web", "frontend/admin"]


def test_an_exact_pair_beats_a_selector_in_any_order(tmp_path: Path) -> None:
    text = PODS + textwrap.dedent("""\
        expect:
          - allow: frontend/web -> database/db:5432
          - deny: "frontend/* -> database/db:5432"
        """)
    suite = load(tmp_path, text)
    verdicts = {str(e.source): e.allowed for e in suite.expectations}
    assert verdicts == {"frontend/web": True, "frontend/admin": False}
    assert suite.expectations[0].location.line == 8


def test_between_selectors_the_later_statement_wins(tmp_path: Path) -> None:
    text = PODS + textwrap.dedent("""\
        expect:
          - deny: "frontend/* -> database/db:5432"
          - allow: "*/app=web -> database/db:5432"
        """)
    verdicts = {str(e.source): e.allowed for e in load(tmp_path, text).expectations}
    assert verdicts == {"frontend/web": True, "frontend/admin": False}


@pytest.mark.parametrize(
    ("destination", "address", "cidr"),
    [
        ("10.0.0.0/24", "10.0.0.1", "10.0.0.0/24"),
        ("192.0.2.7/32", "192.0.2.7", "192.0.2.7/32"),
        ("192.0.2.7", "192.0.2.7", None),
        ("[2001:db8::]/64", "2001:db8::1", "2001:db8::/64"),
        ("[2001:db8::5]", "2001:db8::5", None),
    ],
)
def test_external_destinations(
    tmp_path: Path, destination: str, address: str, cidr: str | None
) -> None:
    if destination.startswith("[") and "/" in destination:
        destination = destination[1:].replace("]", "")
        entry = f"- deny: {{from: frontend/web, to: '{destination}', port: 443}}\n"
    else:
        entry = f"- deny: frontend/web -> {destination}:443\n"
    suite = load(tmp_path, PODS + "expect:\n  " + entry)
    (expectation,) = suite.expectations
    assert expectation.destination == ip_address(address)
    assert expectation.cidr == (ip_network(cidr) if cidr else None)
    assert suite.externals == (ip_address(address),)
    written = f"[{address}]" if ":" in address else address
    assert expectation.id == f"deny frontend/web -> {written}:443/TCP"


def test_matrix_cells(tmp_path: Path) -> None:
    text = PODS + textwrap.dedent("""\
        expect:
          - matrix:
              to: [frontend/web, frontend/admin]
              port: 80
              from:
                frontend/web:  . D
                frontend/admin: A .
                database/db:   A D
        """)
    suite = load(tmp_path, text)
    assert ids(suite) == [
        "deny frontend/web -> frontend/admin:80/TCP",
        "allow frontend/admin -> frontend/web:80/TCP",
        "allow database/db -> frontend/web:80/TCP",
        "deny database/db -> frontend/admin:80/TCP",
    ]
    assert str(suite.expectations[1].location).endswith(
        ":13 expect[0].matrix.from.frontend/admin[0]"
    )


def test_selectors_expand_against_the_labels_at_each_step(tmp_path: Path) -> None:
    text = PODS + textwrap.dedent("""\
        policies: [policy.yaml]
        expect:
          - allow: "*/app=web -> database/db:5432"
        steps:
          - name: promote-admin
            label:
              frontend/admin: {app: web, extra: null}
              frontend: {tier: back}
            delete: [database/db-ingress]
            apply: [policy.yaml]
            expect:
              - allow: "*/app=web -> database/db:5432"
        """)
    suite = load(tmp_path, text, **{"policy.yaml": POLICY})
    initial, step = suite.steps
    assert [str(e.source) for e in initial.expectations] == ["frontend/web"]
    assert [str(e.source) for e in step.expectations] == ["frontend/web", "frontend/admin"]
    assert [type(a) for a in step.actions] == [
        DeletePolicy,
        ApplyPolicy,
        SetPodLabels,
        SetNamespaceLabels,
    ]
    relabel = step.actions[2]
    assert isinstance(relabel, SetPodLabels) and dict(relabel.labels) == {"app": "web"}
    assert step.actions[0] == DeletePolicy(PolicyRef("database", "db-ingress"))


def test_a_first_step_with_actions_gets_an_empty_initial_step(tmp_path: Path) -> None:
    text = PODS + textwrap.dedent("""\
        steps:
          - label: {frontend/web: {app: other}}
            expect: [{deny: "*/app=other -> database/db:5432"}]
        """)
    suite = load(tmp_path, text)
    assert [(s.name, len(s.actions), len(s.expectations)) for s in suite.steps] == [
        ("initial", 0, 0),
        ("step-1", 1, 1),
    ]


def test_settings_tags_and_skips(tmp_path: Path) -> None:
    text = PODS + textwrap.dedent("""\
        settings:
          probeTimeout: 500ms
          settleInterval: 0.5
          settleTimeout: 1m
          tags: [smoke]
          skip:
            - {tags: [udp], backends: [Cilium], reason: "cilium drops UDP here"}
        expect:
          - allow: frontend/web -> database/db:5432
            skip: not ready yet
          - allow: frontend/web -> database/db:dns
            tags: [udp]
          - allow: frontend/admin -> database/db:5432
            skip: {backends: [local], reason: "no route"}
        """)
    suite = load(tmp_path, text)
    settings = suite.settings
    assert (settings.probe_timeout, settings.settle_interval, settings.settle_timeout) == (
        0.5,
        0.5,
        60.0,
    )
    first, udp, admin = suite.expectations
    assert first.skip_reason() == "not ready yet"
    assert udp.tags == ("smoke", "udp")
    assert udp.skip_reason() is None
    assert udp.skip_reason("kubernetes", "cilium") == "cilium drops UDP here"
    assert admin.skip_reason("local") == "no route"
    assert admin.skip_reason("kubernetes") is None


def test_fixture_namespaces_and_policies_join_the_suite(tmp_path: Path) -> None:
    namespace = "apiVersion: v1\nkind: Namespace\nmetadata: {name: database, labels: {t: db}}\n"
    text = PODS + "policies: [fixtures/]\nexpect:\n  - allow: frontend/web -> database/db:5432\n"
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "ns.yaml").write_text(namespace)
    (tmp_path / "fixtures" / "p.yaml").write_text(POLICY)
    suite = load(tmp_path, text)
    assert [p.ref for p in suite.policies] == [PolicyRef("database", "db-ingress")]
    labels = {n.name: dict(n.labels) for n in suite.namespaces}
    assert labels["database"] == {"t": "db", "kubernetes.io/metadata.name": "database"}


def test_undeclared_destination_ports_are_warned_about_once(tmp_path: Path) -> None:
    warnings: list[str] = []
    text = (
        PODS
        + "expect:\n  - deny: '*/app=web -> database/db:9999'\n"
        + "  - deny: frontend/admin -> database/db:9999\n"
    )
    load(tmp_path, text, warnings)
    assert len(warnings) == 1
    assert "pod database/db does not declare port 9999/TCP" in warnings[0]


def test_replace_policies_keeps_the_expectations(tmp_path: Path) -> None:
    suite = load(
        tmp_path,
        PODS + "policies: [p.yaml]\nexpect:\n  - allow: frontend/web -> database/db:5432\n",
        **{"p.yaml": POLICY},
    )
    replaced = replace_policies(suite, ())
    assert replaced.policies == () and replaced.steps == suite.steps


def test_directories_hold_only_netprobe_suites(tmp_path: Path) -> None:
    (tmp_path / "a.netprobe.yaml").write_text(
        PODS + "expect: [{allow: frontend/web -> database/db:5432}]\n"
    )
    (tmp_path / "unrelated.yaml").write_text("not: a suite\n")
    suites = load_suites([tmp_path], print)
    assert [s.name for s in suites] == ["a"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no suite files"):
        load_suites([tmp_path / "empty"], print)


def test_a_suite_named_twice_is_loaded_once_in_the_order_first_named(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / f"{name}.netprobe.yaml").write_text(
            PODS + "expect: [{allow: frontend/web -> database/db:5432}]\n"
        )
    b = tmp_path / "b.netprobe.yaml"
    suites = load_suites([b, tmp_path, tmp_path / "." / "a.netprobe.yaml"], print)
    assert [s.name for s in suites] == ["b", "a"]


def test_a_suite_mounted_from_a_configmap_is_loaded_once_under_its_key(tmp_path: Path) -> None:
    suite = PODS + "expect: [{allow: frontend/web -> database/db:5432}]\n"
    volume = configmap_volume(tmp_path / "suites", {"shop.netprobe.yaml": suite})
    (loaded,) = load_suites([volume], print)
    assert loaded.path == volume / "shop.netprobe.yaml"


def test_the_error_names_file_line_and_field(tmp_path: Path) -> None:
    with pytest.raises(LocatedError) as info:
        load(tmp_path, PODS + "expect:\n  - allow: frontend/web -> databse/db:5432\n")
    assert str(info.value).endswith(
        "s.netprobe.yaml:8 expect[0].allow.to: no pod 'databse/db' in this suite "
        "(did you mean 'database/db'?)"
    )


def test_sources_are_pods_of_the_suite(tmp_path: Path) -> None:
    suite = load(tmp_path, PODS + "expect:\n  - allow: database/db -> database/db:5432\n")
    assert suite.expectations[0].source == PodRef("database", "db")


def test_an_unquoted_impossible_date_in_a_field_netprobe_ignores_is_just_text(
    tmp_path: Path,
) -> None:
    suite = load(
        tmp_path,
        """
        description: 2024-02-30
        pods:
          frontend/web: {labels: {app: web}, ports: [80]}
        expect:
          - allow: frontend/web -> frontend/web:80
        """,
    )
    assert suite.description == "2024-02-30"
