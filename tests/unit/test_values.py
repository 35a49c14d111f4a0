"""The core values every layer shares: :class:`Port` (``8080/TCP``) and the port specs of
the command line (``80,81/UDP``)."""

from __future__ import annotations

import pytest

from netprobe.errors import InputError
from netprobe.model import Port, Protocol, is_port_number, port_number
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
