#!/usr/bin/env python3
"""make e2e-emulated: every suite, ``--backend kubernetes``, against the emulated cluster.

The emulated cluster (tests/emulator) is an API server the real ``kubernetes`` client talks
to over HTTPS and WebSocket, whose pods are network namespaces of the local dataplane and
whose NetworkPolicies the local nftables compiler enforces; it runs inside a private mount
and network namespace of this process (tests/private_host.py), so nothing of this machine
is touched. ``netprobe run`` runs as a separate process, as a user would run it, with the
kubeconfig the cluster hands out; its JUnit and JSON reports land in REPORTS.

Exit status: netprobe's, or 1 when the reports show a dataplane disagreement or an error
(the emulated dataplane must agree with the analyzer everywhere). Root needed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 1200
sys.path.insert(0, str(ROOT / "tests"))

import private_host  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        usage="%(prog)s [--reports DIR] [SUITE...] [-- NETPROBE_RUN_ARGS]",
    )
    parser.add_argument("suites", nargs="*", default=["suites"])
    parser.add_argument("--reports", default="reports/emulated", type=Path)
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    args.netprobe_args = extra
    args.reports = args.reports.resolve()
    args.suites = [str(Path(suite).resolve()) for suite in args.suites]
    if not private_host.enter():
        print(f"e2e-emulated: {private_host.SKIP_REASON}", file=sys.stderr)
        return 3
    from emulator.cluster import EmulatedCluster

    args.reports.mkdir(parents=True, exist_ok=True)
    junit, results = args.reports / "junit.xml", args.reports / "results.json"
    with (
        tempfile.TemporaryDirectory(prefix="netprobe-emulated-") as folder,
        EmulatedCluster(Path(folder)) as cluster,
    ):
        command = [
            sys.executable, "-m", "netprobe", "run", *args.suites,
            "--backend", "kubernetes", "--kubeconfig", str(cluster.kubeconfig),
            "--use-existing-namespaces", "--junit", str(junit), "--json", str(results),
            *args.netprobe_args,
        ]  # fmt: skip
        print("e2e-emulated:", " ".join(command[1:]), flush=True)
        began = time.monotonic()
        try:
            code = subprocess.run(command, cwd=ROOT, timeout=TIMEOUT).returncode
        except subprocess.TimeoutExpired:
            print(f"e2e-emulated: netprobe run took over {TIMEOUT} s", file=sys.stderr)
            return 1
        took = time.monotonic() - began
        print(f"e2e-emulated: {len(cluster.requests):,} API requests in {took:.0f} s")
        if cluster.errors:
            print(f"e2e-emulated: emulator errors: {cluster.errors}", file=sys.stderr)
            return 1
    return code or _disagreements(results)


def _disagreements(results: Path) -> int:
    report = json.loads(results.read_text())
    statuses = [r["status"] for s in report["suites"] for r in s["results"]]
    bad = {status: statuses.count(status) for status in ("dataplane", "policy+dataplane", "error")}
    print(f"e2e-emulated: {len(statuses):,} expectations; " +
          ", ".join(f"{count} {status}" for status, count in bad.items()))  # fmt: skip
    return 1 if any(bad.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
