"""Benchmark of the probe engine on the local dataplane: full-matrix rounds, batched vs
one exec per probe.

Deploys the upstream 9-pod model (namespaces x, y, z x pods a, b, c; each serving 80/TCP,
81/TCP and 80/UDP) on the local backend with policies that deny more than half of the 243
pod-pair probes, then times:

- batched rounds: one exec per source pod running all its 27 probes in parallel, the nine
  sources in parallel. The floor is one probe timeout per round (denied probes wait it
  out); the target is at most 2x the timeout.
- one exec per probe: with the same worker pool, with upstream e2e's 3 workers, and
  (unless ``--no-sequential``) one after the other like a naive runner. The target is
  batched >= 10x faster than one exec per probe. With a pool as wide as the batched run's,
  one exec per probe is bounded by (denied probes / workers) timeouts, so that ratio
  depends on the pool; the figures say which is which.

It also counts cells where the dataplane disagrees with the analyzer. It prints figures;
it never asserts. Needs root (network namespaces and nftables).

    sudo python bench/runner.py [--rounds 3] [--timeout 1] [--no-sequential]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from netprobe.backends.local import LocalBackend, LocalOptions
from netprobe.errors import Location, NetprobeError
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
    Protocol,
    Rule,
)
from netprobe.probes import Probe
from netprobe.run import matrix_expectations, probe_round
from netprobe.run.engine import RoundResults
from netprobe.run.plan import with_addresses
from netprobe.run.signals import teardown_on_signals
from netprobe.selectors import Labels, LabelSelector, Operator, Requirement
from netprobe.suite.model import ApplyPolicy

NAMESPACES = ("x", "y", "z")
PODS = ("a", "b", "c")
PORTS = (ContainerPort(80), ContainerPort(81), ContainerPort(80, Protocol.UDP))
WORKERS = 16


def model() -> ClusterState:
    namespaces = tuple(
        Namespace(name, Labels({NAMESPACE_NAME_LABEL: name, "ns": name})) for name in NAMESPACES
    )
    pods = tuple(
        Pod(PodRef(ns, pod), Labels({"pod": pod}), PORTS) for ns in NAMESPACES for pod in PODS
    )
    everyone = LabelSelector()
    policies = (
        # y takes no ingress at all.
        NetworkPolicy(PolicyRef("y", "deny-ingress"), everyone, (PolicyType.INGRESS,)),
        # z takes only 80/TCP, only from pods "a" of any namespace.
        NetworkPolicy(
            PolicyRef("z", "only-a-on-80"),
            everyone,
            (PolicyType.INGRESS,),
            ingress=(
                Rule(
                    peers=(Peer(LabelSelector(Labels({"pod": "a"})), everyone),),
                    ports=(PolicyPort(Protocol.TCP, 80),),
                ),
            ),
        ),
        # x/b and x/c may send TCP only.
        NetworkPolicy(
            PolicyRef("x", "tcp-only-egress"),
            LabelSelector(
                match_expressions=(Requirement("pod", Operator.IN, frozenset({"b", "c"})),)
            ),
            (PolicyType.EGRESS,),
            egress=(Rule(ports=(PolicyPort(Protocol.TCP),)),),
        ),
    )
    return ClusterState(namespaces, pods, policies)


def timed(
    backend: LocalBackend,
    batches: dict[PodRef, list[Probe]],
    timeout: float,
    *,
    workers: int,
    per_probe: bool = False,
) -> tuple[float, RoundResults]:
    began = time.perf_counter()
    results = probe_round(backend, batches, timeout, workers=workers, per_probe=per_probe)
    return time.perf_counter() - began, results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="batched rounds to time")
    parser.add_argument("--timeout", type=float, default=1.0, help="probe timeout, seconds")
    parser.add_argument(
        "--no-sequential", action="store_true", help="skip the sequential one-exec-per-probe run"
    )
    args = parser.parse_args(argv)
    state = model()
    backend = LocalBackend(LocalOptions())
    try:
        backend.preflight()
    except NetprobeError as exc:
        print(f"bench/runner.py: skipped: {exc}", file=sys.stderr)
        return 0
    with teardown_on_signals(backend):
        began = time.perf_counter()
        backend.deploy(state.namespaces, state.pods, ())
        for policy in state.policies:
            backend.perform(ApplyPolicy(policy))
        live = with_addresses(state, backend.snapshot())
        print(f"deploy + policies: {time.perf_counter() - began:.2f}s")
        cells = matrix_expectations(live, Location("bench"))
        batches: dict[PodRef, list[Probe]] = {}
        wanted: dict[tuple[PodRef, Probe], bool] = {}
        for cell in cells:
            assert isinstance(cell.destination, PodRef)
            target = live.pod(cell.destination)
            assert target is not None and target.ip is not None
            probe = Probe(target.ip, cell.port, cell.protocol)
            batches.setdefault(cell.source, []).append(probe)
            wanted[(cell.source, probe)] = cell.allowed
        denied = sum(1 for allowed in wanted.values() if not allowed)
        print(
            f"model: 9 pods, 3 ports, {len(wanted)} probes per round, "
            f"{denied} denied by the policies ({100 * denied / len(wanted):.0f}%)"
        )

        round_times: list[float] = []
        disagreements = 0
        for _ in range(args.rounds):
            seconds, results = timed(backend, batches, args.timeout, workers=WORKERS)
            round_times.append(seconds)
            disagreements = sum(
                1 for key, result in results.items() if result.outcome.reached is not wanted[key]
            )
        per_round = statistics.median(round_times)
        print(
            f"batched (1 exec per source, {len(batches)} execs): per round median "
            f"{per_round:.2f}s, max {max(round_times):.2f}s over {args.rounds} rounds = "
            f"{per_round / args.timeout:.2f}x the {args.timeout:g}s probe timeout "
            f"(target <= 2x; floor 1x)"
        )
        print(f"dataplane vs analyzer: {disagreements} of {len(wanted)} cells disagree")

        pools = [WORKERS, 3] + ([] if args.no_sequential else [1])
        for workers in pools:
            seconds, _ = timed(backend, batches, args.timeout, workers=workers, per_probe=True)
            how = "one at a time" if workers == 1 else f"{workers} workers"
            print(
                f"1 exec per probe, {how} ({len(wanted)} execs): {seconds:.2f}s per round "
                f"-> batched is {seconds / per_round:.1f}x faster (target >= 10x)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
