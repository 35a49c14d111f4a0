"""The probe script itself, run by a real ``sh`` with a stand-in ``nc`` on PATH: what nc
is asked to do, that probes run in parallel, and that what nc prints reaches the markers
intact. No network is used."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
from collections.abc import Sequence
from ipaddress import ip_address
from pathlib import Path

import pytest
from stand_in_nc import NC_1_130, probe_path

from netprobe.backends.base import ExecResult
from netprobe.errors import BackendError
from netprobe.model import PodRef, Protocol
from netprobe.probes import (
    PARALLEL_LIMIT,
    PROBE_START,
    UDP_PAYLOAD,
    Outcome,
    Probe,
    exec_timeout,
    nc_lacks,
    nc_lacks_reason,
    parse_probe_output,
    probe_command,
    probe_script,
)
from netprobe.run.engine import probe_round

pytestmark = pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX sh")

FAKE_NC = r"""#!/bin/sh
# Stand-in nc: answers -h like OpenBSD netcat 1.219 (abridged), logs its argv and stdin,
# then behaves according to the port.
case "$1" in -h) echo 'usage: nc [-46CDdFhklNnrStUuvZz] [-W recvlimit] [-w timeout]'; exit 0;; esac
echo "$*" >> "$NCLOG"
case "$*" in *-u*) echo "stdin=$(/usr/bin/od -An -tx1 | /usr/bin/tr -d ' \n')" >> "$NCLOG";; esac
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


# Stand-in for Alpine 3.16's netcat-openbsd 1.130 (the nc of agnhost 2.52): its getopt
# string has no W (``$OpenBSD: netcat.c,v 1.130``: "46DdEe:FhI:i:klNnoO:P:p:rSs:tT:UuV:vw:X:x:z"),
# so -W is a usage error, as musl's getopt words it; TCP probes work.


def run_script(
    tmp_path: Path,
    probes: list[Probe],
    with_nc: bool = True,
    shell: str = "sh",
    nc_text: str = FAKE_NC,
) -> tuple[str, str]:
    env = probe_path(tmp_path / "bin", nc_text if with_nc else None)
    log = Path(env["NCLOG"])
    env["NCDIR"] = str(tmp_path)
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
    assert "-un -W 1 -w 1 10.0.0.2 53" in log
    assert f"stdin={UDP_PAYLOAD.hex()}" in log  # a DNS header: DNS servers answer it
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
    assert exec_timeout(1.0, len(probes)) == pytest.approx(
        exec_timeout(1.0, 1) + 1 + PARALLEL_LIMIT * PROBE_START
    )


@pytest.mark.skipif(shutil.which("busybox") is None, reason="needs busybox")
def test_the_script_runs_under_busybox_ash_as_in_agnhost(tmp_path: Path) -> None:
    busybox = shutil.which("busybox")
    assert busybox is not None
    probes = [at(80), at(81), at(53, Protocol.UDP), at(7), at(8)]
    stdout, _ = run_script(tmp_path, probes, shell=busybox)
    outcomes = [r.outcome for r in parse_probe_output(probes, stdout, 1.0)]
    assert outcomes == [Outcome.CONNECTED, Outcome.REFUSED] + [Outcome.CONNECTED] * 3


def test_an_nc_without_minus_w_stops_udp_probing_with_one_marker(tmp_path: Path) -> None:
    # As agnhost 2.52 (Alpine 3.16, netcat-openbsd 1.130): every UDP probe would exit with
    # a usage error. The script finds out once, from nc -h, and runs no probe at all.
    probes = [at(53, Protocol.UDP), at(54, Protocol.UDP), at(80)]
    stdout, log = run_script(tmp_path, probes, nc_text=NC_1_130)
    assert stdout.splitlines() == ["NETPROBE_NC_LACKS -W", "NETPROBE_DONE"]
    assert log == ""  # nc was asked for its help only: no probe, no packet
    assert nc_lacks(stdout) == ("-W",)
    results = parse_probe_output(probes, stdout, 1.0)
    assert {r.detail for r in results} == {nc_lacks_reason(("-W",))}
    assert results[0].detail.startswith("its nc has no -W (-W: UDP probes need it")
    assert "1.130" in results[0].detail


