"""netprobe's matrix beside network-config-analyzer's (NCA) connectivity map, same input.

Issue 14 compares the two at 200 pods / 100 policies and 1,000 pods / 200 policies. Each size
is a seeded cluster of bench/analyzer.py's generator, written once as one ``kind: List`` YAML
file that both tools read; each tool runs as its own whole process, timed from start to exit
(wall seconds, and peak RSS from ``os.wait4``'s ``ru_maxrss``, by analyzer.py's ``_measured``).

The job, on both sides: the connectivity of every pod pair over the whole port space.

- NCA: ``nca --connectivity -r <file> --output_format txt_no_fw_rules --output_endpoints
  pods -f <out>`` (flags from NCA 2.1.0's ``nca/nca_cli.py``: ``--connectivity`` with no value
  takes the policies from ``-r``/``--resource_list``, which also gives the pods and
  namespaces; ``txt_no_fw_rules`` prints one line ``src => dst : connections`` per connected
  pair instead of minimising firewall rules; ``--output_endpoints pods`` names pods rather than
  their owners). NCA cannot be told ports: it always computes every protocol and port.
- netprobe: ``python -m netprobe matrix -f <file> --ports <one port of each class> -o summary``.
  The ports are one port of each range the pods' container ports and the policies' ports cut
  TCP, UDP and SCTP into (15 ports here); every port of a range gets the same answer, so this
  is the whole port space of the three protocols a NetworkPolicy can name. ``-o summary``
  rather than ``-o json``: both compute the whole map, but json writes one line per pair and
  port (15 lines where NCA writes one: about 60 MB at 200 pods, 1.5 GB at 1,000), which would
  time the writing, not the analysis.

Two adaptations of the generated input, the same for both tools, so that both define the
same map (the cross-check below then agrees on every port):

- Pods get addresses in 172.16.0.0/16, outside every ipBlock of the policies. NCA does not
  read pod addresses (it matches pods by selectors only, ipBlocks as outside addresses),
  whereas netprobe matches pods against ipBlocks by address as CNIs do (docs/semantics.md
  rule 12).
- In the pod selectors of peers, ``K DoesNotExist`` becomes ``K NotIn (every value of K on
  the pods)`` and ``K Exists`` becomes ``K In (the same)``: the same pods. NCA 2.1.0 looks
  for an Exists/DoesNotExist requirement's pods in the policy's own namespace only
  (``parse_label_selector_requirement`` in nca/Parsers/K8sPolicyYamlParser.py passes
  ``self.namespace`` to ``get_peers_with_key``, In/NotIn pass none), so ``{podSelector:
  {matchExpressions: [canary DoesNotExist]}, namespaceSelector: {}}`` misses the pods of
  every other namespace (unadapted, at 200 pods, NCA denies 451 pod pairs on 53/UDP and 20
  on 9090/TCP that Kubernetes allows).

NCA accepts the rest as generated (matchLabels with matchExpressions, endPort, named ports,
ipBlock with except, UDP, ``ports: []``); it warns, harmlessly, where a named port is not on
a pod.

The cross-check compares, per port, the pod pairs each tool allows (netprobe's summary minus
each pod to itself, which NCA leaves out) with NCA's output read line by line.

NCA lives in its own venv (.bench/nca-venv, made on first run with pip install
network-config-analyzer); it is never a dependency of netprobe. Without it (no network) the
NCA columns are skipped and netprobe's are still printed.

    python bench/nca.py [--sizes 200:100,1000:200] [--seed 7]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from analyzer import _measured, synthetic_cluster, write_cluster

from netprobe.model import ClusterState, Peer, Port, Protocol, Rule
from netprobe.selectors import Operator, Requirement

CHECKOUT = Path(__file__).resolve().parents[1]
NCA_VENV = CHECKOUT / ".bench" / "nca-venv"
NCA_PACKAGE = "network-config-analyzer"
INSTALL_HINT = f"python3 -m venv {NCA_VENV} && {NCA_VENV}/bin/pip install {NCA_PACKAGE}"
POD_NETWORK = IPv4Address("172.16.0.0")
"""Pods are numbered from here: outside every ipBlock the generator writes (10.0.0.0/17)."""


def bench_cluster(pods: int, policies: int, seed: int) -> ClusterState:
    """The generator's cluster, adapted as the module docstring says."""
    state = synthetic_cluster(pods, seed, policies=policies)
    return _key_requirements_as_values(_pods_outside_ip_blocks(state))


