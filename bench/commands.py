"""Benchmark of ``netprobe diff``, ``lint``, ``generate`` and ``explain`` as whole processes
on the analyzer benchmark's clusters, beside issue 14's targets.

Each figure is one ``python -m netprobe ...`` process, start to exit, with its peak RSS
(``ru_maxrss`` from ``os.wait4``, via ``bench/analyzer.py``'s ``_measured``). The clusters
are ``bench/analyzer.py``'s (one namespace per 100 pods, one policy per five pods), written
by a child process; ``diff`` compares them before and after ``bench/diff.py``'s "rule
edited" change (one policy; the others come with ``-f``). ``explain`` is also timed
in-process on a constructed cluster (150,000 pods by default; loading excluded), and end
to end at that size with ``--explain-e2e``. It prints figures; it never asserts.

    python bench/commands.py [--sizes 5000,20000] [--explain-pods 150000] [--explain-e2e]
        [--commands diff,lint,generate,explain] [--format yaml|json] [--seed 7]
"""

from __future__ import annotations

import argparse
import io
import resource
import sys
import tempfile
import time
from pathlib import Path

from analyzer import _measured, synthetic_cluster, write_cluster
from diff import _edited

from netprobe.analyzer import evaluate
from netprobe.commands.explain import build_connection
from netprobe.model import ClusterState
from netprobe.report.explain import WRITERS

COMMANDS = ("diff", "lint", "generate", "explain")

TARGETS = {
    ("diff", 20000): 10.0,
    ("lint", 20000): 30.0,
    ("generate", 20000): 30.0,
    ("explain", 150000): 5.0,
}
"""Issue 14's targets, seconds of the whole process, by (command, pods)."""


def explained(namespaces: int) -> tuple[tuple[str, str, str], ...]:
    """Connections to explain: pod to pod, to a named port of a pod of the same namespace
    (pod ``n`` lives in namespace ``n % namespaces``), towards and from an address."""
    return (
        ("ns000/pod0", "ns001/pod1", "80"),
        ("ns002/pod2", f"ns002/pod{2 + namespaces}", "http"),
        ("ns002/pod2", "10.0.4.1", "443"),
        ("10.0.0.4", "ns001/pod1", "53/UDP"),
    )


def write_child(pods: int, seed: int, folder: Path, suffix: str) -> int:
    """Run in a child process: the cluster, and the changed policy before and after."""
    before = synthetic_cluster(pods, seed)
    write_cluster(before, folder / f"cluster{suffix}")
    _, after = _edited(before)
    old = {policy.ref: policy for policy in before.policies}
    changed = next(policy for policy in after.policies if old[policy.ref] != policy)
    write_cluster(ClusterState(policies=(old[changed.ref],)), folder / f"before{suffix}")
    write_cluster(ClusterState(policies=(changed,)), folder / f"after{suffix}")
    return 0


def explain_child(pods: int, seed: int) -> int:
    """Run in a child process: explain :func:`explained` on a constructed cluster; prints
    ``namespaces policies seconds-of-the-slowest seconds-of-all peak-RSS-MiB``."""
    state = synthetic_cluster(pods, seed)
    took = []
    for source, destination, port in explained(len(state.namespaces)):
        started = time.perf_counter()
        connection = build_connection(source, destination, port, state)
        WRITERS["text"](connection, evaluate(connection, state), io.StringIO())
        took.append(time.perf_counter() - started)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(len(state.namespaces), len(state.policies), max(took), sum(took), peak)
    return 0


def command_line(command: str, folder: Path, suffix: str) -> list[str]:
    cluster_file = str(folder / f"cluster{suffix}")
    if command == "diff":
        before, after = folder / f"before{suffix}", folder / f"after{suffix}"
        arguments = ["-f", cluster_file, "--before", str(before), "--after", str(after)]
    elif command == "lint":  # no finding of the synthetic clusters is an error: exit 0
        arguments = ["-f", cluster_file, "--fail-on", "error"]
    elif command == "generate":
        arguments = ["-f", cluster_file]
    else:
        source, destination, port = explained(1)[0]
        arguments = ["-f", cluster_file, source, destination, port]
    return [sys.executable, "-m", "netprobe", command, *arguments]


def _target(command: str, pods: int) -> str:
    seconds = TARGETS.get((command, pods))
    return "-" if seconds is None else f"< {seconds:g} s"


def _row(command: str, pods: int, policies: int, seconds: float, rss: float, note: str) -> None:
    print(
        f"{command:<9} {pods:>7} {policies:>8} {seconds:>8.2f} {rss:>8,.0f}"
        f"  {_target(command, pods):<9} {note}".rstrip()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,20000", help="pods, comma-separated")
    parser.add_argument("--explain-pods", type=int, default=150000, help="0 to skip")
    parser.add_argument(
        "--explain-e2e", action="store_true", help="also run explain end to end at that size"
    )
    parser.add_argument("--commands", default=",".join(COMMANDS))
    parser.add_argument("--format", choices=("yaml", "json"), default="yaml")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--write-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--explain-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    suffix = f".{args.format}"
    if args.write_child is not None:
        return write_child(int(args.write_child[0]), args.seed, Path(args.write_child[1]), suffix)
    if args.explain_child is not None:
        return explain_child(args.explain_child, args.seed)
    commands = [name for name in args.commands.split(",") if name]
    unknown = set(commands) - set(COMMANDS)
    if unknown:
        parser.error(f"unknown command(s): {', '.join(sorted(unknown))}")
    own = [sys.executable, str(Path(__file__).resolve()), "--seed", str(args.seed)]
    own += ["--format", args.format]
    print(
        f"netprobe commands, whole process (wall s, peak RSS of that process), {args.format}"
        f" clusters of bench/analyzer.py (seed {args.seed}, Python {sys.version.split()[0]})"
    )
    print(f"{'command':<9} {'pods':>7} {'policies':>8} {'wall s':>8} {'RSS MiB':>8}  target")
    sizes = [int(text) for text in args.sizes.split(",") if text]
    if args.explain_e2e and args.explain_pods and "explain" in commands:
        sizes.append(args.explain_pods)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for pods in sizes:
            written, _, _ = _measured([*own, "--write-child", str(pods), name])
            size = (folder / f"cluster{suffix}").stat().st_size / 1e6
            print(f"# {pods} pods: cluster{suffix} {size:.1f} MB, written in {written:.1f} s")
            for command in commands:
                if pods == args.explain_pods and command != "explain":
                    continue
                seconds, rss, _ = _measured(command_line(command, folder, suffix))
                note = "one policy changed" if command == "diff" else ""
                _row(command, pods, pods // 5, seconds, rss, note)
    if args.explain_pods and "explain" in commands:
        pods = args.explain_pods
        _, rss, out = _measured([*own, "--explain-child", str(pods)])
        namespaces, policies, slowest, total, _ = out.split()
        _row(
            "explain",
            pods,
            int(policies),
            float(slowest),
            rss,
            f"in-process, loading excluded: slowest of {len(explained(1))} connections"
            f" ({float(total):.2f} s for all), {namespaces} namespaces; RSS: the process"
            " that built the cluster",
        )
    print(
        "wall s: `python -m netprobe COMMAND -f cluster ...` from start to exit (loading"
        " included); diff: bench/diff.py's rule edited, --before/--after the one policy"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