def test_tcp_probes_need_no_check_and_run_on_nc_1_130(tmp_path: Path) -> None:
    assert "nc -h" not in probe_script([at(80)], 1.0)
    stdout, log = run_script(tmp_path, [at(80)], nc_text=NC_1_130)
    (result,) = parse_probe_output([at(80)], stdout, 1.0)
    assert result.outcome is Outcome.CONNECTED
    assert "-vn -z -w 1 10.0.0.2 80" in log


def test_the_stand_in_1_130_fails_as_the_real_one_would_without_the_check(
    tmp_path: Path,
) -> None:
    # What the check prevents: the bare UDP command is a usage error on 1.130.
    nc = tmp_path / "nc"
    nc.write_text(NC_1_130)
    nc.chmod(0o755)
    done = subprocess.run(
        [str(nc), "-un", "-W", "1", "-w", "1", "10.0.0.2", "53"],
        capture_output=True,
        text=True,
        env={"NCLOG": str(tmp_path / "log"), "PATH": "/usr/bin:/bin"},
        timeout=10,
    )
    assert done.returncode == 1 and "unrecognized option: W" in done.stderr


def test_an_engine_round_on_nc_1_130_is_one_backend_error_naming_the_image(
    tmp_path: Path,
) -> None:
    env = probe_path(tmp_path / "bin", NC_1_130)

    class RealSh:
        name = "stand-in"
        execs = 0

        def exec(self, pod: PodRef, argv: Sequence[str], timeout: float) -> ExecResult:
            self.execs += 1
            done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=30)
            return ExecResult(done.returncode, done.stdout, done.stderr)

        def nc_origin(self, pod: PodRef) -> str:
            return f"the probe image old/agnhost:2.52 (pod {pod})"

    backend = RealSh()
    batches = {
        PodRef("x", "a"): [at(53, Protocol.UDP), at(80)],
        PodRef("x", "b"): [at(53, Protocol.UDP)],
    }
    with pytest.raises(BackendError) as raised:
        probe_round(backend, batches, 1.0, workers=1)  # type: ignore[arg-type]
    message = str(raised.value)
    assert message.startswith("cannot probe with the probe image old/agnhost:2.52 (pod x/")
    assert "its nc has no -W" in message
    assert raised.value.exit_code == 3
    assert not Path(env["NCLOG"]).exists()  # no probe ran


DEBIAN_NC = shutil.which("nc")


def _is_openbsd_nc(path: str | None) -> bool:
    if path is None:
        return False
    done = subprocess.run([path, "-h"], capture_output=True, text=True, timeout=10)
    return "OpenBSD netcat" in done.stdout + done.stderr


@pytest.mark.skipif(not _is_openbsd_nc(DEBIAN_NC), reason="needs OpenBSD nc (netcat-openbsd)")
def test_debians_real_nc_passes_the_check_and_gets_a_udp_reply(tmp_path: Path) -> None:
    # Loopback only: a UDP echo server on 127.0.0.1, Debian's nc (1.219 on bookworm).
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(10)
    port = server.getsockname()[1]

    def echo() -> None:
        with contextlib.suppress(OSError):
            data, peer = server.recvfrom(2048)
            server.sendto(b"pong " + data, peer)

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    try:
        probes = [Probe(ip_address("127.0.0.1"), port, Protocol.UDP)]
        done = subprocess.run(
            probe_command(probes, 2.0), capture_output=True, text=True, timeout=30
        )
    finally:
        thread.join(timeout=10)
        server.close()
    assert "NETPROBE_NC_LACKS" not in done.stdout
    (result,) = parse_probe_output(probes, done.stdout, 2.0, stderr=done.stderr)
    assert result.outcome is Outcome.CONNECTED, result.detail
    assert result.elapsed is not None and result.elapsed < 1.5  # -W 1: no wait for -w
