"""One round of probes: one exec per source pod running all its probes in parallel, and
the source pods themselves in parallel on a thread pool.

An exec that fails (a :class:`BackendError`, a lost transport) turns that source's probes
into ERROR results carrying the message; it never aborts the round. The one exception is a
pod whose ``nc`` lacks a flag the probes need (the script checks before probing): every
probe of every round would fail the same way, so the run stops with one
:class:`BackendError` naming where that ``nc`` comes from (the probe image) and the flag.
``per_probe`` runs one exec per probe instead: it exists only so the benchmark can show
what batching saves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

from netprobe.backends.base import Backend
from netprobe.errors import BackendError
from netprobe.model import PodRef
from netprobe.probes import (
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
    """
    jobs: list[tuple[PodRef, tuple[Probe, ...]]] = []
    for source, probes in batches.items():
        unique = tuple(dict.fromkeys(probes))
        if not unique:
            continue
        if per_probe:
            jobs.extend((source, (probe,)) for probe in unique)
        else:
            jobs.append((source, unique))
    results: RoundResults = {}
    if not jobs:
        return results
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs)))) as pool:
        futures = {
            pool.submit(_exec_batch, backend, source, probes, timeout): (source, probes)
            for source, probes in jobs
        }
        try:
            for future in as_completed(futures):
                source, probes = futures[future]
                for probe, result in zip(probes, future.result(), strict=True):
                    results[(source, probe)] = result
                if on_batch is not None:
                    on_batch(len(probes))
        except BaseException:
            # Ctrl-C: start no more execs; the running ones end by their deadline.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return results


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
