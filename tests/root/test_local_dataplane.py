"""The local dataplane end to end, probed with real netcat: reachability, enforcement of
policies (default deny, exact allows, relabeling, ipBlock with except on external hosts),
apply delays, exec deadlines, teardown and cleanup after a killed run."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest

from netprobe.backends.local import LocalBackend, LocalOptions
from netprobe.backends.local.naming import STATE_DIR
from netprobe.model import (
    NAMESPACE_NAME_LABEL,
    ClusterState,
    ContainerPort,
    IPBlock,
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
from netprobe.selectors import Labels, LabelSelector
from netprobe.suite.model import ApplyPolicy, DeletePolicy, SetNamespaceLabels, SetPodLabels

pytestmark = pytest.mark.root

TCP, UDP = Protocol.TCP, Protocol.UDP
PORTS = (ContainerPort(80, name="http"), ContainerPort(81), ContainerPort(80, UDP, "dns"))
ALLOWED_EXTERNAL = ip_address("192.0.2.20")
BLOCKED_EXTERNAL = ip_address("192.0.2.10")
XA, XB, YA, YB = (PodRef("x", "a"), PodRef("x", "b"), PodRef("y", "a"), PodRef("y", "b"))


def namespaces(*names: str) -> list[Namespace]:
    return [Namespace(name, Labels({NAMESPACE_NAME_LABEL: name})) for name in names]


def pods(*refs: PodRef) -> list[Pod]:
    return [Pod(ref, Labels({"app": ref.name}), PORTS) for ref in refs]


EVERY = LabelSelector()


def sel(**labels: str) -> LabelSelector:
    return LabelSelector(Labels(labels))


def probe(backend: LocalBackend, source: PodRef, target: object, port: int, proto: Protocol) -> str:
    """connected / refused / timeout, as netcat reports it."""
    if proto is TCP:
        result = backend.exec(source, ["nc", "-z", "-v", "-w", "1", str(target), str(port)], 5)
        if result.exit_code == 0:
            return "connected"
    else:
        script = f"echo ping | nc -u -w 1 {target} {port}"
        result = backend.exec(source, ["sh", "-c", script], 5)
        if "netprobe" in result.stdout:
            return "connected"
    return "refused" if "refused" in result.stderr else "timeout"


def probe_all(
    backend: LocalBackend, cases: Sequence[tuple[PodRef, object, int, Protocol]]
) -> list[str]:
    """Every probe at once (denied ones each wait the 1 s timeout)."""
    with ThreadPoolExecutor(len(cases)) as pool:
        return list(pool.map(lambda case: probe(backend, *case), cases))


def ip(backend: LocalBackend, ref: PodRef) -> str:
    found = backend.snapshot().pod(ref)
    assert found is not None
    return str(found.ip)


@pytest.fixture(scope="module")
def backend() -> Iterator[LocalBackend]:
    with LocalBackend() as local:
        local.deploy(
            namespaces("x", "y"), pods(XA, XB, YA, YB), [BLOCKED_EXTERNAL, ALLOWED_EXTERNAL]
        )
        yield local


@pytest.fixture
def net(backend: LocalBackend) -> Iterator[LocalBackend]:
    """The module's dataplane, with policies and labels restored after each test."""
    start = backend.snapshot()
    yield backend
    for policy in backend.snapshot().policies:
        backend.perform(DeletePolicy(policy.ref))
    for pod in start.pods:
        backend.perform(SetPodLabels(pod.ref, pod.labels))
    for space in start.namespaces:
        backend.perform(SetNamespaceLabels(space.name, space.labels))


def ingress(name: str, ns: str, *rules: Rule, selector: LabelSelector = EVERY) -> NetworkPolicy:
    return NetworkPolicy(PolicyRef(ns, name), selector, (PolicyType.INGRESS,), rules)


def egress(name: str, ns: str, *rules: Rule, selector: LabelSelector = EVERY) -> NetworkPolicy:
    return NetworkPolicy(PolicyRef(ns, name), selector, (PolicyType.EGRESS,), (), rules)


def test_every_pod_serves_tcp_and_udp_and_closed_ports_refuse(net: LocalBackend) -> None:
    yb = ip(net, YB)
    cases = [
        (XA, yb, 80, TCP),
        (XA, yb, 81, TCP),
        (XA, yb, 82, TCP),
        (XA, yb, 80, UDP),
        (YB, ip(net, XA), 80, UDP),
    ]
    assert probe_all(net, cases) == ["connected", "connected", "refused", "connected", "connected"]


def test_default_deny_times_out_while_an_open_namespace_still_refuses(net: LocalBackend) -> None:
    net.perform(ApplyPolicy(ingress("deny", "y")))
    cases = [
        (XA, ip(net, YA), 80, TCP),
        (XA, ip(net, YA), 82, TCP),
        (XA, ip(net, YA), 80, UDP),
        (YB, ip(net, YA), 80, TCP),
        (XA, ip(net, XB), 82, TCP),
        (YA, ip(net, XA), 80, TCP),
    ]
    assert probe_all(net, cases) == [
        "timeout",
        "timeout",
        "timeout",
        "timeout",
        "refused",
        "connected",
    ]