def _pods_outside_ip_blocks(state: ClusterState) -> ClusterState:
    moved = tuple(
        dataclasses.replace(pod, ips=(POD_NETWORK + number + 1,))
        for number, pod in enumerate(state.pods)
    )
    blocks = {
        peer.ip_block
        for policy in state.policies
        for rule in (*policy.ingress, *policy.egress)
        for peer in rule.peers
        if peer.ip_block is not None
    }
    if any(block.contains(ip) for block in blocks for pod in moved for ip in pod.ips):
        raise SystemExit(f"an ipBlock covers {POD_NETWORK}/16: move POD_NETWORK")
    return dataclasses.replace(state, pods=moved)


def _key_requirements_as_values(state: ClusterState) -> ClusterState:
    """Peers' pod selectors with ``K Exists`` as ``K In`` (every value of K on the pods) and
    ``K DoesNotExist`` as ``K NotIn`` (the same values): the same pods, whatever the namespace."""
    values: dict[str, set[str]] = defaultdict(set)
    for pod in state.pods:
        for key, value in pod.labels.items():
            values[key].add(value)

    def requirement(old: Requirement) -> Requirement:
        if old.operator not in (Operator.EXISTS, Operator.DOES_NOT_EXIST):
            return old
        if not values[old.key]:
            raise SystemExit(f"no pod has label {old.key!r}: {old.operator} has no In/NotIn twin")
        operator = Operator.IN if old.operator is Operator.EXISTS else Operator.NOT_IN
        return Requirement(old.key, operator, frozenset(values[old.key]))

    def peer(old: Peer) -> Peer:
        if old.pod_selector is None:
            return old
        expressions = tuple(map(requirement, old.pod_selector.match_expressions))
        selector = dataclasses.replace(old.pod_selector, match_expressions=expressions)
        return dataclasses.replace(old, pod_selector=selector)

    def rules(old: tuple[Rule, ...]) -> tuple[Rule, ...]:
        return tuple(dataclasses.replace(rule, peers=tuple(map(peer, rule.peers))) for rule in old)

    policies = tuple(
        dataclasses.replace(policy, ingress=rules(policy.ingress), egress=rules(policy.egress))
        for policy in state.policies
    )
    return dataclasses.replace(state, policies=policies)


def port_classes(state: ClusterState) -> tuple[Port, ...]:
    """The first port of each range of each protocol within which no container port, policy
    port or port range starts or ends: the policies treat every port of a range alike (a named
    port resolves to a container port, which starts a range of its own)."""
    starts: dict[Protocol, set[int]] = {protocol: {1} for protocol in Protocol}
    for pod in state.pods:
        for port in pod.ports:
            starts[port.protocol] |= {port.port, port.port + 1}
    for policy in state.policies:
        for rule in (*policy.ingress, *policy.egress):
            for entry in rule.ports:
                if isinstance(entry.port, int):
                    last = entry.end_port if entry.end_port is not None else entry.port
                    starts[entry.protocol] |= {entry.port, last + 1}
    return tuple(
        Port(number, protocol)
        for protocol in Protocol
        for number in sorted(starts[protocol])
        if number <= 65535
    )


def write_child(pods: int, policies: int, seed: int, path: Path) -> int:
    """Run in a child process: writes the cluster to ``path``, prints its ports' spec."""
    state = bench_cluster(pods, policies, seed)
    write_cluster(state, path)
    print(",".join(str(port) for port in port_classes(state)))
    return 0


