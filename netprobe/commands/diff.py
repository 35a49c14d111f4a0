"""``netprobe diff``: which connections a policy change opens and which it closes.

Arguments become one :class:`DiffOptions`; :func:`build_states` wires the loaders into the
two snapshots (same namespaces and pods, policies before and after); :func:`run_diff`
renders the diff and returns the exit code: 1 when ``--fail-on`` finds what it names,
0 otherwise, 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from netprobe.analyzer import declared_ports
from netprobe.commands.common import add_manifest_arguments, warn
from netprobe.diff import ChangeKind, diff
from netprobe.diff.render import FORMATS, render
from netprobe.errors import EXIT_FAILED, EXIT_OK, InputError
from netprobe.model import ClusterState, Namespace, NetworkPolicy, Pod, Port
from netprobe.ports import parse_port_spec
from netprobe.suite import SUITE_SUFFIX

if TYPE_CHECKING:
    from netprobe.manifests import LoadedObjects

FAIL_ON = ("opened", "closed", "any")

T = TypeVar("T", Namespace, Pod)


def _namespace_name(namespace: Namespace) -> object:
    return namespace.name


def _pod_ref(pod: Pod) -> object:
    return pod.ref


@dataclass(frozen=True, slots=True)
class DiffOptions:
    before: tuple[Path, ...]
    after: tuple[Path, ...]
    paths: tuple[Path, ...] = ()
    ports: str | None = None
    fail_on: str | None = None
    output: str = "table"


DESCRIPTION = (
    "Compare the NetworkPolicies of --before and --after over the pods of "
    "the manifests (or suites) given, on every port asked, and list what the change "
    "opens and closes, grouped by namespace and labels, each with the rule that "
    "causes it. Policies in -f files apply on both sides unless --before/--after "
    "define a policy of the same namespace and name."
)
EPILOG = (
    "exit codes: 0 done (or nothing --fail-on names), 1 the change opens or "
    "closes what --fail-on names, 2 bad input (a manifest, a suite or an argument)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for name, text in (("before", "the policies before the change"), ("after", "after it")):
        parser.add_argument(
            f"--{name}",
            metavar="PATH",
            type=Path,
            action="append",
            required=True,
            help=f"{text}: a manifest file or directory (repeatable)",
        )
    add_manifest_arguments(
        parser,
        help="manifests with the Namespaces and Pods (and unchanged policies), or "
        f"suites (*{SUITE_SUFFIX}) whose pods to use; repeatable",
        required=False,
    )
    parser.add_argument(
        "--ports",
        metavar="SPEC",
        help="comma-separated PORT[/PROTO], e.g. 80,53/UDP; default: every container port "
        "of the pods and every port number the policies name",
    )
    parser.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        help="exit 1 when the change opens (opened), closes (closed) or changes (any) a connection",
    )
    parser.add_argument(
        "-o",
        "--output",
        choices=FORMATS,
        default="table",
        help="table (default): grouped by cause; json: every change (README); "
        "markdown: a pull-request comment",
    )


def run(args: Any) -> int:
    options = DiffOptions(
        before=tuple(args.before),
        after=tuple(args.after),
        paths=tuple(args.paths),
        ports=args.ports,
        fail_on=args.fail_on,
        output=args.output,
    )
    return run_diff(options)


def run_diff(options: DiffOptions) -> int:
    before, after = build_states(options.before, options.after, options.paths)
    if options.ports is not None:
        ports = parse_port_spec(options.ports)
    else:
        ports = default_ports(before, after)
    result = diff(before, after, ports)
    sys.stdout.write(render(options.output, result))
    kinds = {
        "opened": (ChangeKind.OPENED,),
        "closed": (ChangeKind.CLOSED,),
        "any": (ChangeKind.OPENED, ChangeKind.CLOSED),
    }.get(options.fail_on or "", ())
    return EXIT_FAILED if any(result.of_kind(kind) for kind in kinds) else EXIT_OK


def build_states(
    before: Sequence[Path], after: Sequence[Path], paths: Sequence[Path]
) -> tuple[ClusterState, ClusterState]:
    """The snapshots before and after: one set of namespaces and pods (from ``paths``,
    then ``before``, then ``after``), the common policies of ``paths`` overridden by
    those of ``before`` and ``after`` of the same namespace and name."""
    from netprobe.manifests import load_paths

    given = load_objects(paths, with_suite_policies=False)
    namespaces, pods, common = list(given.namespaces), list(given.pods), list(given.policies)
    old, new = load_paths(before, warn), load_paths(after, warn)
    namespaces = _merge((namespaces, old.namespaces, new.namespaces), _namespace_name, "namespace")
    pods = _merge((pods, old.pods, new.pods), _pod_ref, "pod")
    if not pods:
        raise InputError(
            "no pods to compare: give the Pod manifests (or a suite) with -f, "
            "or include them in --before/--after"
        )
    state = _with_implied_namespaces(namespaces, pods, [*common, *old.policies, *new.policies])
    return (
        state.replace(policies=_overlay(common, old.policies)),
        state.replace(policies=_overlay(common, new.policies)),
    )


def load_objects(paths: Sequence[Path], with_suite_policies: bool = True) -> LoadedObjects:
    """Namespaces, pods and policies of manifest paths and of suites (``*.netprobe.yaml``:
    their namespaces, probe pods and, when asked, the policies of their first step)."""
    from netprobe.manifests import LoadedObjects, load_paths
    from netprobe.suite.loader import load_suite

    namespaces: list[Namespace] = []
    pods: list[Pod] = []
    policies: list[NetworkPolicy] = []
    for path in paths:
        if path.name.endswith(SUITE_SUFFIX):
            suite = load_suite(path, warn)
            found = LoadedObjects(
                suite.namespaces, suite.pods, suite.policies if with_suite_policies else ()
            )
        else:
            found = load_paths([path], warn)
        namespaces += found.namespaces
        pods += found.pods
        policies += found.policies
    return LoadedObjects(
        tuple(_merge((namespaces,), _namespace_name, "namespace")),
        tuple(_merge((pods,), _pod_ref, "pod")),
        tuple(policies),
    )


def _merge(groups: Iterable[Iterable[T]], identity: Callable[[T], object], kind: str) -> list[T]:
    """Objects by identity, later definitions winning (a warning when they differ)."""
    found: dict[object, T] = {}
    for group in groups:
        for item in group:
            ident = identity(item)
            previous = found.get(ident)
            if previous is not None and previous != item:
                warn(f"{kind} {ident} is defined twice, differently; using {item.location}")
            found[ident] = item
    return list(found.values())


def _overlay(
    common: Sequence[NetworkPolicy], side: Sequence[NetworkPolicy]
) -> tuple[NetworkPolicy, ...]:
    refs = {policy.ref for policy in side}
    return (*(p for p in common if p.ref not in refs), *side)


def _with_implied_namespaces(
    namespaces: list[Namespace], pods: list[Pod], policies: list[NetworkPolicy]
) -> ClusterState:
    from netprobe.manifests import LoadedObjects

    objects = LoadedObjects(tuple(namespaces), tuple(pods), tuple(policies))
    return objects.to_state(lambda message: None)


def default_ports(before: ClusterState, after: ClusterState) -> tuple[Port, ...]:
    """:func:`~netprobe.analyzer.ports.declared_ports` of the pods and of the policies of
    either side.

    Raises:
        InputError: there is none.
    """
    found = declared_ports(before.pods, (*before.policies, *after.policies))
    if not found:
        raise InputError(
            "no port to compare: no pod declares a container port and no policy names a "
            "port number; pass --ports, e.g. --ports 80,53/UDP"
        )
    return found
