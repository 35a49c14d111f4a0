"""Shared skip files (``settings.skipFrom``), the static check's own skips, and ``--cni``:
a known limitation declared once skips the tagged expectations where it holds, with its
reason, and nowhere else."""

from __future__ import annotations

from pathlib import Path

import pytest

from netprobe import cli
from netprobe.errors import LocatedError
from netprobe.judge import judge_suite
from netprobe.suite.loader import load_suite
from netprobe.suite.model import Suite

LIMITS = """\
description: known limitations
skip:
  - reason: cilium matches no pod IP with ipBlock
    backends: [Cilium]
    tags: [ipblock-pod]
  - reason: no SCTP on flannel
    backends: [flannel, cilium]
    tags: [sctp]
"""

SUITE = """\
pods:
  x/a: {labels: {pod: a}, ports: [80]}
  x/b: {labels: {pod: b}, ports: [80]}
settings:
  skipFrom: SKIP_FROM
expect:
  - allow: x/a -> x/b:80
    tags: [ipblock-pod]
  - allow: x/b -> x/a:80
"""


def write(tmp_path: Path, skip_from: str = "limits.yaml", limits: str = LIMITS) -> Path:
    (tmp_path / "limits.yaml").write_text(limits)
    path = tmp_path / "s.netprobe.yaml"
    path.write_text(SUITE.replace("SKIP_FROM", skip_from))
    return path


def load(path: Path) -> Suite:
    return load_suite(path, lambda message: None)


@pytest.mark.parametrize(
    ("names", "tagged", "untagged"),
    [
        (("kubernetes", "cilium"), "cilium matches no pod IP with ipBlock", None),
        (("kubernetes", "CILIUM"), "cilium matches no pod IP with ipBlock", None),
        (("kubernetes", "calico"), None, None),
        (("local",), None, None),
        ((), None, None),
    ],
)
def test_a_shared_rule_skips_tagged_expectations_on_its_backends_only(
    tmp_path: Path, names: tuple[str, ...], tagged: str | None, untagged: str | None
) -> None:
    suite = load(write(tmp_path))
    first, second = suite.expectations
    assert first.skip_reason(*names) == tagged
    assert second.skip_reason(*names) == untagged


def test_skip_from_takes_a_list_relative_to_the_suite(tmp_path: Path) -> None:
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "extra.yaml").write_text(
        "skip: [{reason: kindnet is slow, backends: [kindnet], tags: [ipblock-pod]}]\n"
    )
    suite = load(write(tmp_path, "[limits.yaml, more/extra.yaml]"))
    assert [s.reason for s in suite.settings.skips][-1] == "kindnet is slow"
    assert suite.expectations[0].skip_reason("kindnet") == "kindnet is slow"


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ("skip: [{reason: everything, tags: [x]}]\n", "names the backends (CNIs) and the tags"),
        ("skip: [{reason: everything, backends: [cilium]}]\n", "names the backends"),
        ("skip: [just a reason]\n", "names the backends"),
        ("- reason: a list\n", "a mapping with a 'skip:' list"),
        ("skip: [{reason: r, backends: [c], tags: [t]}]\nskips: []\n", "skips"),
        ("description: nothing\n", "skip"),
    ],
)
def test_bad_skip_files_are_located_errors(tmp_path: Path, limits: str, message: str) -> None:
    with pytest.raises(LocatedError) as caught:
        load(write(tmp_path, limits=limits))
    assert message in str(caught.value)
    assert "limits.yaml" in str(caught.value)


def test_a_missing_skip_file_points_at_the_suite_line(tmp_path: Path) -> None:
    with pytest.raises(LocatedError) as caught:
        load(write(tmp_path, "nowhere.yaml"))
    text = str(caught.value)
    assert "s.netprobe.yaml:5 settings.skipFrom" in text
    assert "no such skip file 'nowhere.yaml'" in text
    assert "relative to the suite file" in text


def test_the_static_check_has_skips_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "s.netprobe.yaml"
    path.write_text(
        SUITE.replace(
            "  skipFrom: SKIP_FROM\n",
            "  skip: [{reason: needs pod IPs, backends: [static], tags: [ipblock-pod]}]\n",
        )
    )
    suite = load(path)
    results = judge_suite(suite).results
    assert [r.skip for r in results] == ["needs pod IPs", None]
    assert suite.expectations[0].skip_reason("local") is None


SHOP = """\
pods:
  x/a: {labels: {pod: a}, ports: [80]}
  x/b: {labels: {pod: b}, ports: [80]}
policies:
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: deny, namespace: x}
    spec: {podSelector: {matchLabels: {pod: b}}}
settings:
  skipFrom: limits.yaml
expect:
  # a wrong expectation: only the CNI's skip keeps it from failing
  - allow: x/a -> x/b:80
    tags: [ipblock-pod]
  - allow: x/b -> x/a:80
"""


def run_on_fakes(argv: list[str]) -> int:
    """``netprobe run ARGV`` on fake backends whose clock never sleeps."""
    from netprobe.backends.fake import FakeBackend
    from netprobe.clock import FakeClock
    from netprobe.commands import run as run_command

    clock = FakeClock()
    args = cli.build_parser().parse_args(["run", *argv])
    return cli.guarded(
        lambda: run_command.execute(
            run_command.request_from(args),
            create=lambda name, options, **_: FakeBackend(name=name, clock=clock),
            clock=clock,
        )
    )


@pytest.mark.parametrize(
    ("args", "env", "code", "skipped"),
    [
        ([], {}, 1, 0),
        (["--cni", "calico"], {}, 1, 0),
        (["--cni", "Cilium"], {}, 0, 1),
        ([], {"NETPROBE_CNI": "cilium"}, 0, 1),
    ],
)
def test_run_with_cni_applies_its_skips_and_reports_them(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    env: dict[str, str],
    code: int,
    skipped: int,
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "limits.yaml").write_text(LIMITS)
    suite = tmp_path / "shop.netprobe.yaml"
    suite.write_text(SHOP)
    report = tmp_path / "out.json"
    assert run_on_fakes([str(suite), "--json", str(report), *args]) == code
    text = report.read_text()
    assert text.count('"skip": "cilium matches no pod IP with ipBlock"') == skipped
    capsys.readouterr()


def test_a_bad_cni_name_is_a_usage_error(tmp_path: Path) -> None:
    suite = tmp_path / "shop.netprobe.yaml"
    suite.write_text(SHOP.replace("  skipFrom: limits.yaml\n", "  tags: [t]\n"))
    assert cli.main(["run", str(suite), "--cni", "cil ium;rm"]) == 2


def test_json_report_that_cannot_be_written_is_a_usage_error(tmp_path: Path) -> None:
    suite = tmp_path / "shop.netprobe.yaml"
    suite.write_text(SHOP.replace("  skipFrom: limits.yaml\n", "  tags: [t]\n"))
    assert run_on_fakes([str(suite), "--json", str(tmp_path / "no" / "such" / "r.json")]) == 2
