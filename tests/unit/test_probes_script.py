"""The probe script itself, run by a real ``sh`` with a stand-in ``nc`` on PATH: what nc
is asked to do, that probes run in parallel, and that what nc prints reaches the markers
intact. No network is used."""

from __future__ import annotations

import shutil
import subprocess
from ipaddress import ip_address
from pathlib import Path

import pytest

from netprobe.model import Protocol
from netprobe.probes import (
    PARALLEL_LIMIT,
    Outcome,
    Probe,
    exec_timeout,
    parse_probe_output,
    probe_command,
    probe_script,
)

pytestmark = pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX sh")

FAKE_NC = r"""#!/bin/sh
# Stand-in nc: logs its argv and stdin, then behaves according to the port.
echo "$*" >> "$NCLOG"
case "$*" in *-u*) read -r line; echo "stdin=$line" >> "$NCLOG";; esac
eval "last=\${$#}"
case "$last" in
  80) echo "Connection to x 80 port [tcp/*] succeeded!" >&2; exit 0;;
  81) printf 'nc: connect failed:\nConnection refused\n' >&2; exit 1;;
  53) echo pong; exit 0;;
  7) i=0; while [ ! -e "$NCDIR/eight" ] && [ $i -lt 200 ]; do i=$((i+1)); sleep 0.01; done
     [ -e "$NCDIR/eight" ] && exit 0; echo "nc: connect timed out" >&2; exit 1;;
  8) : > "$NCDIR/eight"; exit 0;;
esac
exit 1
"""


def run_script(
    tmp_path: Path, probes: list[Probe], with_nc: bool = True, shell: str = "sh"
) -> tuple[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if with_nc:
        nc = bin_dir / "nc"
        nc.write_text(FAKE_NC)
        nc.chmod(0o755)
    for tool in ("sh", "sleep", "cat"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    log = tmp_path / "nc.log"
    env = {"PATH": str(bin_dir), "NCLOG": str(log), "NCDIR": str(tmp_path)}
    done = subprocess.run(
        probe_command(probes, 1.0),
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=30,
    )
    return done.stdout, log.read_text() if log.exists() else ""


def at(port: int, protocol: Protocol = Protocol.TCP, ip: str = "10.0.0.2") -> Probe:
    return Probe(ip_address(ip), port, protocol)


def test_nc_is_asked_for_tcp_connect_and_udp_request_response(tmp_path: Path) -> None:
    probes = [at(80), at(53, Protocol.UDP), at(80, ip="fd00::2")]
    stdout, log = run_script(tmp_path, probes)
    assert "-vn -z -w 1 10.0.0.2 80" in log
    assert "-un -W 1 -w 1 10.0.0.2 53" in log and "stdin=netprobe" in log
    assert "-vn -z -w 1 fd00::2 80" in log
    assert "-zu" not in log and "-uz" not in log  # never a UDP "scan": it always succeeds
    results = parse_probe_output(probes, stdout, 1.0)
    assert [r.outcome for r in results] == [Outcome.CONNECTED] * 3
    assert stdout.rstrip().endswith("NETPROBE_DONE")


def test_stderr_reaches_the_marker_on_one_line_and_unglobbed(tmp_path: Path) -> None:
    (tmp_path / "tcp").mkdir()  # a glob like [tcp/*] must not expand to files here
    stdout, _ = run_script(tmp_path, [at(81), at(80)])
    refused, connected = parse_probe_output([at(81), at(80)], stdout, 1.0)
    assert refused.outcome is Outcome.REFUSED
    assert refused.detail == "nc: connect failed: Connection refused"
    assert "[tcp/*]" in connected.detail


def test_probes_of_one_source_run_in_parallel(tmp_path: Path) -> None:
    # Port 7's nc only succeeds once port 8's nc has run: impossible if run one by one.
    stdout, _ = run_script(tmp_path, [at(7), at(8)])
    first, second = parse_probe_output([at(7), at(8)], stdout, 1.0)
    assert first.outcome is Outcome.CONNECTED, first.detail
    assert second.outcome is Outcome.CONNECTED


def test_missing_nc_is_reported_for_every_probe(tmp_path: Path) -> None:
    stdout, _ = run_script(tmp_path, [at(80), at(53, Protocol.UDP)], with_nc=False)
    results = parse_probe_output([at(80), at(53, Protocol.UDP)], stdout, 1.0)
    assert all(r.outcome is Outcome.ERROR and "nc not found" in r.detail for r in results)


def test_script_holds_only_addresses_and_numbers() -> None:
    script = probe_script([at(80), at(443, Protocol.UDP, "fd00::0:2")], 2.5)
    probe_lines = [line for line in script.splitlines() if line.startswith("np ")]
    assert probe_lines == ["np 0 tcp 10.0.0.2 80 &", "np 1 udp fd00::2 443 &"]
    assert "-w 3" in script  # nc takes whole seconds: rounded up


def test_sctp_is_an_error_saying_why_not_a_false_result(tmp_path: Path) -> None:
    stdout, log = run_script(tmp_path, [at(9, Protocol.SCTP), at(80)])
    sctp, tcp = parse_probe_output([at(9, Protocol.SCTP), at(80)], stdout, 1.0)
    assert sctp.outcome is Outcome.ERROR and "cannot speak SCTP" in sctp.detail
    assert tcp.outcome is Outcome.CONNECTED
    assert " 9" not in log  # nc was never asked


def test_many_probes_run_in_waves_with_a_deadline_to_match() -> None:
    probes = [at(1 + i) for i in range(PARALLEL_LIMIT + 1)]
    lines = probe_script(probes, 1.0).splitlines()
    assert lines.count("wait") == 2  # one between the waves, one at the end
    assert exec_timeout(1.0, len(probes)) == exec_timeout(1.0, 1) + 1


@pytest.mark.skipif(shutil.which("busybox") is None, reason="needs busybox")
def test_the_script_runs_under_busybox_ash_as_in_agnhost(tmp_path: Path) -> None:
    busybox = shutil.which("busybox")
    assert busybox is not None
    probes = [at(80), at(81), at(53, Protocol.UDP), at(7), at(8)]
    stdout, _ = run_script(tmp_path, probes, shell=busybox)
    outcomes = [r.outcome for r in parse_probe_output(probes, stdout, 1.0)]
    assert outcomes == [Outcome.CONNECTED, Outcome.REFUSED] + [Outcome.CONNECTED] * 3
