"""Golden scenarios: ``tests/cases/<name>/manifests.yaml`` against ``expected.yaml``.

``expected.yaml`` was written by reasoning from docs/semantics.md, not by running the
analyzer. It holds ``pods`` (column order), ``ports`` (per port, one string per source:
``1`` allowed, ``.`` denied, a character per destination) and optional ``connections``
(single connections, addresses included). Each case is checked through the analyzer and
through the ``matrix`` and ``explain`` commands.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from netprobe.analyzer import evaluate, matrix
from netprobe.cli import main
from netprobe.manifests import load_state
from netprobe.model import ClusterState, Connection, Endpoint, Port, Protocol
from netprobe.ports import parse_port_spec

CASES = Path(__file__).parent.parent / "cases"
NAMES = sorted(path.name for path in CASES.iterdir() if (path / "expected.yaml").exists())


@dataclass(frozen=True)
class Case:
    manifests: Path
    state: ClusterState
    pods: list[str]
    ports: dict[str, dict[str, str]]
    connections: list[dict[str, Any]]

    def expected(self, port: str, source: str, destination: str) -> bool:
        return self.ports[port][source][self.pods.index(destination)] == "1"


def load_case(name: str) -> Case:
    folder = CASES / name
    expected = yaml.safe_load((folder / "expected.yaml").read_text())
    state = load_state([folder / "manifests.yaml"], lambda message: None)
    return Case(
        folder / "manifests.yaml",
        state,
        expected["pods"],
        expected["ports"],
        expected.get("connections", []),
    )


def test_every_seed_scenario_has_a_case() -> None:
    assert {
        "three-tier",
        "dns-and-proxy-egress",
        "test-network-policy",
        "endport-range",
        "namespaces-by-expressions",
        "and-vs-or",
        "named-ports",
    } <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_expected_file_is_well_formed(name: str) -> None:
    case = load_case(name)
    assert sorted(case.pods) == sorted(str(pod.ref) for pod in case.state.pods)
    for port, rows in case.ports.items():
        assert sorted(rows) == sorted(case.pods), f"{port}: one row per pod"
        for source, row in rows.items():
            assert len(row) == len(case.pods) and set(row) <= {"1", "."}, f"{port} {source}"
            assert row[case.pods.index(source)] == "1", f"{port} {source}: a pod reaches itself"


@pytest.mark.parametrize("name", NAMES)
def test_matrix_and_evaluate_give_the_expected_matrix(name: str) -> None:
    case = load_case(name)
    ports = parse_port_spec(",".join(case.ports))
    result = matrix(case.state, ports)
    refs = [str(ref) for ref in result.pods]
    wrong = []
    for q, port in enumerate(ports):
        number, protocol, key = port.number, port.protocol, str(port)
        for s, source in enumerate(refs):
            for d, destination in enumerate(refs):
                expected = case.expected(key, source, destination)
                connection = Connection(result.pods[s], result.pods[d], number, protocol)
                verdict = evaluate(connection, case.state)
                if result.allowed(s, d, q) != expected or verdict.allowed != expected:
                    wrong.append(f"{source} -> {destination}:{key} expected {expected}: {verdict}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("name", NAMES)
def test_connections(name: str) -> None:
    case = load_case(name)
    for item in case.connections:
        port = Port.parse(item["port"])
        connection = Connection(
            Endpoint.parse_host(str(item["from"])),
            Endpoint.parse_host(str(item["to"])),
            port.number,
            port.protocol,
        )
        verdict = evaluate(connection, case.state)
        assert verdict.allowed is item["allowed"], f"{connection}: " + "; ".join(
            map(str, verdict.reasons)
        )


@pytest.mark.parametrize("name", NAMES)
def test_matrix_command_json_gives_the_expected_matrix(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    case = load_case(name)
    code = main(
        ["matrix", "-f", str(case.manifests), "--ports", ",".join(case.ports), "-o", "json"]
    )
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    assert document["pods"] == [str(pod.ref) for pod in case.state.pods]
    assert len(document["results"]) == len(case.pods) ** 2 * len(case.ports)
    for result in document["results"]:
        key = f"{result['port']}/{result['protocol']}"
        assert result["allowed"] is case.expected(key, result["from"], result["to"]), result


@pytest.mark.parametrize("name", NAMES)
def test_matrix_command_defaults_to_declared_ports_and_summary_counts(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    case = load_case(name)
    assert main(["matrix", "-f", str(case.manifests), "-o", "summary"]) == 0
    summary = json.loads(capsys.readouterr().out)
    declared = {f"{p.port}/{p.protocol}" for pod in case.state.pods for p in pod.ports}
    assert set(summary["ports"]) == declared
    assert summary["pods"] == len(case.pods)
    assert summary["policies"] == len(case.state.policies)
    for port, counts in summary["ports"].items():
        if port in case.ports:
            allowed = sum(row.count("1") for row in case.ports[port].values())
            assert counts == {"allowed": allowed, "denied": len(case.pods) ** 2 - allowed}
    assert main(["matrix", "-f", str(case.manifests)]) == 0
    assert "allowed" in capsys.readouterr().out


@pytest.mark.parametrize("name", NAMES)
def test_explain_command_on_every_connection(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    case = load_case(name)
    for item in case.connections:
        argv = ["explain", "-f", str(case.manifests), str(item["from"]), str(item["to"])]
        assert main([*argv, item["port"], "-o", "json"]) == 0
        assert json.loads(capsys.readouterr().out)["allowed"] is item["allowed"]
        assert main([*argv, item["port"]]) == 0
        verdict = "ALLOWED" if item["allowed"] else "DENIED"
        assert capsys.readouterr().out.startswith(f"{verdict}: ")


def test_protocols_in_expected_files_are_known() -> None:
    for name in NAMES:
        for port in load_case(name).ports:
            assert Port.parse(port).protocol in Protocol