def test_an_allow_opens_exactly_the_intended_pair_and_port(net: LocalBackend) -> None:
    net.perform(ApplyPolicy(ingress("deny", "y")))
    from_x_a = Peer(
        pod_selector=sel(app="a"), namespace_selector=sel(**{NAMESPACE_NAME_LABEL: "x"})
    )
    allow = ingress(
        "allow", "y", Rule((from_x_a,), (PolicyPort(TCP, "http"),)), selector=sel(app="b")
    )
    net.perform(ApplyPolicy(allow))
    yb = ip(net, YB)
    cases = [
        (XA, yb, 80, TCP),
        (XA, yb, 81, TCP),
        (XA, yb, 80, UDP),
        (XB, yb, 80, TCP),
        (XA, ip(net, YA), 80, TCP),
    ]
    assert probe_all(net, cases) == ["connected", "timeout", "timeout", "timeout", "timeout"]


def test_relabeling_pods_and_namespaces_changes_enforcement(net: LocalBackend) -> None:
    clients = Rule((Peer(pod_selector=sel(role="client"), namespace_selector=LabelSelector()),))
    team = Rule((Peer(namespace_selector=sel(team="blue")),))
    net.perform(ApplyPolicy(ingress("clients", "y", clients, team)))
    ya = ip(net, YA)
    assert probe_all(net, [(XA, ya, 80, TCP), (XB, ya, 80, TCP)]) == ["timeout", "timeout"]
    net.perform(SetPodLabels(XA, Labels({"app": "a", "role": "client"})))
    assert probe_all(net, [(XA, ya, 80, TCP), (XB, ya, 80, TCP)]) == ["connected", "timeout"]
    net.perform(SetNamespaceLabels("x", Labels({"team": "blue"})))
    assert probe_all(net, [(XB, ya, 80, TCP)]) == ["connected"]
    snapshot = net.snapshot().namespace("x")
    assert snapshot is not None and snapshot.labels[NAMESPACE_NAME_LABEL] == "x"


def test_external_hosts_answer_and_ipblock_except_blocks_one(net: LocalBackend) -> None:
    block = IPBlock(ip_network("192.0.2.0/24"), (ip_network(f"{BLOCKED_EXTERNAL}/32"),))
    out = egress("out", "x", Rule((Peer(ip_block=block),)), selector=sel(app="a"))
    net.perform(ApplyPolicy(out))
    cases = [
        (XA, ALLOWED_EXTERNAL, 443, TCP),
        (XA, ALLOWED_EXTERNAL, 53, UDP),
        (XA, BLOCKED_EXTERNAL, 443, TCP),
        (XA, ip(net, XB), 80, TCP),
        (XB, BLOCKED_EXTERNAL, 443, TCP),
    ]
    assert probe_all(net, cases) == ["connected", "connected", "timeout", "timeout", "connected"]


def test_every_kind_of_rule_loads_into_nftables(net: LocalBackend) -> None:
    everything = Rule(
        (
            Peer(pod_selector=sel(app="b")),
            Peer(namespace_selector=LabelSelector()),
            Peer(
                ip_block=IPBlock(
                    ip_network("10.0.0.0/8"), (ip_network("10.1.0.0/16"), ip_network("10.1.2.0/24"))
                )
            ),
            Peer(ip_block=IPBlock(ip_network("fd00::/8"))),
        ),
        (
            PolicyPort(TCP, "http"),
            PolicyPort(UDP, "dns"),
            PolicyPort(TCP, 1000, 2000),
            PolicyPort(TCP, 1500, 2500),
            PolicyPort(Protocol.SCTP, 9),
            PolicyPort(UDP),
        ),
    )
    both = NetworkPolicy(
        PolicyRef("x", "all"),
        LabelSelector(),
        (PolicyType.INGRESS, PolicyType.EGRESS),
        (everything,),
        (everything,),
    )
    net.perform(ApplyPolicy(both))
    assert probe_all(net, [(XA, ip(net, XB), 80, TCP), (XA, ip(net, XB), 81, TCP)]) == [
        "connected",
        "timeout",
    ]


def test_exec_kills_the_whole_process_group_at_the_deadline(net: LocalBackend) -> None:
    started = time.monotonic()
    result = net.exec(XA, ["sh", "-c", "sleep 30 & sleep 30; echo never"], 0.3)
    assert result.timed_out and result.exit_code is None and "never" not in result.stdout
    assert time.monotonic() - started < 2
    assert "sleep" not in commands_inside(net.names.pod(0))


