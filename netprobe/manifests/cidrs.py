"""``ipBlock`` peers: CIDRs parsed as the API server parses them.

A CIDR needs an address and a prefix length (``10.0.0.0/8``, ``2001:db8::/32``); a bare
address or a netmask is rejected. Host bits (``10.1.0.1/4``) are masked with a warning, as
API servers before strict CIDR validation did. Each ``except`` entry must be strictly inside
``cidr`` and of the same IP family (networking ``ValidateIPBlock``).
"""

from __future__ import annotations

import re
from ipaddress import ip_address, ip_network

from netprobe.documents import Field
from netprobe.manifests.notes import Warn, warn_at
from netprobe.model import IPBlock, IPNetwork

_CIDR = re.compile(r"([0-9A-Fa-f.:]+)/([0-9]{1,3})")
_CIDR_HINT = "write an address and a prefix length, e.g. 10.0.0.0/8 or 2001:db8::/32"


def parse_ip_block(field: Field, warn: Warn) -> IPBlock:
    """One ``ipBlock``: ``cidr`` and optional ``except`` entries strictly inside it."""
    field.check_keys(("cidr", "except"))
    cidr_field = field.require("cidr")
    cidr = parse_cidr(cidr_field, warn)
    excepts: list[IPNetwork] = []
    declared_except: list[str] = []
    except_field = field.get("except")
    for item in except_field.elements() if except_field else ():
        excluded = parse_cidr(item, warn)
        if excluded.version != cidr.version:
            item.fail(
                f"except {item.value} is IPv{excluded.version} but cidr {cidr_field.value} "
                f"is IPv{cidr.version}",
                hint="an except entry must be of the same IP family as cidr",
            )
        if excluded.prefixlen <= cidr.prefixlen or excluded.network_address not in cidr:
            item.fail(
                f"except {item.value} is not strictly inside cidr {cidr_field.value}",
                hint="each except entry must be a smaller block inside cidr",
            )
        excepts.append(excluded)
        declared_except.append(item.value)
    return IPBlock(
        cidr=cidr,
        except_=tuple(excepts),
        declared=cidr_field.value,
        declared_except=tuple(declared_except),
    )


def parse_cidr(field: Field, warn: Warn) -> IPNetwork:
    """An IPv4 or IPv6 CIDR; host bits are masked with a warning."""
    text = field.as_str()
    if not text:
        field.fail("a CIDR is required", hint=_CIDR_HINT)
    match = _CIDR.fullmatch(text)
    if not match:
        field.fail(f"'{text}' is not a valid CIDR", hint=_CIDR_HINT)
    try:
        address = ip_address(match.group(1))
    except ValueError:
        field.fail(
            f"'{text}' is not a valid CIDR: '{match.group(1)}' is not an IPv4 or IPv6 address",
            hint=_CIDR_HINT,
        )
    prefix = int(match.group(2))
    if prefix > address.max_prefixlen:
        field.fail(
            f"'{text}' is not a valid CIDR: the prefix length of an IPv{address.version} "
            f"CIDR is at most {address.max_prefixlen}",
            hint=_CIDR_HINT,
        )
    network = ip_network((address, prefix), strict=False)
    if address != network.network_address:
        warn_at(
            warn,
            field.location,
            f"{text} has host bits set; using {network}, as older API servers did "
            f"(write {network} to silence this warning)",
        )
    return network
