"""Benchmark of the local backend at scale: deploy, full-matrix rounds and teardown of
hundreds of pods.

Builds ``--pods`` pods (500 by default) in namespaces of 50, each pod serving 80/TCP and
80/UDP, with policies that deny part of the matrix (databases take only their namespace's
APIs on 80/TCP, APIs only web pods of any namespace, caches of half the namespaces
nothing, batch jobs send TCP only), and prints:

- deploy: namespaces, veth pairs, servers, seconds; then the policies, one by one;
- the rulesets: nft bytes in all and in the largest pod's;
- rounds: every pod pair on both ports (pods x pods x 2 probes; ``--sources N`` probes
  from the first N pods only, to every pod), seconds per round and that time in probe
  timeouts, probes per second, and where the CPU went (the probe processes, netprobe,
  the machine in all: other users' too);
- the peaks during the rounds: processes on the machine, this process's open files;
- the probe server processes and their RSS; teardown, seconds; this process's peak RSS;
- cells where the dataplane disagrees with the analyzer (its bitset matrix), which must be
  0, and ERROR results among them.

It prints figures; it never asserts. Needs root (network namespaces and nftables). A round
is CPU-bound: every probe is a few processes and an ``nc``, about 2.5 ms of CPU, so 500
pods' 500,000 probes take some 10 minutes on two cores (``make bench`` probes from 100
sources).

    sudo python bench/runner_scale.py [--pods 500] [--sources N] [--rounds 1] [--timeout 1]
        [--workers 16]
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from netprobe.analyzer import matrix
from netprobe.backends.local import LocalBackend, LocalOptions
from netprobe.backends.local.nftables import compile_rulesets
from netprobe.backends.local.servers import SERVER_SCRIPT
from netprobe.errors import NetprobeError
from netprobe.model import (
    NAMESPACE_NAME_LABEL,
    ClusterState,
    ContainerPort,
    Namespace,
    NetworkPolicy,
    Peer,
    Pod,
    PodRef,
    PolicyPort,
    PolicyRef,
    PolicyType,
    Port,
    Protocol,
    Rule,
)
from netprobe.probes import Outcome, Probe
from netprobe.run import probe_round
from netprobe.run.engine import DEFAULT_WORKERS, EXEC_PROBES
from netprobe.run.signals import teardown_on_signals
from netprobe.selectors import Labels, LabelSelector
from netprobe.suite.model import ApplyPolicy

PER_NAMESPACE = 50
ROLES = ("web", "api", "db", "cache", "job")
PORTS = (Port(80), Port(80, Protocol.UDP))


def role(name: str) -> LabelSelector:
    return LabelSelector(Labels({"role": name}))


def model(pods: int) -> ClusterState:
    count = math.ceil(pods / PER_NAMESPACE)
    names = [f"n{index:02d}" for index in range(count)]
    namespaces = tuple(
        Namespace(name, Labels({NAMESPACE_NAME_LABEL: name, "half": str(index % 2)}))
        for index, name in enumerate(names)
    )
    ports = tuple(ContainerPort(port.number, port.protocol) for port in PORTS)
    placed = tuple(
        Pod(
            PodRef(names[index // PER_NAMESPACE], f"p{index:04d}"),
            Labels({"role": ROLES[index % len(ROLES)]}),
            ports,
        )
        for index in range(pods)
    )
    ingress, egress = (PolicyType.INGRESS,), (PolicyType.EGRESS,)
    tcp_80 = (PolicyPort(Protocol.TCP, 80),)
    policies: list[NetworkPolicy] = []
    for index, name in enumerate(names):
        policies += [
            NetworkPolicy(
                PolicyRef(name, "db-from-api"),
                role("db"),
                ingress,
                ingress=(Rule(peers=(Peer(role("api")),), ports=tcp_80),),
            ),
            NetworkPolicy(
                PolicyRef(name, "api-from-any-web"),
                role("api"),
                ingress,
                ingress=(Rule(peers=(Peer(role("web"), LabelSelector()),)),),
            ),
            NetworkPolicy(
                PolicyRef(name, "job-tcp-only"),
                role("job"),
                egress,
                egress=(Rule(ports=(PolicyPort(Protocol.TCP),)),),
            ),
        ]
        if index % 2:
            policies.append(NetworkPolicy(PolicyRef(name, "cache-closed"), role("cache"), ingress))
    return ClusterState(namespaces, placed, tuple(policies))


@dataclass
class Peaks:
    processes: int = 0
    open_files: int = 0


@contextmanager
def sampled(every: float = 0.25) -> Iterator[Peaks]:
    """The most processes on the machine and open files of this process, while inside."""
    peaks = Peaks()
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(every):
            processes = sum(1 for entry in os.listdir("/proc") if entry.isdigit())
            peaks.processes = max(peaks.processes, processes)
            peaks.open_files = max(peaks.open_files, len(os.listdir("/proc/self/fd")))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peaks
    finally:
        stop.set()
        thread.join()


@dataclass(frozen=True)
class Cpu:
    """CPU seconds so far: this process's, its (waited-for) children's, the machine's."""

    own: float
    children: float
    machine: float

    @classmethod
    def now(cls) -> Cpu:
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open("/proc/stat") as stat:
            user, nice, system = (int(tick) for tick in stat.readline().split()[1:4])
        return cls(
            own.ru_utime + own.ru_stime,
            children.ru_utime + children.ru_stime,
            (user + nice + system) / os.sysconf("SC_CLK_TCK"),
        )

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(
            self.own - other.own, self.children - other.children, self.machine - other.machine
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=500, help="pods to deploy")
    parser.add_argument(
        "--sources", type=int, default=None, help="probe from the first N pods (default: all)"
    )
    parser.add_argument("--rounds", type=int, default=1, help="rounds to time")
    parser.add_argument("--timeout", type=float, default=1.0, help="probe timeout, seconds")
    parser.add_argument(
        "--workers", type=int, default=DEFAULT_WORKERS, help="execs at the same time"
    )
    args = parser.parse_args(argv)
    state = model(args.pods)
    backend = LocalBackend(LocalOptions())
    try:
        backend.preflight()
    except NetprobeError as exc:
        print(f"bench/runner_scale.py: skipped: {exc}", file=sys.stderr)
        return 0
    print(
        f"pods: {args.pods} in {len(state.namespaces)} namespaces, {len(state.policies)} policies"
    )
    with teardown_on_signals(backend):
        began = time.perf_counter()
        backend.deploy(state.namespaces, state.pods, ())
        deployed = time.perf_counter()
        for policy in state.policies:
            backend.perform(ApplyPolicy(policy))
        live = backend.snapshot()
        print(
            f"deploy: {deployed - began:.2f}s, then the {len(state.policies)} policies one "
            f"by one: {time.perf_counter() - deployed:.2f}s"
        )
        rss = server_rss()
        print(f"probe servers: {len(rss)} processes, {sum(rss):.0f} MiB RSS in all")
        rulesets = [len(text) for text in compile_rulesets(live, ()).values()]
        print(
            f"nft rulesets: {sum(rulesets) / 1e3:,.0f} KB in all, the largest pod's "
            f"{max(rulesets) / 1e3:.1f} KB"
        )
        rounds(backend, live, args)
        leaving = time.perf_counter()  # the end of the block tears the backend down
    print(f"teardown: {time.perf_counter() - leaving:.2f}s")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: netprobe {own:.0f} MiB (with this benchmark's expectations)")
    return 0


def server_rss() -> list[float]:
    """The RSS (MiB) of each probe server process this one started."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                if str(SERVER_SCRIPT).encode() not in cmdline.read():
                    continue
            with open(f"/proc/{entry}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue
        if int(fields["PPid"]) == os.getpid():
            found.append(int(fields["VmRSS"].split()[0]) / 1024)
    return found


def rounds(backend: LocalBackend, live: ClusterState, args: argparse.Namespace) -> None:
    batches, wanted = plan(live, args.sources)
    denied = sum(1 for allowed in wanted.values() if not allowed)
    print(
        f"probes per round: {len(wanted):,} from {len(batches)} sources ({denied:,} denied, "
        f"{100 * denied / len(wanted):.0f}%), in execs of at most {EXEC_PROBES}, "
        f"{args.workers} at a time"
    )
    for number in range(1, args.rounds + 1):
        before = Cpu.now()
        with sampled() as peaks:
            start = time.perf_counter()
            results = probe_round(backend, batches, args.timeout, workers=args.workers)
            seconds = time.perf_counter() - start
        cpu = Cpu.now() - before
        failed = [r.detail.split(";")[0] for r in results.values() if r.outcome is Outcome.ERROR]
        disagree = sum(1 for key, r in results.items() if r.outcome.reached is not wanted[key])
        print(
            f"round {number}: {seconds:.1f}s = {seconds / args.timeout:.0f}x the "
            f"{args.timeout:g}s probe timeout, {len(results) / seconds:,.0f} probes/s"
        )
        print(
            f"  CPU: probes {cpu.children:.0f}s ({1000 * cpu.children / len(results):.2f} ms "
            f"a probe), netprobe {cpu.own:.0f}s, the machine {cpu.machine:.0f}s of "
            f"{seconds * (os.cpu_count() or 1):.0f}s"
        )
        print(
            f"  peaks: {peaks.processes:,} processes on the machine, "
            f"{peaks.open_files} open files in netprobe"
        )
        print(
            f"  dataplane vs analyzer: {disagree} of {len(wanted):,} disagree ({len(failed)} ERROR)"
        )
        for detail, count in Counter(failed).most_common(3):
            print(f"    {count} ERROR: {detail}")


def plan(
    live: ClusterState, sources: int | None
) -> tuple[dict[PodRef, list[Probe]], dict[tuple[PodRef, Probe], bool]]:
    """Per source the probes of the matrix, and what the analyzer expects of each."""
    reach = matrix(live, PORTS)
    batches: dict[PodRef, list[Probe]] = {}
    wanted: dict[tuple[PodRef, Probe], bool] = {}
    for source_index, source in enumerate(live.pods[:sources]):
        probes = batches.setdefault(source.ref, [])
        for destination_index, destination in enumerate(live.pods):
            assert destination.ip is not None
            for port_index, port in enumerate(PORTS):
                probe = Probe(destination.ip, port.number, port.protocol)
                probes.append(probe)
                allowed = reach.allowed(source_index, destination_index, port_index)
                wanted[(source.ref, probe)] = allowed
    return batches, wanted


if __name__ == "__main__":
    sys.exit(main())
