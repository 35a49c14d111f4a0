"""Benchmark of reading manifests: YAML and JSON text -> documents -> modelled objects.

Writes seeded synthetic clusters (5,000 pods and 1,000 policies by default) as a stream of
YAML documents, as one ``kind: List`` document (what ``kubectl get -o yaml`` prints) and as
JSON, then prints for each the file size, the time to parse the documents, the time of the
whole manifest load and the memory the parse holds at its peak. It also times how long a
hostile file (10 MB of one key repeated) takes to be rejected. It prints figures; it never
asserts.

    python bench/loading.py [--pods 5000] [--policies 1000] [--seed 7] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import tracemalloc
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


def peak_mib(work: Callable[[], object]) -> float:
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


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
    parser.add_argument("--no-tracemalloc", action="store_true", help="skip the memory runs")
    args = parser.parse_args(argv)
    print(
        f"manifest loading benchmark ({args.pods:,} pods, {args.policies:,} policies, "
        f"seed {args.seed}, best of {args.repeat}, Python {sys.version.split()[0]}, "
        f"libyaml {'yes' if yaml.__with_libyaml__ else 'no'})"
    )
    print(f"{'file':<16} {'MB':>6} {'parse s':>8} {'load s':>7} {'parse peak MiB':>15}")
    objects = synthetic_objects(args.pods, args.policies, args.seed)
    with tempfile.TemporaryDirectory() as folder:
        for label, path in write_files(objects, Path(folder)).items():
            size = path.stat().st_size / 1e6
            parse = best_of(args.repeat, lambda path=path: load_yaml_documents(path))
            load = best_of(args.repeat, lambda path=path: load_paths([path], lambda _: None))
            peak = "-"
            if not args.no_tracemalloc:
                peak = f"{peak_mib(lambda path=path: load_yaml_documents(path)):.0f}"
            print(f"{label:<16} {size:>6.1f} {parse:>8.2f} {load:>7.2f} {peak:>15}")
        hostile = Path(folder) / "repeated-keys.yaml"
        hostile.write_text("a: 1\n" * 2_000_000, encoding="utf-8")
        took, message = rejection(hostile)
        print(f"10 MB of 'a: 1' lines rejected in {took:.2f} s: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
