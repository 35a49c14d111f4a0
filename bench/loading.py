"""Benchmark of reading manifests: cluster dumps in JSON and YAML -> modelled objects.

Writes seeded synthetic clusters of 5,000, 20,000 and 150,000 pods (issue 14's sizes: one
namespace per 50 pods, 3,000 at 150,000; one policy per 5 pods, with every kind of peer),
pods shaped as ``kubectl get -o json`` prints them (owner references, conditions, fields
netprobe does not read), as one ``kind: List`` in three forms: JSON as kubectl prints it
(indented), JSON on one line, and YAML as kubectl prints it (block style, plain scalars).
For each file and reader (libyaml's C parser, and PyYAML's pure-Python one that netprobe
falls back to without libyaml, the latter only up to ``--pure-up-to`` pods: it is slow), a
fresh process times the whole load (files -> ClusterState: wall and CPU seconds, the
latter telling on a busy machine) and reports its peak RSS. JSON is read by the
json module whatever the YAML reader, so it is measured once. For the JSON dump as kubectl
prints it, it also times ``netprobe explain`` end to end (issue 14: under 5 s at 150,000
pods, load included), and how long a hostile file (10 MB of one key repeated) takes to be
rejected. It prints figures; it never asserts.

    python bench/loading.py [--sizes 5000,20000,150000] [--seed 7] [--pure-up-to 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

TIERS = ("web", "api", "db", "cache", "worker")
TEAMS = ("red", "blue", "green", "gold", "teal", "plum")
ENVS = ("prod", "staging", "dev")
PODS_PER_NAMESPACE = 50
PODS_PER_POLICY = 5


def synthetic_objects(pods: int, seed: int) -> Iterator[dict[str, Any]]:
    """Namespaces, pods (labels, named ports, IPs, what kubectl prints besides) and
    policies with every kind of peer, port and selector."""
    rng = random.Random(seed)
    names = [f"ns{n:04d}" for n in range(max(1, pods // PODS_PER_NAMESPACE))]
    for name in names:
        labels = {"team": rng.choice(TEAMS), "env": rng.choice(ENVS)}
        yield {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": labels},
        }
    for number in range(pods):
        yield _pod(rng, number, rng.choice(names))
    for number in range(pods // PODS_PER_POLICY):
        yield _policy(rng, number, rng.choice(names))


def _pod(rng: random.Random, number: int, namespace: str) -> dict[str, Any]:
    tier = rng.choice(TIERS)
    workload = f"{tier}-{number // 20}"
    template = f"{rng.getrandbits(32):08x}"[:10]
    ip = f"10.{number // 65536}.{number // 256 % 256}.{number % 256}"
    ports = [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    if tier == "web":
        ports.append({"name": "metrics", "containerPort": 9090, "protocol": "TCP"})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{workload}-{template}-{number:06d}",
            "namespace": namespace,
            "uid": f"{rng.getrandbits(128):032x}",
            "creationTimestamp": "2026-01-02T03:04:05Z",
            "labels": {
                "app": workload,
                "tier": tier,
                "team": rng.choice(TEAMS),
                "pod-template-hash": template,
            },
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"{workload}-{template}",
                    "uid": f"{rng.getrandbits(128):032x}",
                    "controller": True,
                }
            ],
        },
        "spec": {
            "containers": [
                {
                    "name": "main",
                    "image": f"registry.example/{tier}:1.{number % 7}",
                    "ports": ports,
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                }
            ],
            "nodeName": f"node-{number % 300}",
            "restartPolicy": "Always",
        },
        "status": {
            "phase": "Running",
            "hostIP": f"192.168.{number % 300 // 256}.{number % 256}",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def _policy(rng: random.Random, number: int, namespace: str) -> dict[str, Any]:
    peer = {
        "podSelector": {
            "matchExpressions": [{"key": "team", "operator": "In", "values": rng.sample(TEAMS, 2)}]
        },
        "namespaceSelector": {"matchLabels": {"team": rng.choice(TEAMS)}},
    }
    block = {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.0.128.0/17"]}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"policy-{number:05d}", "namespace": namespace},
        "spec": {
            "podSelector": {"matchLabels": {"tier": rng.choice(TIERS)}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [peer, block],
                    "ports": [{"port": "http", "protocol": "TCP"}, {"port": 8000, "endPort": 8100}],
                }
            ],
            "egress": [{"to": [{"namespaceSelector": {}}], "ports": [{"port": 53}]}],
        },
    }


def write_files(pods: int, seed: int, folder: Path) -> tuple[dict[str, Path], list[str]]:
    """The three files of a cluster, and its first and last pod (``namespace/name``)."""
    listed = {"apiVersion": "v1", "kind": "List", "items": list(synthetic_objects(pods, seed))}
    ends = [
        f"{item['metadata']['namespace']}/{item['metadata']['name']}"
        for item in listed["items"]
        if item["kind"] == "Pod"
    ][:: max(1, pods - 1)]
    files = {
        "JSON (kubectl)": folder / f"cluster-{pods}.json",
        "JSON one line": folder / f"cluster-{pods}-one-line.json",
        "YAML (kubectl)": folder / f"cluster-{pods}.yaml",
    }
    files["JSON (kubectl)"].write_text(json.dumps(listed, indent=4), encoding="utf-8")
    files["JSON one line"].write_text(json.dumps(listed), encoding="utf-8")
    with files["YAML (kubectl)"].open("w", encoding="utf-8") as out:
        out.writelines(_block_yaml(listed, ""))
    return files, ends


_PLAIN = re.compile(r"[A-Za-z0-9][-A-Za-z0-9_./:]*")
_RESOLVER = Resolver()


def _scalar(value: Any) -> str:
    """A scalar as kubectl writes it: plain when it reads back as itself, else quoted."""
    if isinstance(value, str):
        plain = _PLAIN.fullmatch(value) and ": " not in value
        if plain and _RESOLVER.resolve(ScalarNode, value, (True, False)).endswith(":str"):
            return value
        return json.dumps(value)  # a JSON string is a YAML double-quoted scalar
    return json.dumps(value)


def _block_yaml(value: Any, indent: str) -> Iterator[str]:
    """YAML in block style, as ``kubectl get -o yaml`` prints it (many times faster to
    write than PyYAML's emitter: 150,000 pods take seconds)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                yield f"{indent}{key}:\n"
                yield from _block_yaml(item, indent + ("" if isinstance(item, list) else "  "))
            else:
                empty = "{}" if isinstance(item, dict) else "[]"
                shown = empty if isinstance(item, dict | list) else _scalar(item)
                yield f"{indent}{key}: {shown}\n"
    else:
        for item in value:
            if isinstance(item, dict) and item:
                first, *rest = _block_yaml(item, indent + "  ")
                yield f"{indent}- {first[len(indent) + 2 :]}"
                yield from rest
            else:
                yield f"{indent}- {_scalar(item)}\n"


def measure(path: Path, reader: str) -> dict[str, float]:
    """In this process: the whole load of ``path`` with ``reader`` and its peak RSS."""
    from netprobe import yamltext
    from netprobe.manifests import load_state

    yamltext.use_libyaml = reader == "libyaml"
    started, cpu = time.perf_counter(), time.process_time()
    state = load_state([path], lambda _: None)
    load, cpu = time.perf_counter() - started, time.process_time() - cpu
    # ru_maxrss is in KiB on Linux (getrusage(2)).
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"load": load, "cpu": cpu, "rss": rss, "pods": len(state.pods)}


