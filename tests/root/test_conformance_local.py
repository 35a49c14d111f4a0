"""The conformance suites hold on the local dataplane (network namespaces + nftables),
where every expectation is probed, ipBlocks on pod IPs included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netprobe import cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.root
@pytest.mark.timeout(240)
def test_conformance_suites_pass_on_the_local_backend(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    code = cli.main(
        ["run", str(ROOT / "suites" / "conformance"), "--backend", "local", "--json", str(report)]
    )
    capsys.readouterr()
    document = json.loads(report.read_text())
    results = [r for suite in document["suites"] for r in suite["results"]]
    wrong = [(r["step"], r["id"], r["status"], r["observed"]) for r in results if r["violated"]]
    assert code == 0 and not wrong, wrong[:10]
    assert len(results) > 1000
    skipped = [r for r in results if r["skip"]]
    assert skipped and all(r["protocol"] == "SCTP" for r in skipped)
