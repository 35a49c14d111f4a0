"""One round of probes: a source pod's probes in execs of at most :data:`EXEC_PROBES`,
each running its probes in parallel, and the execs themselves in parallel on a thread pool
(the first exec of every source, then the second of each, so the load spreads over pods).

An exec that fails (a :class:`BackendError`, a lost transport) turns that source's probes
into ERROR results carrying the message; it never aborts the round. The one exception is a
pod whose ``nc`` lacks a flag the probes need (the script checks before probing): every
probe of every round would fail the same way, so the run stops with one
:class:`BackendError` naming where that ``nc`` comes from (the probe image) and the flag.
``per_probe`` runs one exec per probe instead: it exists only so the benchmark can show
what batching saves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from itertools import chain, zip_longest

from netprobe.backends.base import Backend
from netprobe.errors import BackendError
from netprobe.model import PodRef
from netprobe.probes import (
    PARALLEL_LIMIT,
    Outcome,
    Probe,
    ProbeResult,
    exec_timeout,
    nc_lacks,
    nc_lacks_reason,
    parse_probe_output,
    probe_command,
)

DEFAULT_WORKERS = 16
EXEC_PROBES = PARALLEL_LIMIT
"""The most probes one exec carries: the probes a pod runs at once, so an exec is one wave
and its deadline one probe timeout plus margins (:func:`~netprobe.probes.exec_timeout`),
whatever the batch. One exec of 1,000 probes waited eight timeouts, one wave after the
other, and on a loaded machine its waves outran even that deadline (235 ERRORs in a round
of 100 local pods). It bounds the script too (at most 8.3 KB: 128 IPv6 lines; one stdin
frame on Kubernetes, see :mod:`netprobe.backends.kubernetes.execinput`), what one lost
exec turns into ERRORs, and the load on one pod at a time.

Nothing upstream asks for fewer. kube-apiserver serves ``exec`` as a long-running request
(``BasicLongRunningRequestCheck`` with ``"attach", "exec", ...`` in
``pkg/controlplane/apiserver/config.go``), which its max-in-flight limit ("Skip tracking
long running events", ``staging/src/k8s.io/apiserver/pkg/server/filters/maxinflight.go``),
priority and fairness ("Skip tracking long running non-watch requests",
``priority-and-fairness.go``) and request timeout (``WithTimeoutForNonLongRunningRequests``,
``timeout.go``) all leave alone; the kubelet closes an exec stream only once it has been
idle for ``streamingConnectionIdleTimeout`` (4 h by default, 5 min on some hardened nodes),
and the script prints a marker per probe. The price is one handshake per exec (API server,
kubelet, runtime): eight for 1,000 probes instead of one, made side by side by the pool."""

Batches = Mapping[PodRef, Sequence[Probe]]
RoundResults = dict[tuple[PodRef, Probe], ProbeResult]


def probe_round(
    backend: Backend,
    batches: Batches,
    timeout: float,
    *,
    workers: int = DEFAULT_WORKERS,
    per_probe: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> RoundResults:
    """Probe every ``(source, probe)`` of ``batches``; a result for each.

    Args:
        backend: where the source pods run.
        batches: per source pod, the probes to run from it (duplicates are probed once).
        timeout: the probe timeout (``nc -w``), in seconds.
        workers: how many execs run at the same time.
        per_probe: one exec per probe (slow; for the benchmark's comparison only).
        on_batch: told how many probes each finished exec ran (progress).

    Returns:
        A result per ``(source, probe)``, in the order of ``batches`` and of their probes.
    """
    size = 1 if per_probe else EXEC_PROBES
    sources: list[tuple[PodRef, tuple[Probe, ...]]] = []
    for source, probes in batches.items():
        unique = tuple(dict.fromkeys(probes))
        if unique:
            sources.append((source, unique))
    jobs = _interleaved(
        [(source, unique[i : i + size]) for i in range(0, len(unique), size)]
        for source, unique in sources
    )
    if not jobs:
        return {}
    found: RoundResults = {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs)))) as pool:
        futures = {
            pool.submit(_exec_batch, backend, source, probes, timeout): (source, probes)
            for source, probes in jobs
        }
        try:
            for future in as_completed(futures):
                source, probes = futures[future]
                for probe, result in zip(probes, future.result(), strict=True):
                    found[(source, probe)] = result
                if on_batch is not None:
                    on_batch(len(probes))
        except BaseException:
            # Ctrl-C: start no more execs; the running ones end by their deadline.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return {
        (source, probe): found[(source, probe)] for source, unique in sources for probe in unique
    }


def _interleaved(
    per_source: Iterable[list[tuple[PodRef, tuple[Probe, ...]]]],
) -> list[tuple[PodRef, tuple[Probe, ...]]]:
    """The first exec of every source, then the second of each, and so on."""
    rounds = zip_longest(*per_source)
    return [job for job in chain.from_iterable(rounds) if job is not None]


def _exec_batch(
    backend: Backend, source: PodRef, probes: tuple[Probe, ...], timeout: float
) -> tuple[ProbeResult, ...]:
    try:
        done = backend.exec(
            source, probe_command(probes, timeout), exec_timeout(timeout, len(probes))
        )
    except BackendError as exc:
        if exc.fatal:
            raise
        failed = ProbeResult(Outcome.ERROR, f"exec in {source} failed: {exc}")
        return tuple(failed for _ in probes)
    lacking = nc_lacks(done.stdout)
    if lacking:
        where = backend.nc_origin(source)
        raise BackendError(f"cannot probe with {where}: {nc_lacks_reason(lacking)}")
    return parse_probe_output(
        probes,
        done.stdout,
        timeout,
        stderr=done.stderr,
        exit_code=done.exit_code,
        timed_out=done.timed_out,
    )
