"""Parsing the probe script's markers: every nc output variant collected against real
listeners and nftables rules in a throwaway network namespace (OpenBSD nc, Debian 1.219),
plus what a missing nc, a cut-off exec or a lost transport look like."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from netprobe.model import Protocol
from netprobe.probes import Outcome, Probe, parse_probe_output

TCP = Probe(ip_address("10.0.0.2"), 80, Protocol.TCP)
UDP = Probe(ip_address("10.0.0.2"), 80, Protocol.UDP)
V6 = Probe(ip_address("fd00::2"), 80, Protocol.TCP)


def marker(rc: str, reply: str, t0: str, t1: str, err: str) -> str:
    return f"NETPROBE 0 rc={rc} reply={reply} t0={t0} t1={t1} err={err}\nNETPROBE_DONE\n"


# (case, probe, marker fields, outcome, words in the detail)
VARIANTS = [
    (
        "tcp connected",
        TCP,
        ("0", "0", "802.52", "802.52", "Connection to 10.0.0.2 80 port [tcp/*] succeeded!"),
        Outcome.CONNECTED,
        "succeeded",
    ),
    (
        "tcp no listener",
        TCP,
        (
            "1",
            "0",
            "802.52",
            "802.53",
            "nc: connect to 10.0.0.2 port 80 (tcp) failed: Connection refused",
        ),
        Outcome.REFUSED,
        "Connection refused",
    ),
    (
        "tcp reset by a firewall",
        TCP,
        (
            "1",
            "0",
            "1.00",
            "1.01",
            "nc: connect to 10.0.0.2 port 92 (tcp) failed: Connection refused",
        ),
        Outcome.REFUSED,
        "refused",
    ),
    (
        "tcp dropped",
        TCP,
        (
            "1",
            "0",
            "802.52",
            "803.53",
            "nc: connect to 10.0.0.2 port 80 (tcp) timed out: Operation now in progress",
        ),
        Outcome.TIMEOUT,
        "timed out",
    ),
    (
        "tcp rejected with icmp admin-prohibited",
        TCP,
        (
            "1",
            "0",
            "840.55",
            "840.57",
            "nc: connect to 10.0.0.2 port 91 (tcp) failed: No route to host",
        ),
        Outcome.TIMEOUT,
        "rejected by the network",
    ),
    (
        "tcp no route at all",
        TCP,
        (
            "1",
            "0",
            "802.53",
            "802.54",
            "nc: connect to 10.99.0.1 port 80 (tcp) failed: Network is unreachable",
        ),
        Outcome.ERROR,
        "Network is unreachable",
    ),
    (
        "tcp ipv6 refused",
        V6,
        (
            "1",
            "0",
            "840.56",
            "840.57",
            "nc: connect to fd00::2 port 80 (tcp) failed: Connection refused",
        ),
        Outcome.REFUSED,
        "refused",
    ),
    (
        "tcp quiet nc failing after the whole timeout",
        TCP,
        ("1", "0", "10.00", "11.00", ""),
        Outcome.TIMEOUT,
        "no answer within 1s",
    ),
    (
        "tcp quiet nc failing at once",
        TCP,
        ("1", "0", "10.00", "10.01", ""),
        Outcome.ERROR,
        "no message",
    ),
    ("udp reply", UDP, ("0", "4", "802.52", "802.54", ""), Outcome.CONNECTED, "4-byte reply"),
    (
        "udp port unreachable (no listener)",
        UDP,
        ("0", "0", "802.52", "802.54", ""),
        Outcome.REFUSED,
        "ICMP",
    ),
    ("udp dropped", UDP, ("0", "0", "802.52", "803.53", ""), Outcome.TIMEOUT, "no reply within 1s"),
    ("udp without timing", UDP, ("0", "0", "", "", ""), Outcome.TIMEOUT, "timing unknown"),
    (
        "udp no route",
        UDP,
        (
            "1",
            "0",
            "1.00",
            "1.01",
            "nc: connect to 10.99.0.1 port 80 (udp) failed: Network is unreachable",
        ),
        Outcome.ERROR,
        "unreachable",
    ),
    (
        "nc without -W (old build)",
        UDP,
        ("1", "0", "1.00", "1.00", "nc: invalid option -- 'W' usage: nc [-46CDdFhklNnrStUuvZz]"),
        Outcome.ERROR,
        "invalid option",
    ),
    (
        "BusyBox nc (no -v, no -u): refuses the options",
        TCP,
        (
            "1",
            "0",
            "2423.05",
            "2423.08",
            "nc: invalid option -- 'v' BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) "
            "multi-call binary. Usage: nc [-iN] [-wN] [-l] [-p PORT] [-f FILE|IPADDR PORT]",
        ),
        Outcome.ERROR,
        "invalid option -- 'v'",
    ),
    (
        "nc vanished between check and run",
        TCP,
        ("127", "0", "1.00", "1.00", "sh: 1: nc: not found"),
        Outcome.ERROR,
        "nc not found",
    ),
]


@pytest.mark.parametrize(
    ("probe", "fields", "outcome", "words"),
    [case[1:] for case in VARIANTS],
    ids=[case[0] for case in VARIANTS],
)
def test_nc_variant(probe: Probe, fields: tuple[str, ...], outcome: Outcome, words: str) -> None:
    (result,) = parse_probe_output([probe], marker(*fields), timeout=1.0)
    assert result.outcome is outcome
    assert words in result.detail


def test_udp_timing_threshold_scales_with_the_timeout() -> None:
    fast = marker("0", "0", "1.00", "2.10", "")
    (result,) = parse_probe_output([UDP], fast, timeout=3.0)
    assert result.outcome is Outcome.REFUSED
    (result,) = parse_probe_output([UDP], fast, timeout=2.0)
    assert result.outcome is Outcome.TIMEOUT


def test_markers_are_matched_by_index_whatever_their_order() -> None:
    out = (
        "NETPROBE 1 rc=0 reply=5 t0=1.00 t1=1.01 err=\n"
        "NETPROBE 0 rc=1 reply=0 t0=1.00 t1=1.01 err=nc: connect to 10.0.0.2 port 80 (tcp) "
        "failed: Connection refused\nNETPROBE_DONE\n"
    )
    tcp, udp = parse_probe_output([TCP, UDP], out, timeout=1.0)
    assert (tcp.outcome, udp.outcome) == (Outcome.REFUSED, Outcome.CONNECTED)
    assert udp.elapsed == pytest.approx(0.01)


def test_missing_nc_makes_every_probe_an_error_saying_so() -> None:
    results = parse_probe_output([TCP, UDP], "NETPROBE_NO_NC\nNETPROBE_DONE\n", timeout=1.0)
    assert [r.outcome for r in results] == [Outcome.ERROR, Outcome.ERROR]
    assert all(r.detail == "nc not found in the pod" for r in results)


@pytest.mark.parametrize(
    ("stdout", "kwargs", "words"),
    [
        ("", {"timed_out": True, "stderr": "killed"}, "deadline"),
        ("NETPROBE_DONE\n", {}, "printed no result"),
        ("", {"exit_code": 126, "stderr": "OCI runtime exec failed"}, "exit code 126"),
    ],
    ids=["exec deadline", "marker lost", "exec failed"],
)
def test_missing_marker_is_an_error_with_what_the_exec_said(
    stdout: str, kwargs: dict[str, object], words: str
) -> None:
    (result,) = parse_probe_output([TCP], stdout, 1.0, **kwargs)  # type: ignore[arg-type]
    assert result.outcome is Outcome.ERROR
    assert words in result.detail
    if "stderr" in kwargs:
        assert str(kwargs["stderr"]) in result.detail


def test_exec_exit_code_alone_never_decides() -> None:
    (result,) = parse_probe_output([TCP], "", 1.0, exit_code=0)
    assert result.outcome is Outcome.ERROR


def test_noise_around_markers_is_ignored() -> None:
    out = "motd\r\n" + marker(
        "0", "0", "1", "1", "Connection to 10.0.0.2 80 port [tcp/*] succeeded!"
    )
    (result,) = parse_probe_output([TCP], out.replace("\n", "\r\n"), 1.0)
    assert result.outcome is Outcome.CONNECTED
