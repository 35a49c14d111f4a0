"""``expect:`` entries — compact, structured and matrix forms — parsed into statements.

A :class:`Statement` says "these sources to these destinations on these ports are allowed
(or denied)" with every part still a spec: the pods a selector means depend on the labels
at the step being checked, which :mod:`netprobe.suite.expand` resolves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from netprobe.documents import Field
from netprobe.errors import Location
from netprobe.model import Endpoint, EndpointSyntaxError
from netprobe.suite.endpoints import (
    EndpointSpec,
    PodPattern,
    PortSpec,
    parse_endpoint,
    parse_port_field,
    parse_ports,
    parse_protocol,
    parse_selector,
)
from netprobe.suite.model import Skip
from netprobe.suite.names import parse_tags
from netprobe.suite.settings import parse_skips

ALL_PORTS = "*"
"""``PortSpec.port`` meaning every port the destination pod declares."""

_ARROW = re.compile(r"^(?P<source>.*?)\s*->\s*(?P<destination>.*)$")
_VERBS = ("allow", "deny", "matrix")
_CELLS = {"a": True, "allow": True, "d": False, "deny": False, ".": None, "-": None}


@dataclass(frozen=True, slots=True)
class Statement:
    """One allow/deny statement of a suite, before expansion."""

    source: EndpointSpec
    destination: EndpointSpec
    ports: tuple[PortSpec, ...]
    allowed: bool
    location: Location
    """The entry (or matrix cell) the statement came from."""
    source_location: Location
    destination_location: Location
    port_location: Location
    tags: tuple[str, ...] = ()
    skips: tuple[Skip, ...] = ()
    explicit: bool = False
    """Both ends name one pod (or address) each; see :mod:`netprobe.suite.expand`."""


def parse_entries(field: Field) -> tuple[Statement, ...]:
    """Every statement of an ``expect:`` list, in order."""
    statements: list[Statement] = []
    for entry in field.elements():
        statements.extend(parse_entry(entry))
    return tuple(statements)


def parse_entry(entry: Field) -> list[Statement]:
    if isinstance(entry.value, str):
        entry.fail(
            "an expectation needs a verb",
            hint=f"write 'allow: {entry.value}' or 'deny: {entry.value}'",
        )
    entry.check_keys([*_VERBS, "tags", "skip"])
    verbs = [verb for verb in _VERBS if entry.has(verb)]
    if len(verbs) != 1:
        entry.fail(
            "an expectation has exactly one of 'allow', 'deny' or 'matrix'"
            + (f", found {' and '.join(verbs)}" if verbs else "")
        )
    tags_field = entry.get("tags")
    skip_field = entry.get("skip")
    tags = parse_tags(tags_field) if tags_field else ()
    skips = parse_skips(skip_field) if skip_field else ()
    body = entry.get(verbs[0])
    if body is None:
        entry.fail(
            f"'{verbs[0]}' is empty",
            hint="e.g. allow: frontend/web -> database/db:5432"
            if verbs[0] != "matrix"
            else "give the matrix 'to' columns and 'from' rows",
        )
    if verbs[0] == "matrix":
        return _parse_matrix(body, tags, skips)
    allowed = verbs[0] == "allow"
    if isinstance(body.value, str):
        return [_parse_compact(body, allowed, tags, skips)]
    return [_parse_structured(body, allowed, tags, skips)]


def _parse_compact(
    field: Field, allowed: bool, tags: tuple[str, ...], skips: tuple[Skip, ...]
) -> Statement:
    """``SOURCE -> DESTINATION[:PORTS]``."""
    match = _ARROW.match(field.as_str().strip())
    if not match:
        field.fail(
            f"'{field.value}' is not of the form 'SOURCE -> DESTINATION:PORT'",
            hint="e.g. frontend/web -> database/db:5432/TCP",
        )
    from_field = _sub(field, "from", match["source"])
    to_field = _sub(field, "to")
    port_field = _sub(field, "port")
    destination_text, ports_text = _split_port(match["destination"], to_field)
    source = parse_endpoint(match["source"], from_field)
    destination = parse_endpoint(destination_text, _sub(field, "to", destination_text))
    ports = parse_ports(ports_text, port_field) if ports_text else (PortSpec(ALL_PORTS),)
    return _statement(source, destination, ports, allowed, field, tags, skips)


def _parse_structured(
    field: Field, allowed: bool, tags: tuple[str, ...], skips: tuple[Skip, ...]
) -> Statement:
    """``{from, to, port, protocol}``."""
    field.check_keys(["from", "to", "port", "protocol"])
    source = _endpoint(field.require("from"))
    destination = _endpoint(field.require("to"))
    ports = _ports(field)
    return _statement(source, destination, ports, allowed, field, tags, skips)


def _parse_matrix(field: Field, tags: tuple[str, ...], skips: tuple[Skip, ...]) -> list[Statement]:
    """``{to: [...], from: {ROW: "A D -", ...}, port, protocol}``: one cell per pair."""
    field.check_keys(["from", "to", "port", "protocol"])
    columns = [(_endpoint(column), column) for column in field.require("to").elements()]
    if not columns:
        field.require("to").fail("a matrix needs at least one destination column")
    ports = _ports(field)
    statements = []
    for row_text, row in field.require("from").items():
        source = parse_endpoint(row_text, row)
        cells = row.as_str().split() if isinstance(row.value, str) else None
        if cells is None:
            cells = [cell.as_str() for cell in row.elements()]
        if len(cells) != len(columns):
            row.fail(
                f"this row has {len(cells)} cells but the matrix has {len(columns)} "
                f"destination columns ({', '.join(str(c.value) for _, c in columns)})"
            )
        for index, cell in enumerate(cells):
            if cell.lower() not in _CELLS:
                row.fail(
                    f"cell {index + 1} is '{cell}'",
                    hint="use A (allow), D (deny) or . (not checked)",
                )
            allowed = _CELLS[cell.lower()]
            if allowed is None:
                continue
            destination, column = columns[index]
            location = row.location.child(index)
            statements.append(
                Statement(
                    source=source,
                    destination=destination,
                    ports=ports,
                    allowed=allowed,
                    location=location,
                    source_location=row.location,
                    destination_location=column.location,
                    port_location=(field.get("port") or field).location,
                    tags=tags,
                    skips=skips,
                    explicit=_explicit(source, destination),
                )
            )
    return statements


def _statement(
    source: EndpointSpec,
    destination: EndpointSpec,
    ports: tuple[PortSpec, ...],
    allowed: bool,
    field: Field,
    tags: tuple[str, ...],
    skips: tuple[Skip, ...],
) -> Statement:
    structured = isinstance(field.value, dict)
    return Statement(
        source=source,
        destination=destination,
        ports=ports,
        allowed=allowed,
        location=field.location,
        source_location=(field.require("from") if structured else _sub(field, "from")).location,
        destination_location=(field.require("to") if structured else _sub(field, "to")).location,
        port_location=((field.get("port") if structured else None) or _sub(field, "port")).location,
        tags=tags,
        skips=skips,
        explicit=_explicit(source, destination),
    )


def _explicit(source: EndpointSpec, destination: EndpointSpec) -> bool:
    def one(spec: EndpointSpec) -> bool:
        return not isinstance(spec, PodPattern) or spec.exact is not None

    return one(source) and one(destination)


def _endpoint(field: Field) -> EndpointSpec:
    if isinstance(field.value, dict):
        return parse_selector(field)
    return parse_endpoint(field.as_str(), field)


def _ports(field: Field) -> tuple[PortSpec, ...]:
    port_field = field.get("port")
    protocol_field = field.get("protocol")
    protocol = parse_protocol(protocol_field.as_str(), protocol_field) if protocol_field else None
    specs = parse_port_field(port_field) if port_field else (PortSpec(ALL_PORTS),)
    if protocol is None:
        return specs
    for spec in specs:
        if spec.protocol not in (None, protocol):
            assert protocol_field is not None
            protocol_field.fail(
                f"protocol {protocol} contradicts port '{spec.port}/{spec.protocol}'",
                hint="drop one of them",
            )
    return tuple(PortSpec(spec.port, protocol) for spec in specs)


def _split_port(text: str, field: Field) -> tuple[str, str | None]:
    """``host:ports`` -> (host, ports) as :meth:`Endpoint.split` reads it (IPv6 addresses go
    in brackets: ``[2001:db8::1]:80``)."""
    try:
        return Endpoint.split(text.strip())
    except EndpointSyntaxError as exc:
        field.fail(str(exc), exc.hint)


def _sub(field: Field, name: str, value: object = None) -> Field:
    """A pseudo-field for one part of a compact string, so that errors name the same path
    as in the structured form (``expect[3].allow.to``)."""
    return Field(field.value if value is None else value, field.location.child(name))