def test_apply_delay_converges_within_the_bound() -> None:
    with LocalBackend(LocalOptions(apply_delay=0.6, seed=4)) as local:
        local.deploy(namespaces("x", "y"), pods(XA, YA), [])
        local.perform(ApplyPolicy(ingress("deny", "y")))
        assert local.pending_changes() == 1
        deadline = time.monotonic() + 2
        while local.pending_changes() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert local.pending_changes() == 0
        assert probe(local, XA, ip(local, YA), 80, TCP) == "timeout"


def commands_inside(netns: str) -> set[str]:
    """The command names of the processes inside the namespace at path ``netns``."""
    wanted = os.stat(netns)
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            info = (entry / "ns" / "net").stat()
            if (info.st_dev, info.st_ino) == (wanted.st_dev, wanted.st_ino):
                found.add((entry / "comm").read_text().strip())
        except OSError:
            continue
    return found


def host_view() -> tuple[set[str], set[str], str]:
    """The host's links, every namespace (the users' and netprobe runs'), its nft tables."""
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True)
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=True)
    link_names = {line.split(": ")[1].split("@")[0] for line in links.stdout.splitlines()}
    spaces = {line.split()[0] for line in netns.stdout.splitlines()}
    spaces |= {str(path.relative_to(STATE_DIR)) for path in STATE_DIR.glob("*/ns/*")}
    return link_names, spaces, tables.stdout


def test_nine_pods_deploy_fast_and_teardown_leaves_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    links, _, tables = host_view()
    refs = [PodRef(ns, name) for ns in "xyz" for name in "abc"]
    backend = LocalBackend()
    started = time.monotonic()
    backend.deploy(namespaces("x", "y", "z"), pods(*refs), [ALLOWED_EXTERNAL])
    deployed = time.monotonic()
    during = host_view()
    backend.teardown()
    done = time.monotonic()
    with capsys.disabled():
        print(
            f"\n9 pods + 1 external: deploy {deployed - started:.3f} s, "
            f"teardown {done - deployed:.3f} s"
        )
    assert deployed - started < 3
    assert {name for name in during[1] if name.startswith(f"{backend.run_id}/")} == {
        f"{backend.run_id}/ns/{suffix}" for suffix in ["node", "x0", *(f"p{i}" for i in range(9))]
    }
    assert during[0] == links and during[2] == tables  # nothing configured in the host namespace
    after = host_view()
    assert after[0] == links and after[2] == tables
    assert not {name for name in after[1] if backend.run_id in name}
    backend.teardown()  # twice is fine


DEPLOY_AND_WAIT = """
import subprocess, sys, time
from netprobe.backends.local import LocalBackend, LocalOptions
from netprobe.model import Namespace, Pod, PodRef, ContainerPort
from netprobe.selectors import Labels
backend = LocalBackend(LocalOptions(run_id=sys.argv[1]))
pods = [Pod(PodRef("x", n), Labels(), (ContainerPort(80),)) for n in "ab"]
backend.deploy([Namespace("x", Labels())], pods, [])
print("deployed", *(server.process.pid for server in backend._servers), flush=True)
time.sleep(60)
"""


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, waiting for a reaper, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_cleanup_removes_what_a_killed_run_left() -> None:
    run_id = os.urandom(3).hex()
    child = subprocess.Popen(
        [sys.executable, "-c", DEPLOY_AND_WAIT, run_id], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        word, *servers = child.stdout.readline().split()
        assert word == "deployed" and len(servers) == 1  # one process serves both pods
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    # its probe servers see their stdin close and end by themselves
    deadline = time.monotonic() + 5
    while any(alive(int(pid)) for pid in servers):
        assert time.monotonic() < deadline, "the servers of a killed run kept running"
        time.sleep(0.05)
    left = {name for name in host_view()[1] if run_id in name}
    assert left == {f"{run_id}/ns/node", f"{run_id}/ns/p0", f"{run_id}/ns/p1"}
    done = subprocess.run(
        [sys.executable, "-m", "netprobe", "cleanup"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert f"removed netns node (run {run_id})" in done.stdout
    assert f"removed run /run/netprobe/{run_id}" in done.stdout
    assert not {name for name in host_view()[1] if run_id in name}


def test_a_second_deploy_and_an_unknown_pod_are_backend_errors(net: LocalBackend) -> None:
    from netprobe.errors import BackendError

    with pytest.raises(BackendError, match="already deployed"):
        net.deploy([], [], [])
    with pytest.raises(BackendError, match="no pod x/zz"):
        net.exec(PodRef("x", "zz"), ["true"], 1)
    assert isinstance(net.snapshot(), ClusterState)
    assert dataclasses.is_dataclass(net.options)


def test_a_failed_deploy_removes_what_it_had_created() -> None:
    from netprobe.errors import BackendError

    links, _, tables = host_view()
    local = LocalBackend(LocalOptions(ready_timeout=0.0))
    with pytest.raises(BackendError, match="not ready after 0 s: x/a"):
        local.deploy(namespaces("x"), pods(XA), [ALLOWED_EXTERNAL])
    after = host_view()
    assert not {name for name in after[1] if local.run_id in name}
    assert after[0] == links and after[2] == tables
