"""The core values every layer shares: :class:`Port` (``8080/TCP``), the port specs of the
command line (``80,81/UDP``) and :class:`Endpoint` (``prod/db:5432/TCP``,
``[2001:db8::1]:443/TCP``)."""

from __future__ import annotations

import re
from ipaddress import ip_address

import pytest

from netprobe.errors import InputError
from netprobe.model import (
    Connection,
    Endpoint,
    EndpointSyntaxError,
    PodRef,
    Port,
    Protocol,
    is_port_number,
    port_number,
)
from netprobe.ports import parse_port_spec


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("80", (Port(80, Protocol.TCP),)),
        (
            "80,81/UDP,5432",
            (Port(80, Protocol.TCP), Port(81, Protocol.UDP), Port(5432, Protocol.TCP)),
        ),
        (" 53/udp , 53/tcp ,53", (Port(53, Protocol.UDP), Port(53, Protocol.TCP))),
        ("9999/SCTP", (Port(9999, Protocol.SCTP),)),
        ("1,65535", (Port(1, Protocol.TCP), Port(65535, Protocol.TCP))),
    ],
)
def test_port_spec(spec: str, expected: tuple[Port, ...]) -> None:
    assert parse_port_spec(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("0", "from 1 to 65535"),
        ("65536", "from 1 to 65535"),
        ("http", "from 1 to 65535"),
        ("80/ICMP", "TCP, UDP, SCTP"),
        ("-1", "from 1 to 65535"),
    ],
)
def test_bad_port_spec(spec: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_port_spec(spec)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("80", 80),
        (" 0080 ", 80),
        ("0", 0),
        ("99999", 99999),
        ("", None),
        ("http", None),
        ("5432²", None),
        ("²", None),
        ("-1", None),
        ("8 0", None),
    ],
)
def test_port_number_reads_ascii_digits_only(text: str, expected: int | None) -> None:
    assert port_number(text) == expected


def test_port_numbers_are_1_to_65535() -> None:
    assert [is_port_number(n) for n in (0, 1, 65535, 65536)] == [False, True, True, False]


def test_a_port_is_written_number_slash_protocol_and_read_back() -> None:
    for port in (Port(80), Port(53, Protocol.UDP), Port(65535, Protocol.SCTP)):
        assert Port.parse(str(port)) == port
    assert str(Port(8080)) == "8080/TCP"
    assert Port.parse(" 53/udp ") == Port(53, Protocol.UDP)


@pytest.mark.parametrize("number", [0, 65536, -1, True, 80.0])
def test_a_port_out_of_range_is_no_port(number: object) -> None:
    with pytest.raises(ValueError, match="1-65535"):
        Port(number)  # type: ignore[arg-type]


def test_ports_order_as_number_then_protocol() -> None:
    assert sorted([Port(81), Port(80, Protocol.UDP), Port(80)]) == [
        Port(80),
        Port(80, Protocol.UDP),
        Port(81),
    ]


V6, V4, DB = ip_address("2001:db8::1"), ip_address("10.0.0.5"), PodRef("prod", "db")


@pytest.mark.parametrize(
    ("endpoint", "text"),
    [
        (Endpoint(DB, Port(5432)), "prod/db:5432/TCP"),
        (Endpoint(V4, Port(53, Protocol.UDP)), "10.0.0.5:53/UDP"),
        (Endpoint(V6, Port(443)), "[2001:db8::1]:443/TCP"),
        (Endpoint(ip_address("::ffff:10.0.0.1"), Port(80)), "[::ffff:a00:1]:80/TCP"),
    ],
)
def test_an_endpoint_is_written_as_suites_write_it_and_read_back(
    endpoint: Endpoint, text: str
) -> None:
    assert str(endpoint) == text
    assert Endpoint.parse(text) == endpoint
    port = endpoint.port
    assert (
        Connection(PodRef("a", "b"), endpoint.host, port.number, port.protocol).target == endpoint
    )


def test_connections_probes_and_expectations_write_their_destination_as_an_endpoint() -> None:
    from netprobe.errors import Location
    from netprobe.probes import Probe
    from netprobe.suite.model import Expectation

    named = Expectation(DB, V6, 443, Protocol.TCP, True, Location("s.yaml", 1), port_name="https")
    assert named.id == "allow prod/db -> [2001:db8::1]:https(443)/TCP"
    assert str(Connection(DB, V6, 443)) == "prod/db -> [2001:db8::1]:443/TCP"
    assert str(Connection(V6, DB, 5432)) == "2001:db8::1 -> prod/db:5432/TCP"
    assert str(Probe(V6, 53, Protocol.UDP)) == "[2001:db8::1]:53/UDP"
    assert str(Probe(V4, 80, Protocol.TCP)) == "10.0.0.5:80/TCP"


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("prod/db", ("prod/db", None)),
        ("prod/db:5432,53/UDP", ("prod/db", "5432,53/UDP")),
        ("10.0.0.5:80", ("10.0.0.5", "80")),
        ("[2001:db8::1]:80", ("2001:db8::1", "80")),
        ("[2001:db8::1]", ("2001:db8::1", None)),
        ("[2001:db8::1]:", ("2001:db8::1", "")),
        ("[2001:db8::/64]:443", ("2001:db8::/64", "443")),
    ],
)
def test_split_takes_the_port_off_after_the_brackets(
    text: str, parts: tuple[str, str | None]
) -> None:
    assert Endpoint.split(text) == parts


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("[2001:db8::1:80", "is not of the form '[IPv6]:PORT'", None),
        ("[2001:db8::1]80", "is not of the form '[IPv6]:PORT'", None),
        ("2001:db8::1:80", "cannot tell the address from the port", "in brackets"),
        ("10.0.0.5:", "ends with ':' but names no port", None),
    ],
)
def test_split_says_what_is_wrong(text: str, message: str, hint: str | None) -> None:
    with pytest.raises(EndpointSyntaxError, match=re.escape(message)) as caught:
        Endpoint.split(text)
    assert (hint is None) == (caught.value.hint is None)
    if hint is not None:
        assert hint in str(caught.value.hint)


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("prod/db", DB),
        (" prod/db ", DB),
        ("10.0.0.5", V4),
        ("[2001:db8::1]", V6),
        ("2001:db8::1", V6),
    ],
)
def test_a_host_is_a_pod_or_an_address_ipv6_maybe_in_brackets(text: str, host: object) -> None:
    assert Endpoint.parse_host(text, "TO") == host


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10.0.0.0/8", "TO '10.0.0.0/8' is a CIDR: give one address of it"),
        ("[2001:db8::/64]", "TO '[2001:db8::/64]' is a CIDR"),
        ("db", "TO 'db': expected namespace/pod"),
        ("a/b/c", "TO 'a/b/c': expected namespace/pod"),
    ],
)
def test_a_host_that_is_not_one_says_so(text: str, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        Endpoint.parse_host(text, "TO")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("prod/db", "names no port"),
        ("prod/db:99999", "from 1 to 65535"),
        ("2001:db8::1:80", "brackets"),
    ],
)
def test_an_endpoint_needs_a_host_and_one_port(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Endpoint.parse(text)
