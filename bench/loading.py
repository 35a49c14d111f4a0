"""Benchmark of reading manifests: YAML and JSON text -> documents -> modelled objects.

Writes seeded synthetic clusters (5,000 pods and 1,000 policies by default) as a stream of
YAML documents, as one ``kind: List`` document (what ``kubectl get -o yaml`` prints) and as
JSON (``-o json``), then prints for each file and each reader (libyaml's C parser, and
PyYAML's pure-Python one that netprobe falls back to without libyaml) the file size, the
time to parse the documents, the time of the whole manifest load and the peak RSS of a
fresh process that did both. JSON is read by the json module with either, so its rows
differ only by noise. It also times how long a hostile file (10 MB of one key repeated)
takes to be rejected. It prints figures; it never asserts.

    python bench/loading.py [--pods 5000] [--policies 1000] [--seed 7] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from netprobe.documents import load_yaml_documents
from netprobe.errors import InputError
from netprobe.manifests.loader import load_paths

TIERS = ("web", "api", "db", "cache", "worker")
TEAMS = ("red", "blue", "green", "gold", "teal", "plum")
ENVS = ("prod", "staging", "dev")


def synthetic_objects(pods: int, policies: int, seed: int) -> list[dict[str, Any]]:
    """Namespaces, pods (labels, named ports, an IP) and policies with every kind of peer."""
    rng = random.Random(seed)
    names = [f"ns{n:03d}" for n in range(max(1, pods // 100))]
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {"team": rng.choice(TEAMS)}},
        }
        for name in names
    ]
    for number in range(pods):
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"pod-{number:05d}",
                    "namespace": rng.choice(names),
                    "labels": {
                        "tier": rng.choice(TIERS),
                        "team": rng.choice(TEAMS),
                        "env": rng.choice(ENVS),
                    },
                },
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": "registry.example/app:1.0",
                            "ports": [
                                {"name": "http", "containerPort": 80},
                                {"name": "metrics", "containerPort": 9090},
                            ],
                        }
                    ]
                },
                "status": {"podIP": f"10.{number // 65536}.{number // 256 % 256}.{number % 256}"},
            }
        )
    for number in range(policies):
        peer = {
            "podSelector": {
                "matchExpressions": [
                    {"key": "team", "operator": "In", "values": rng.sample(TEAMS, 2)}
                ]
            },
            "namespaceSelector": {"matchLabels": {"team": rng.choice(TEAMS)}},
        }
        block = {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.0.128.0/17"]}}
        objects.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": f"policy-{number:04d}", "namespace": rng.choice(names)},
                "spec": {
                    "podSelector": {"matchLabels": {"tier": rng.choice(TIERS)}},
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": [
                        {
                            "from": [peer, block],
                            "ports": [
                                {"port": "http", "protocol": "TCP"},
                                {"port": 8000, "endPort": 8100},
                            ],
                        }
                    ],
                    "egress": [{"to": [{"namespaceSelector": {}}], "ports": [{"port": 53}]}],
                },
            }
        )
    return objects


def write_files(objects: list[dict[str, Any]], folder: Path) -> dict[str, Path]:
    dump = yaml.CSafeDumper if hasattr(yaml, "CSafeDumper") else yaml.SafeDumper
    files = {
        "YAML stream": folder / "stream.yaml",
        "YAML kind: List": folder / "list.yaml",
        "JSON kind: List": folder / "list.json",
    }
    files["YAML stream"].write_text(
        yaml.dump_all(objects, Dumper=dump, sort_keys=False), encoding="utf-8"
    )
    listed = {"apiVersion": "v1", "kind": "List", "items": objects}
    files["YAML kind: List"].write_text(
        yaml.dump(listed, Dumper=dump, sort_keys=False), encoding="utf-8"
    )
    files["JSON kind: List"].write_text(json.dumps(listed, indent=2), encoding="utf-8")
    return files


def best_of(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def measure(path: Path, reader: str, repeat: int) -> dict[str, float]:
    """Parse and load ``path`` with ``reader`` in this process: the times and the peak RSS."""
    from netprobe import yamltext

    yamltext.use_libyaml = reader == "libyaml"
    parse = best_of(repeat, lambda: load_yaml_documents(path))
    load = best_of(repeat, lambda: load_paths([path], lambda _: None))
    # ru_maxrss is in KiB on Linux (getrusage(2)).
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"parse": parse, "load": load, "rss": rss}


def measured_apart(path: Path, reader: str, repeat: int) -> dict[str, float]:
    """:func:`measure` in a fresh process, so that its peak RSS is its own."""
    command = [sys.executable, __file__, "--measure", str(path), reader, str(repeat)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def written_apart(pods: int, policies: int, seed: int, folder: Path) -> dict[str, Path]:
    command = [sys.executable, __file__, "--write", str(folder)]
    command += ["--pods", str(pods), "--policies", str(policies), "--seed", str(seed)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return {label: Path(path) for label, path in json.loads(done.stdout).items()}


def rejection(path: Path) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        load_yaml_documents(path)
    except InputError as exc:
        return time.perf_counter() - started, str(exc)
    return time.perf_counter() - started, "accepted"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--policies", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--pure-repeat", type=int, default=1, help="runs of the pure-Python reader (slow)"
    )
    parser.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--write", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.write:
        objects = synthetic_objects(args.pods, args.policies, args.seed)
        files = write_files(objects, Path(args.write))
        print(json.dumps({label: str(path) for label, path in files.items()}))
        return 0
    if args.measure:
        path, reader, repeat = args.measure
        print(json.dumps(measure(Path(path), reader, int(repeat))))
        return 0
    print(
        f"manifest loading benchmark ({args.pods:,} pods, {args.policies:,} policies, "
        f"seed {args.seed}, best of {args.repeat} with libyaml and of {args.pure_repeat} "
        f"pure-Python, Python {sys.version.split()[0]}, "
        f"libyaml {'yes' if yaml.__with_libyaml__ else 'no'})"
    )
    print(
        f"{'file':<16} {'reader':<11} {'MB':>5} {'parse s':>8} {'load s':>7} {'peak RSS MiB':>13}"
    )
    readers = [("pure-Python", args.pure_repeat)]
    if yaml.__with_libyaml__:
        readers.insert(0, ("libyaml", args.repeat))
    with tempfile.TemporaryDirectory() as folder:
        # Written by another process: each measuring process starts with the RSS of the one
        # that starts it ("resource usage metrics are preserved across an execve", getrusage(2)).
        files = written_apart(args.pods, args.policies, args.seed, Path(folder))
        for label, path in files.items():
            size = path.stat().st_size / 1e6
            for reader, repeat in readers:
                got = measured_apart(path, reader, repeat)
                print(
                    f"{label:<16} {reader:<11} {size:>5.1f} {got['parse']:>8.2f} "
                    f"{got['load']:>7.2f} {got['rss']:>13.0f}"
                )
        hostile = Path(folder) / "repeated-keys.yaml"
        hostile.write_text("a: 1\n" * 2_000_000, encoding="utf-8")
        took, message = rejection(hostile)
        print(f"10 MB of 'a: 1' lines rejected in {took:.2f} s: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
