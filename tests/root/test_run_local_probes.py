"""The probe script with the real OpenBSD nc, against real listeners and nftables rules in
a throwaway network namespace (root): every outcome the parser knows, as nc really prints
it. Traffic stays on the namespace's loopback."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from ipaddress import ip_address

import pytest

from netprobe.model import Protocol
from netprobe.probes import Outcome, Probe, parse_probe_output, probe_command

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(
        os.geteuid() != 0 or any(shutil.which(t) is None for t in ("ip", "nft", "nc")),
        reason="needs root, iproute2, nftables and netcat-openbsd",
    ),
]

SERVERS = """\
import socket, sys, threading
tcp = socket.socket(); tcp.bind(("127.0.0.1", 80)); tcp.listen(64)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(("127.0.0.1", 80))
mute = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); mute.bind(("127.0.0.1", 82))
def accept():
    while True:
        tcp.accept()[0].close()
def answer():
    while True:
        data, peer = udp.recvfrom(2048); udp.sendto(b"pong\\n", peer)
threading.Thread(target=accept, daemon=True).start()
threading.Thread(target=answer, daemon=True).start()
print("ready", flush=True)
sys.stdin.read()
"""

RULES = """\
table inet probe_test {
  chain out {
    type filter hook output priority 0;
    tcp dport 90 drop
    udp dport 90 drop
    tcp dport 91 reject with icmp type admin-prohibited
    tcp dport 92 reject with tcp reset
    tcp dport 95-98 drop
  }
}
"""

LOOPBACK = ip_address("127.0.0.1")

CASES = [
    (80, Protocol.TCP, Outcome.CONNECTED),
    (81, Protocol.TCP, Outcome.REFUSED),  # nothing listens
    (92, Protocol.TCP, Outcome.REFUSED),  # a TCP reset
    (90, Protocol.TCP, Outcome.TIMEOUT),  # dropped
    (91, Protocol.TCP, Outcome.TIMEOUT),  # rejected by the network (ICMP)
    (80, Protocol.UDP, Outcome.CONNECTED),  # the server replied
    (81, Protocol.UDP, Outcome.REFUSED),  # ICMP port unreachable
    (90, Protocol.UDP, Outcome.TIMEOUT),  # dropped
    (82, Protocol.UDP, Outcome.TIMEOUT),  # a server that never answers looks dropped
    *((port, Protocol.TCP, Outcome.TIMEOUT) for port in range(95, 99)),
]


@pytest.fixture(scope="module")
def netns() -> Iterator[str]:
    name = f"nptest-{secrets.token_hex(3)}"
    created = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if created.returncode != 0:
        pytest.skip(f"cannot create a network namespace: {created.stderr.strip()}")
    server = None
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        subprocess.run(
            ["ip", "netns", "exec", name, "nft", "-f", "-"], input=RULES, text=True, check=True
        )
        server = subprocess.Popen(
            ["ip", "netns", "exec", name, sys.executable, "-c", SERVERS],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        yield name
    finally:
        if server is not None:
            server.kill()
            server.communicate()
        subprocess.run(["ip", "netns", "del", name], check=False)


def test_every_outcome_from_real_nc_in_one_parallel_exec(netns: str) -> None:
    probes = [Probe(LOOPBACK, port, protocol) for port, protocol, _ in CASES]
    began = time.monotonic()
    done = subprocess.run(
        ["ip", "netns", "exec", netns, *probe_command(probes, 1.0)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    took = time.monotonic() - began
    results = parse_probe_output(probes, done.stdout, 1.0, stderr=done.stderr)
    got = {
        (p.port, p.protocol): (r.outcome, r.detail) for p, r in zip(probes, results, strict=True)
    }
    want = {(port, protocol): outcome for port, protocol, outcome in CASES}
    assert {key: outcome for key, (outcome, _) in got.items()} == want, got
    # 7 probes wait out the 1 s timeout: one after the other they would take 7 s.
    assert took < 4.0, f"{len(probes)} probes should run in parallel, took {took:.1f}s"


def test_missing_nc_in_the_pod_is_an_error_saying_so(netns: str) -> None:
    probes = [Probe(LOOPBACK, 80, Protocol.TCP)]
    argv = probe_command(probes, 1.0)
    done = subprocess.run(
        ["ip", "netns", "exec", netns, "env", "PATH=/nonexistent", "/bin/sh", *argv[1:]],
        capture_output=True,
        text=True,
        timeout=30,
    )
    (result,) = parse_probe_output(probes, done.stdout, 1.0)
    assert result.outcome is Outcome.ERROR and "nc not found" in result.detail
