"""Expanding statements into concrete expectations against the state at one step.

Selectors and wildcards choose pods by the labels they have *at that step* (a relabel step
changes what they mean); named ports resolve on each destination pod; a CIDR becomes its
representative address. Rules (docs/suites.md, "How entries expand"):

- a selector or wildcard never pairs a pod with itself (a pod always reaches itself);
- when several statements of a step name the same connection and agree, the first one
  stands (its location and port name are reported). When they disagree, a statement that
  names exactly one pair beats a selector, whatever the order; between two selectors the
  later wins; two exact pairs that disagree are an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from netprobe.documents import suggest
from netprobe.errors import LocatedError, Location
from netprobe.manifests.notes import Warn
from netprobe.model import ClusterState, Host, Pod, PodRef, Port, Protocol
from netprobe.selectors import LabelSelector
from netprobe.suite.endpoints import EndpointSpec, External, PodPattern, PortSpec
from netprobe.suite.entries import ALL_PORTS, Statement
from netprobe.suite.model import Expectation, Settings, Skip

_Key = tuple[PodRef, Host, Port]


@dataclass(frozen=True, slots=True)
class _Port:
    """A port of the destination, and the name the suite gave it, if any."""

    port: Port
    name: str | None


def expand(
    statements: Iterable[Statement],
    state: ClusterState,
    settings: Settings,
    warn: Warn,
    step: str = "",
) -> tuple[Expectation, ...]:
    """The concrete expectations ``statements`` mean in ``state``, in order, one per
    connection."""
    chosen: dict[_Key, tuple[Expectation, Statement]] = {}
    warned: set[tuple[PodRef, Port]] = set()
    for statement in statements:
        sources = _sources(statement, state, step)
        destinations = _destinations(statement, state, step)
        tags = tuple(dict.fromkeys((*settings.tags, *statement.tags)))
        skips = _skips(statement, tags, settings)
        for source in sources:
            for destination in destinations:
                if isinstance(destination, Pod) and destination.ref == source.ref:
                    if not statement.explicit:
                        continue
                    if not statement.allowed:
                        raise LocatedError(
                            statement.location,
                            f"{source.ref} cannot be denied to itself: a pod always reaches "
                            "itself (docs/semantics.md rule 8)",
                        )
                for port in _ports(statement, destination, warn, warned):
                    expectation = Expectation(
                        source=source.ref,
                        destination=_endpoint(destination),
                        port=port.port.number,
                        protocol=port.port.protocol,
                        allowed=statement.allowed,
                        location=statement.location,
                        port_name=port.name,
                        tags=tags,
                        skips=skips,
                        cidr=destination.cidr if isinstance(destination, External) else None,
                    )
                    key = (source.ref, expectation.destination, port.port)
                    previous = chosen.get(key)
                    if _keeps(previous, expectation, statement):
                        continue
                    chosen[key] = (expectation, statement)
    return tuple(expectation for expectation, _ in chosen.values())


def resolve_pods(
    pattern: PodPattern, state: ClusterState, location: Location, step: str = ""
) -> list[Pod]:
    """The pods ``pattern`` means in ``state``; a located error when there are none."""
    exact = pattern.exact
    if exact is not None:
        pod = state.pod(exact)
        if pod is None:
            choices = [str(p.ref) for p in state.pods]
            raise LocatedError(
                location, f"no pod '{exact}' in this suite", suggest(str(exact), choices)
            )
        return [pod]
    pod_selector = LabelSelector(pattern.labels)
    namespace_selector = LabelSelector(pattern.namespace_labels)
    found = [
        pod
        for pod in state.pods
        if fnmatchcase(pod.namespace, pattern.namespace)
        and fnmatchcase(pod.name, pattern.name)
        and pod_selector.matches(pod.labels)
        and namespace_selector.matches(state.namespace_labels(pod.namespace))
    ]
    if not found:
        at = f" at step '{step}'" if step else ""
        hint = None
        if not any(fnmatchcase(p.namespace, pattern.namespace) for p in state.pods):
            hint = suggest(pattern.namespace, sorted({p.namespace for p in state.pods}))
            hint = hint.replace("did you mean", "no such namespace; did you mean") if hint else None
        raise LocatedError(location, f"'{pattern.text}' matches no pod of this suite{at}", hint)
    return found


def _sources(statement: Statement, state: ClusterState, step: str) -> list[Pod]:
    if isinstance(statement.source, External):
        raise LocatedError(
            statement.source_location,
            f"the source '{statement.source.text}' is not a pod: probes run from the suite's pods",
            "to check traffic from outside, write a policy with an ipBlock and probe from a pod",
        )
    return resolve_pods(statement.source, state, statement.source_location, step)


def _destinations(statement: Statement, state: ClusterState, step: str) -> list[Pod | External]:
    spec: EndpointSpec = statement.destination
    if isinstance(spec, External):
        pod = state.pod_at(spec.address)
        if pod is not None:
            raise LocatedError(
                statement.destination_location,
                f"{spec.address} is the address of pod {pod.ref}: name the pod instead",
            )
        return [spec]
    return list(resolve_pods(spec, state, statement.destination_location, step))


def _ports(
    statement: Statement,
    destination: Pod | External,
    warn: Warn,
    warned: set[tuple[PodRef, Port]],
) -> list[_Port]:
    found: list[_Port] = []
    for spec in statement.ports:
        if isinstance(destination, External):
            found.append(_external_port(spec, destination, statement.port_location))
            continue
        found.extend(_pod_ports(spec, destination, statement.port_location))
    for port in found:
        if isinstance(destination, Pod) and port.name is None:
            declared = any(Port(p.port, p.protocol) == port.port for p in destination.ports)
            key = (destination.ref, port.port)
            if not declared and key not in warned:
                warned.add(key)
                warn(
                    f"{statement.port_location}: pod {destination.ref} does not declare port "
                    f"{port.port}; a live run finds nothing listening there "
                    "(declare it under the pod's ports)"
                )
    return found


def _external_port(spec: PortSpec, destination: External, location: Location) -> _Port:
    if spec.port == ALL_PORTS:
        raise LocatedError(
            location,
            f"name the port to probe on {destination.text}",
            f"e.g. {destination.text}:443",
        )
    if isinstance(spec.port, str):
        raise LocatedError(
            location,
            f"named port '{spec.port}' cannot be resolved on {destination.text}: "
            "only pods have named ports",
            "use the port number",
        )
    return _Port(Port(spec.port, spec.protocol or Protocol.TCP), None)


def _pod_ports(spec: PortSpec, pod: Pod, location: Location) -> list[_Port]:
    declared = ", ".join(map(str, pod.ports)) or "no ports"
    if spec.port == ALL_PORTS:
        ports = [p for p in pod.ports if spec.protocol in (None, p.protocol)]
        if not ports:
            what = f" with protocol {spec.protocol}" if spec.protocol else ""
            raise LocatedError(
                location,
                f"pod {pod.ref} declares no port{what} (has: {declared})",
                "name the port, e.g. ':80', or declare ports under the pod",
            )
        return [_Port(Port(p.port, p.protocol), None) for p in ports]
    if isinstance(spec.port, int):
        return [_Port(Port(spec.port, spec.protocol or Protocol.TCP), None)]
    named = [p for p in pod.ports if p.name == spec.port and spec.protocol in (None, p.protocol)]
    if not named:
        with_protocol = f"/{spec.protocol}" if spec.protocol else ""
        names = [p.name for p in pod.ports if p.name]
        raise LocatedError(
            location,
            f"'{spec.port}{with_protocol}' is not a port of pod {pod.ref} (has: {declared})",
            suggest(spec.port, names),
        )
    return [_Port(Port(p.port, p.protocol), spec.port) for p in named]


def _skips(statement: Statement, tags: tuple[str, ...], settings: Settings) -> tuple[Skip, ...]:
    """The entry's skip rules, then the suite's that hold for ``tags``."""
    return (
        *statement.skips,
        *(s for s in settings.skips if not s.tags or set(s.tags) & set(tags)),
    )


def _endpoint(destination: Pod | External) -> Host:
    return destination.ref if isinstance(destination, Pod) else destination.address


def _keeps(
    previous: tuple[Expectation, Statement] | None, expectation: Expectation, statement: Statement
) -> bool:
    """Whether the connection keeps the expectation an earlier statement gave it."""
    if previous is None:
        return False
    earlier, earlier_statement = previous
    if earlier.allowed == expectation.allowed:
        return True
    if earlier_statement.explicit and statement.explicit:
        raise LocatedError(
            statement.location,
            f"'{expectation.id}' contradicts '{earlier.id}' at {earlier.location}",
            "keep one of them",
        )
    return earlier_statement.explicit
