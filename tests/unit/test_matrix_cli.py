"""``netprobe matrix``: the JSON contract, the summary, the tables, port specs and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netprobe.cli import main

CASES = Path(__file__).parent.parent / "cases"
THREE_TIER = str(CASES / "three-tier" / "manifests.yaml")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_contract_is_exactly_pods_and_results(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "matrix", "-f", THREE_TIER, "--ports", "5432", "-o", "json")
    document = json.loads(out)
    assert code == 0
    assert list(document) == ["pods", "results"]
    assert document["pods"][:2] == ["frontend/webserver01", "frontend/webserver02"]
    assert len(document["results"]) == 25
    first = document["results"][0]
    assert first == {
        "from": "frontend/webserver01",
        "to": "frontend/webserver01",
        "port": 5432,
        "protocol": "TCP",
        "allowed": True,
    }
    allowed = {
        (r["from"], r["to"]) for r in document["results"] if r["allowed"] and r["from"] != r["to"]
    }
    assert allowed == {("application/appserver01", "database/db01")}


def test_json_has_one_result_per_pair_per_port(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "matrix", "-f", THREE_TIER, "--ports", "80,8080,53/udp", "-o", "json")
    results = json.loads(out)["results"]
    keys = {(r["from"], r["to"], r["port"], r["protocol"]) for r in results}
    assert len(results) == len(keys) == 5 * 5 * 3
    assert {(r["port"], r["protocol"]) for r in results} == {
        (80, "TCP"),
        (8080, "TCP"),
        (53, "UDP"),
    }


def test_summary_counts_per_port(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "matrix", "-f", THREE_TIER, "--ports", "8080,5432", "-o", "summary")
    assert code == 0
    assert json.loads(out) == {
        "pods": 5,
        "policies": 6,
        "ports": {
            "8080/TCP": {"allowed": 7, "denied": 18},
            "5432/TCP": {"allowed": 6, "denied": 19},
        },
    }


def test_table_shows_one_truth_table_per_port_with_pod_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "matrix", "-f", THREE_TIER)
    assert code == 0
    assert "✓ allowed" in out and "rows: from" in out
    for port in ("80/TCP", "5432/TCP", "8080/TCP"):
        assert port in out
    table = next(block for block in out.split("\n\n") if block.lstrip().startswith("5432/TCP"))
    row = next(line for line in table.splitlines() if "application/appserver01" in line)
    assert row.split()[-5:] == ["✗", "✗", "✗", "✓", "✓"]


def _pod(
    name: str, labels: dict[str, str], ports: tuple[int, ...] = (), namespace: str = "a"
) -> dict[str, object]:
    container = {"name": "c", "image": "c", "ports": [{"containerPort": p} for p in ports]}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"containers": [container]},
    }


def _policy(name: str, spec: dict[str, object], namespace: str = "a") -> dict[str, object]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def _listed(tmp_path: Path, items: list[dict[str, object]]) -> Path:
    path = tmp_path / "cluster.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    return path


def _many_pods(tmp_path: Path, clients: int, distinct: int) -> Path:
    """``clients`` identical client pods, ``distinct`` servers each told apart by a policy."""
    items: list[dict[str, object]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}
    ]
    items += [_pod(f"client{n}", {"role": "client"}, (80,)) for n in range(clients)]
    for n in range(distinct):
        items.append(_pod(f"server{n}", {"id": f"s{n}"}))
        peer = {"podSelector": {"matchLabels": {"id": f"s{(n + 1) % distinct}"}}}
        selector = {"matchLabels": {"id": f"s{n}"}}
        items.append(_policy(f"p{n}", {"podSelector": selector, "ingress": [{"from": [peer]}]}))
    client = {"matchLabels": {"role": "client"}}
    items.append(_policy("clients", {"podSelector": client, "policyTypes": ["Ingress"]}))
    return _listed(tmp_path, items)


def test_table_groups_pods_the_analyzer_cannot_tell_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _many_pods(tmp_path, clients=60, distinct=3)
    code, out, _ = run(capsys, "matrix", "-f", str(path), "--ports", "80")
    assert code == 0
    assert "63 pods behave as 4 groups" in out
    assert "a/role=client (60 pods)" in out
    assert "∘" in out  # clients are isolated: each reaches only itself
    assert "a/client0, a/client1" in out  # the group legend


def test_table_truncates_with_a_note_when_groups_are_too_many(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _many_pods(tmp_path, clients=2, distinct=50)
    _, out, _ = run(capsys, "matrix", "-f", str(path), "--ports", "80")
    assert "11 more groups (11 pods) are left out" in out
    assert "-o json" in out


def _shop(tmp_path: Path) -> Path:
    """A web tier whose first pod is misnamed ``db-primary``, and three database pods."""
    names = ["db-primary", *(f"web-{n}" for n in range(44))]
    items: list[dict[str, object]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        *(_pod(name, {"app": "web", "pod-template-hash": name}, (80,), "shop") for name in names),
        *(_pod(f"store-{n}", {"app": "db"}, (5432,), "shop") for n in range(3)),
        _policy("deny", {"podSelector": {}, "policyTypes": ["Ingress"]}, "shop"),
    ]
    for name, app, peer, port in (("web", "web", {}, 80), ("db", "db", {"app": "web"}, 5432)):
        rule = {"from": [{"podSelector": {"matchLabels": peer}}], "ports": [{"port": port}]}
        spec = {"podSelector": {"matchLabels": {"app": app}}, "ingress": [rule]}
        items.append(_policy(name, spec, "shop"))
    return _listed(tmp_path, items)


def test_table_names_groups_by_their_labels_not_by_a_pod(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "matrix", "-f", str(_shop(tmp_path)), "--ports", "80,5432")
    assert code == 0
    assert "48 pods behave as 2 groups" in out
    assert "db-primary (+" not in out
    table = next(block for block in out.split("\n\n") if block.lstrip().startswith("5432/TCP"))
    rows = [line.split() for line in table.splitlines()[2:]]
    assert rows == [
        ["1", "shop/app=web", "(45", "pods)", "∘", "✓"],  # web reaches db, not other web pods
        ["2", "shop/app=db", "(3", "pods)", "✗", "∘"],
    ]
    assert "  1  shop/db-primary, shop/web-0," in out  # the legend names the pods


def test_table_merges_classes_at_any_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """1,600 classes (each pod its own ``id``, every id named by one selector) that all
    behave alike are one group, however many classes there are."""
    ids = [f"i{n}" for n in range(1600)]
    selector = {"matchExpressions": [{"key": "id", "operator": "In", "values": ids}]}
    items: list[dict[str, object]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}},
        *(_pod(f"p{n}", {"id": name}, (80,)) for n, name in enumerate(ids)),
        _pod("outside", {}, (80,)),
        _policy("ids", {"podSelector": selector, "policyTypes": ["Ingress"]}),
    ]
    path = _listed(tmp_path, items)
    code, out, _ = run(capsys, "matrix", "-f", str(path), "-o", "classes")
    assert code == 0 and json.loads(out.splitlines()[0])["classes"] == 1601
    code, out, _ = run(capsys, "matrix", "-f", str(path))
    assert code == 0
    assert "1601 pods behave as 2 groups" in out
    assert "1 a (1600 pods)" in out and "2 a/!id (1 pod)" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ports", "80/ICMP"], "protocol must be one of TCP, UDP, SCTP"),
        (["--ports", "99999"], "expected a number from 1 to 65535"),
        (["--ports", "\u00b2"], "expected a number from 1 to 65535"),  # isdigit(), not int()
    ],
)
def test_bad_arguments_exit_2_without_traceback(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "matrix", "-f", THREE_TIER, *argv)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_missing_file_and_bad_manifest_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "matrix", "-f", str(tmp_path / "nope.yaml"))
    assert code == 2 and "nope.yaml" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: a}\n"
        "spec: {podSelector: {}, ingress: [{ports: [{port: 80, protocol: ICMP}]}]}\n"
    )
    code, _, err = run(capsys, "matrix", "-f", str(bad), "--ports", "80")
    assert code == 2 and "bad.yaml:" in err and "Traceback" not in err


def test_no_declared_ports_asks_for_ports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(json.dumps(_pod("p", {})))
    code, _, err = run(capsys, "matrix", "-f", str(path))
    assert code == 2 and "--ports" in err


def test_loader_warnings_go_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.yaml"
    pod = _pod("p", {})
    pod["metadata"] = {"name": "p", "namespace": "undeclared"}
    path.write_text(json.dumps(pod))
    code, out, err = run(capsys, "matrix", "-f", str(path), "--ports", "80", "-o", "summary")
    assert code == 0
    assert json.loads(out)["pods"] == 1
    assert "warning" in err and "undeclared" in err


def test_table_flags_host_network_pods_as_undefined(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agent = _pod("agent", {})
    agent["spec"] = {"hostNetwork": True, "containers": [{"name": "a", "image": "a"}]}
    path = tmp_path / "host.json"
    path.write_text(
        json.dumps({"apiVersion": "v1", "kind": "List", "items": [agent, _pod("p", {})]})
    )
    code, out, _ = run(capsys, "matrix", "-f", str(path), "--ports", "80")
    assert code == 0
    assert "undefined: hostNetwork pods (a/agent)" in out