def nca_executable() -> Path | None:
    """NCA's ``nca`` in the bench's own venv, installed there on first use; None, having said
    how to install it, when that fails."""
    nca = NCA_VENV / "bin" / "nca"
    if nca.exists():
        return nca
    print(f"installing {NCA_PACKAGE} into {NCA_VENV} (used by this bench only)")
    steps = (
        [sys.executable, "-m", "venv", str(NCA_VENV)],
        [str(NCA_VENV / "bin" / "pip"), "install", "-q", NCA_PACKAGE],
    )
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode:
            reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
            print(f"NCA columns skipped: {reason}; to install NCA: {INSTALL_HINT}")
            return None
    return nca


NCA_CUBE = re.compile(r"\{([^{}]*)\}")
NCA_DIMENSION = re.compile(r",(?=[a-z_]+:)")


def nca_allowed(connections: str, ports: tuple[Port, ...]) -> frozenset[Port]:
    """Which of ``ports`` NCA's text for one pair's connections admits: ``All connections``,
    ``All but <cubes>`` or ``<cubes>``, a cube being ``{protocols:TCP, UDP,dst_ports:53,80-443}``
    (a dimension left out admits every value; ``protocols:all but ICMP`` is a complement)."""
    if connections == "All connections":
        return frozenset(ports)
    if connections.startswith("All but "):
        return frozenset(ports) - nca_allowed(connections.removeprefix("All but "), ports)
    cubes = NCA_CUBE.findall(connections)
    if not cubes:
        raise SystemExit(f"NCA connections {connections!r}: not read")
    allowed: set[Port] = set()
    for cube in cubes:
        dimensions = dict(item.split(":", 1) for item in NCA_DIMENSION.split(cube))
        unknown = set(dimensions) - {"protocols", "dst_ports"}
        if unknown:
            raise SystemExit(f"NCA connections {connections!r}: dimensions {unknown} not read")
        allowed |= {port for port in ports if _in_cube(port, dimensions)}
    return frozenset(allowed)


def _in_cube(port: Port, dimensions: dict[str, str]) -> bool:
    protocols = dimensions.get("protocols")
    if protocols is not None:
        complement = protocols.startswith("all but ")
        names = set(protocols.removeprefix("all but ").split(", "))
        if (str(port.protocol) in names) == complement:
            return False
    ranges = dimensions.get("dst_ports")
    if ranges is None:
        return True
    for interval in ranges.split(","):
        first, _, last = interval.partition("-")
        if int(first) <= port.number <= int(last or first):
            return True
    return False


def nca_counts(lines: Iterable[str], ports: tuple[Port, ...]) -> Counter[Port]:
    """Pod pairs NCA allows per port, from its ``txt_no_fw_rules`` lines (addresses, written
    from a digit or with a colon, are not pods)."""
    counts: Counter[Port] = Counter()
    seen: dict[str, frozenset[Port]] = {}
    for line in lines:
        pair, separator, connections = line.rstrip("\n").partition(" : ")
        if not separator:
            continue
        source, _, destination = pair.partition(" => ")
        if any(peer[:1].isdigit() or ":" in peer for peer in (source, destination)):
            continue
        if connections not in seen:
            seen[connections] = nca_allowed(connections, ports)
        counts.update(seen[connections])
    return counts


def cross_check(summary: dict[str, Any], nca_out: Path, ports: tuple[Port, ...]) -> str:
    """Per port, netprobe's allowed pod pairs (self excluded) against NCA's."""
    pods, by_port = summary["pods"], summary["ports"]
    with nca_out.open(encoding="utf-8") as lines:
        theirs = nca_counts(lines, ports)
    differ = [
        f"{port} {by_port[str(port)]['allowed'] - pods:,} vs {theirs[port]:,}"
        for port in ports
        if by_port[str(port)]["allowed"] - pods != theirs[port]
    ]
    if not differ:
        total = sum(theirs.values())
        return f"allowed pod pairs agree on all {len(ports)} ports ({total:,} pair-ports)"
    return f"allowed pod pairs differ (netprobe vs NCA): {'; '.join(differ)}"


