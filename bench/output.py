"""Benchmark of ``netprobe matrix``'s outputs at scale: the size, time and peak RSS of
``-o classes``, ``-o table`` and ``-o summary`` at 20,000 pods, and of ``-o json`` beside
``-o classes`` at 5,000 pods (``-o json`` at 20,000 pods would be 1.6e9 lines: its size is
estimated from the 5,000-pod one, as cells grow with pods squared).

The clusters are ``bench/analyzer.py``'s (seeded, one policy per five pods), written as
JSON; each output is one ``python -m netprobe matrix`` process whose standard output is
counted through a pipe, never stored, and whose peak RSS is its ``ru_maxrss``. It prints
figures; it never asserts.

    python bench/output.py [--pods 20000] [--json-pods 5000] [--seed 7]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from analyzer import CLI_PORTS

HERE = Path(__file__).resolve()
CHUNK = 1 << 20


def _counted(command: list[str]) -> tuple[int, float, float, float]:
    """Bytes written to standard output, wall seconds, CPU seconds (user and system: the
    figure to trust on a busy machine) and peak RSS in MiB of ``command``, run in this
    checkout."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, cwd=HERE.parents[1])
    assert child.stdout is not None
    size = 0
    while chunk := child.stdout.read(CHUNK):
        size += len(chunk)
    _, status, usage = os.wait4(child.pid, 0)
    took = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(command)} failed ({os.waitstatus_to_exitcode(status)})")
    return size, took, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def outputs(pods: int, json_pods: int, seed: int) -> None:
    """Prints a row per (pods, output) and the estimated ``-o json`` size at ``pods``."""
    print(f"netprobe matrix outputs, ports {CLI_PORTS}, seed {seed}, one process each")
    print(f"{'pods':>6} {'output':<8} {'MB':>10} {'wall s':>8} {'CPU s':>8} {'RSS MiB':>8}")
    runs = [(json_pods, "json"), (json_pods, "classes"), (pods, "summary")]
    runs += [(pods, "classes"), (pods, "table")]
    sizes: dict[tuple[int, str], int] = {}
    with tempfile.TemporaryDirectory() as folder:
        for size in sorted({pods, json_pods}):
            path = Path(folder) / f"cluster-{size}.json"
            write = [sys.executable, str(HERE.parent / "analyzer.py"), "--seed", str(seed)]
            _counted([*write, "--write-child", str(size), str(path)])
        for size, output in runs:
            path = Path(folder) / f"cluster-{size}.json"
            command = [sys.executable, "-m", "netprobe", "matrix", "-f", str(path)]
            written, took, cpu, rss = _counted([*command, "--ports", CLI_PORTS, "-o", output])
            sizes[size, output] = written
            print(
                f"{size:>6} {output:<8} {written / 1e6:>10,.1f} {took:>8.2f} {cpu:>8.2f}"
                f" {rss:>8,.0f}"
            )
    estimate = sizes[json_pods, "json"] * (pods / json_pods) ** 2
    times = estimate / max(1, sizes[pods, "classes"])
    print(
        f"{pods:>6} {'json':<8} {estimate / 1e6:>10,.0f}  estimated ({json_pods:,}-pod size x"
        f" ({pods:,}/{json_pods:,})^2), {times:,.0f} times the size of -o classes"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=20000)
    parser.add_argument("--json-pods", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    outputs(args.pods, args.json_pods, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