def run_apart(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MiB and standard output of ``command``, a child process
    of its own (``os.wait4`` gives that one child's ``ru_maxrss``, in KiB on Linux)."""
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        took = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status):
            raise SystemExit(f"{' '.join(command)} failed")
        out.seek(0)
        return took, usage.ru_maxrss / 1024, out.read()


def rejection(path: Path) -> tuple[float, str]:
    from netprobe.documents import load_yaml_documents
    from netprobe.errors import InputError

    started = time.perf_counter()
    try:
        load_yaml_documents(path)
    except InputError as exc:
        return time.perf_counter() - started, str(exc)
    return time.perf_counter() - started, "accepted"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,20000,150000", help="pods, comma-separated")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pure-up-to", type=int, default=5000, help="pods read pure-Python")
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--write", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.write:
        files, ends = write_files(int(args.write[0]), args.seed, Path(args.write[1]))
        print(json.dumps({"files": {label: str(path) for label, path in files.items()}}))
        print(json.dumps({"pods": ends}))
        return 0
    if args.measure:
        print(json.dumps(measure(Path(args.measure[0]), args.measure[1])))
        return 0
    print(
        f"manifest loading benchmark (seed {args.seed}; a namespace per {PODS_PER_NAMESPACE} "
        f"pods, a policy per {PODS_PER_POLICY}; Python {sys.version.split()[0]}, "
        f"libyaml {'yes' if yaml.__with_libyaml__ else 'no'}; each figure from a fresh process)"
    )
    print(
        f"{'pods':>7} {'file':<15} {'reader':<11} {'MB':>6} {'load s':>7} {'CPU s':>6}"
        f" {'RSS MiB':>8}"
    )
    here = str(Path(__file__).resolve())
    with tempfile.TemporaryDirectory() as folder:
        explained = []
        for pods in (int(text) for text in args.sizes.split(",")):
            # Written by another process: each measuring process starts with the RSS of the
            # one that starts it ("resource usage metrics are preserved across an execve").
            write = [sys.executable, here, "--seed", str(args.seed), "--write", str(pods), folder]
            _, _, out = run_apart(write)
            written, ends = map(json.loads, out.splitlines())
            files = {label: Path(path) for label, path in written["files"].items()}
            for label, path in files.items():
                readers = ["libyaml"]
                if label.startswith("YAML") and yaml.__with_libyaml__ and pods <= args.pure_up_to:
                    readers.append("pure-Python")
                for reader in readers:
                    _, _, out = run_apart([sys.executable, here, "--measure", str(path), reader])
                    got = json.loads(out)
                    name = reader if label.startswith("YAML") else "json"
                    print(
                        f"{pods:>7} {label:<15} {name:<11} {path.stat().st_size / 1e6:>6.1f}"
                        f" {got['load']:>7.2f} {got['cpu']:>6.2f} {got['rss']:>8,.0f}",
                        flush=True,
                    )
            command = [sys.executable, "-m", "netprobe", "explain", "-f"]
            command += [str(files["JSON (kubectl)"]), *ends["pods"][-2:], "http"]
            took, rss, _ = run_apart(command)
            explained.append(f"{pods:>7} {took:>6.2f} {rss:>8,.0f}")
            for path in files.values():
                path.unlink()
        print("\n`netprobe explain -f cluster.json FROM TO http` (JSON as kubectl prints it)")
        print(f"{'pods':>7} {'wall s':>6} {'RSS MiB':>8}   (issue 14: under 5 s at 150,000 pods)")
        print("\n".join(explained))
        hostile = Path(folder) / "repeated-keys.yaml"
        hostile.write_text("a: 1\n" * 2_000_000, encoding="utf-8")
        took, message = rejection(hostile)
        print(f"\n10 MB of 'a: 1' lines rejected in {took:.2f} s: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