ENDPOINTS = re.compile(r"cluster has (\d+) unique endpoints")
ISSUE_RATIOS = {(200, 100): 20, (1000, 200): 300}
"""Issue 14's "netprobe is about N times faster" by (pods, policies)."""


@dataclass(frozen=True, slots=True)
class Measured:
    wall: float
    cpu: float
    """User plus system seconds."""
    rss: float
    """Peak RSS, MiB."""
    out: str


def measured(command: list[str]) -> Measured:
    """analyzer.py's ``_measured`` plus the child's CPU seconds: what this process's
    ``RUSAGE_CHILDREN`` grows by across it (``os.wait4`` reaps the child into it). Wall time
    counts the waits of a machine shared with other work; CPU time does not."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, rss, out = _measured(command)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Measured(wall, cpu, rss, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200:100,1000:200", help="PODS:POLICIES,...")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--write-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.write_child is not None:
        pods, policies, path = args.write_child
        return write_child(int(pods), int(policies), args.seed, Path(path))
    nca = nca_executable()
    if nca is not None:
        version = measured([str(nca), "--version"]).out.strip()
        print(
            f"{version}: nca --connectivity -r FILE --output_format txt_no_fw_rules"
            " --output_endpoints pods -f OUT (every protocol and port)"
        )
    print(
        "netprobe matrix -f FILE --ports <one port per port class> -o summary;"
        f" seed {args.seed}; Python {sys.version.split()[0]};"
        f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(
        f"{'':20} | {'netprobe':^22} | {'NCA':^23} | NCA / netprobe\n"
        f"{'pods':>5} {'policies':>8} {'ports':>5} | {'wall s':>6} {'CPU s':>6} {'RSS MiB':>8} |"
        f" {'wall s':>7} {'CPU s':>6} {'RSS MiB':>8} | {'wall':>5} {'CPU':>5} {'issue':>5}"
    )
    checks = []
    here = Path(__file__).resolve()
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes.split(","):
            pods, policies = (int(text) for text in size.split(":"))
            path = Path(folder) / f"cluster-{pods}-{policies}.yaml"
            child = [sys.executable, str(here), "--seed", str(args.seed), "--write-child"]
            spec = measured([*child, str(pods), str(policies), str(path)]).out.strip()
            ports = tuple(Port.parse(text) for text in spec.split(","))
            ours = ["matrix", "-f", str(path), "--ports", spec, "-o", "summary"]
            our = measured([sys.executable, "-m", "netprobe", *ours])
            row = (
                f"{pods:>5} {policies:>8} {len(ports):>5} |"
                f" {our.wall:>6.2f} {our.cpu:>6.2f} {our.rss:>8,.0f} |"
            )
            issue = ISSUE_RATIOS.get((pods, policies))
            claimed = "-" if issue is None else f"{issue}x"
            if nca is None:
                print(f"{row} {'-':>7} {'-':>6} {'-':>8} | {'-':>5} {'-':>5} {claimed:>5}")
                continue
            nca_out = Path(folder) / f"nca-{pods}-{policies}.txt"
            theirs = ["--connectivity", "-r", str(path), "--output_format", "txt_no_fw_rules"]
            theirs += ["--output_endpoints", "pods", "-f", str(nca_out)]
            their = measured([str(nca), *theirs])
            print(
                f"{row} {their.wall:>7.2f} {their.cpu:>6.2f} {their.rss:>8,.0f} |"
                f" {their.wall / our.wall:>4.0f}x {their.cpu / our.cpu:>4.0f}x {claimed:>5}"
            )
            read = ENDPOINTS.search(their.out)
            endpoints = f"NCA read {read.group(1) if read else '?'} endpoints"
            agreement = cross_check(json.loads(our.out), nca_out, ports)
            checks.append(f"{pods}/{policies}: {endpoints}; {agreement}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    for check in checks:
        print(f"cross-check {check}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
