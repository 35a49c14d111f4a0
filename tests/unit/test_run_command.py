"""``netprobe run`` end to end on the fake backend: exit codes, outputs, progress."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from netprobe import cli
from netprobe.backends.fake import FakeBackend, table_truth
from netprobe.clock import FakeClock
from netprobe.commands import run as run_command
from netprobe.run import Progress

SUITE = """\
name: shop
namespaces:
  web: {}
  db: {}
  outside: {}
pods:
  web/front: {labels: {app: front}, ports: [80]}
  db/pg: {labels: {app: pg}, ports: [5432]}
  outside/client: {labels: {app: client}}
policies:
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: only-front, namespace: db}
    spec:
      podSelector: {}
      ingress:
        - from:
            - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: web}}
expect:
  - allow: web/front -> db/pg:5432
  - deny: outside/client -> db/pg:5432
"""

DENY_ALL = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: db}
spec: {podSelector: {}}
"""


class Backends:
    """Stands in for the backend registry: makes fake backends (with ``knobs``) on one fake
    clock that never sleeps, and keeps them for the test to inspect."""

    def __init__(self) -> None:
        self.made: list[FakeBackend] = []
        self.knobs: dict[str, Any] = {}
        self.clock: FakeClock = FakeClock()

    def create(
        self, name: str, options: object = None, run_id: str | None = None, index: int = 0
    ) -> FakeBackend:
        backend = FakeBackend(name=name, clock=self.clock, **self.knobs)
        self.made.append(backend)
        return backend

    def main(self, argv: list[str]) -> int:
        """``netprobe ARGV`` as the CLI runs it, on these backends and clock."""
        args = cli.build_parser().parse_args(argv)
        return cli.guarded(
            lambda: run_command.execute(
                run_command.request_from(args), create=self.create, clock=self.clock
            )
        )


@pytest.fixture
def backends() -> Backends:
    return Backends()


def write_suite(tmp_path: Path, text: str = SUITE) -> Path:
    path = tmp_path / "shop.netprobe.yaml"
    path.write_text(text)
    return path


def test_passing_suite_exits_0(
    tmp_path: Path, backends: Backends, capsys: pytest.CaptureFixture[str]
) -> None:
    assert backends.main(["run", str(write_suite(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "all 2 expectations hold" in out
    assert backends.made[0].torn_down == 1


def test_wrong_expectation_exits_1(tmp_path: Path, backends: Backends) -> None:
    wrong = SUITE.replace("allow: web/front", "deny: web/front")
    assert backends.main(["run", str(write_suite(tmp_path, wrong))]) == 1


def test_strict_also_fails_when_observed_matches_expected_but_not_the_analyzer(
    tmp_path: Path, backends: Backends, capsys: pytest.CaptureFixture[str]
) -> None:
    # The suite expects front -> pg to be denied, the policy allows it, and the dataplane
    # drops everything: expected == observed != analyzer (policy+dataplane, held).
    text = SUITE.replace("allow: web/front -> db/pg:5432", "deny: web/front -> db/pg:5432")
    text = text.replace("  - deny: outside/client -> db/pg:5432\n", "")
    backends.knobs["truth"] = table_truth([])
    path = write_suite(tmp_path, text)
    assert backends.main(["run", "-v", str(path)]) == 0
    assert "policy+dataplane" in capsys.readouterr().out.lower()
    assert backends.main(["run", "--strict", str(path)]) == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "missing.netprobe.yaml"],
        ["run", "--probe-timeout", "0", "{suite}"],
        ["run", "--apply-delay", "-1", "{suite}"],
    ],
    ids=["no such suite", "zero probe timeout", "negative apply delay"],
)
def test_bad_input_exits_2(
    tmp_path: Path,
    argv: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    suite = write_suite(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert cli.main([a.replace("{suite}", str(suite)) for a in argv]) == 2
    assert "netprobe: error:" in capsys.readouterr().err


def test_backend_error_exits_3_after_teardown(
    tmp_path: Path, backends: Backends, capsys: pytest.CaptureFixture[str]
) -> None:
    backends.knobs["fail_deploy"] = "cannot create network namespaces"
    assert backends.main(["run", str(write_suite(tmp_path))]) == 3
    assert "cannot create network namespaces" in capsys.readouterr().err
    assert backends.made[0].torn_down == 1


class InterruptedClock(FakeClock):
    """Ctrl-C comes at the first wait."""

    def sleep(self, seconds: float) -> None:
        raise KeyboardInterrupt


def test_interrupt_exits_130_after_teardown(tmp_path: Path, backends: Backends) -> None:
    backends.knobs["lag_rounds"] = 3
    backends.clock = InterruptedClock()
    assert backends.main(["run", str(write_suite(tmp_path))]) == 130
    assert backends.made[0].torn_down >= 1


def test_json_and_junit_carry_observations(
    tmp_path: Path, backends: Backends, capsys: pytest.CaptureFixture[str]
) -> None:
    junit = tmp_path / "junit.xml"
    code = backends.main(["run", "-o", "json", "--junit", str(junit), str(write_suite(tmp_path))])
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    text = json.dumps(document)
    for word in ("attempts", "settled_after", "connected", "timeout", '"local"'):
        assert word in text
    tree = ET.parse(junit)
    assert len(tree.findall(".//testcase")) == 2
    properties = {p.get("name"): p.get("value") for p in tree.iter("property")}
    assert properties["attempts"] == "1"


def test_policies_option_tests_another_policy_set(tmp_path: Path, backends: Backends) -> None:
    policy = tmp_path / "deny.yaml"
    policy.write_text(DENY_ALL)
    suite = write_suite(tmp_path)
    assert backends.main(["run", "--policies", str(policy), str(suite)]) == 1
    assert "apply_policy db/deny-all" in backends.made[0].calls
    assert "apply_policy db/only-front" not in backends.made[0].calls


def test_matrix_mode_adds_the_conformance_cells(
    tmp_path: Path, backends: Backends, capsys: pytest.CaptureFixture[str]
) -> None:
    assert backends.main(["run", "--matrix", "-o", "json", str(write_suite(tmp_path))]) == 0
    document = json.loads(capsys.readouterr().out)
    assert '"matrix"' in json.dumps(document)  # the added cells carry the matrix tag


def test_progress_line_only_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    quiet, loud = io.StringIO(), Tty()
    for stream in (quiet, loud):
        line = run_command.ProgressLine(stream)
        line(Progress("shop", 2, 3, 45, 81, 3))
        line.clear()
    assert quiet.getvalue() == ""
    assert "\r[shop] step 2/3  probes 45/81  retries 3" in loud.getvalue()


def test_exec_errors_fail_the_run(
    tmp_path: Path, backends: Backends, capsys: pytest.CaptureFixture[str]
) -> None:
    from netprobe.model import PodRef

    backends.knobs["broken_pods"] = frozenset({PodRef("web", "front")})
    assert backends.main(["run", "-v", str(write_suite(tmp_path))]) == 1
    assert "error dialing backend" in capsys.readouterr().out
