"""The local dataplane's names and address plan (pure: no root needed)."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import pytest

from netprobe.backends.local import topology
from netprobe.backends.local.naming import IFNAME_MAX, Names, new_run_id
from netprobe.errors import BackendError
from netprobe.model import Pod, PodRef
from netprobe.selectors import Labels

NAMES = Names("0a1b2c")


def pods(count: int) -> list[Pod]:
    return [Pod(PodRef("ns", f"p{i}"), Labels()) for i in range(count)]


def test_namespaces_are_files_in_the_runs_own_directory() -> None:
    assert NAMES.node == "/run/netprobe/0a1b2c/ns/node"
    assert NAMES.pod(12) == "/run/netprobe/0a1b2c/ns/p12"
    assert NAMES.external(3) == "/run/netprobe/0a1b2c/ns/x3"


def test_interface_names_fit_the_kernel_limit() -> None:
    names = Names(new_run_id())
    for name in (names.bridge, names.pod_veth(9999), names.external_veth(999)):
        assert len(name) <= IFNAME_MAX
    with pytest.raises(ValueError, match="longer than 15"):
        names.pod_veth(10000)
    with pytest.raises(ValueError, match="hex"):
        Names("../etc")


def test_pods_get_addresses_after_the_gateway_skipping_external_addresses() -> None:
    externals = [ip_address("10.244.0.3"), ip_address("192.0.2.1")]
    plan = topology.plan(NAMES, pods(3), externals)
    assert [str(slot.ip) for slot in plan.pods] == ["10.244.0.2", "10.244.0.4", "10.244.0.5"]
    assert [str(gw) for gw in plan.gateways] == ["10.244.0.1"]
    assert [name.rsplit("/", 1)[1] for name in plan.namespaces] == [
        "node",
        "p0",
        "p1",
        "p2",
        "x0",
        "x1",
    ]
    # An external inside the pod CIDR is routed through the node, not looked for on the bridge.
    assert "route add 10.244.0.3/32 via 10.244.0.1" in topology.pod_commands(plan, plan.pods[0])
    assert "route add 192.0.2.1/32 dev np-0a1b2c-x1" in topology.node_commands(plan)


def test_ipv6_is_added_only_when_an_external_needs_it() -> None:
    assert len(topology.plan(NAMES, pods(1), []).networks) == 1
    plan = topology.plan(NAMES, pods(1), [ip_address("2001:db8::1")])
    assert [str(a) for a in plan.pods[0].addresses] == ["10.244.0.2", "fd00:10:244::2"]
    assert topology.no_dad_files(plan)
    assert "addr add fd00:10:244::2/128 dev eth0 nodad" in topology.pod_commands(plan, plan.pods[0])
    assert topology.external_commands(plan, plan.externals[0]) == [
        "link set lo up",
        "addr add 2001:db8::1/128 dev eth0 nodad",
        "link set eth0 up",
        "neigh replace fd00:10:244::1 lladdr 02:6e:70:03:00:00 dev eth0 nud permanent",
        "route add fd00:10:244::1/128 dev eth0",
        "route add default via fd00:10:244::1 dev eth0",
    ]


def test_veths_are_created_inside_the_namespaces_never_in_the_host() -> None:
    plan = topology.plan(NAMES, pods(2), [ip_address("192.0.2.1")])
    lines = topology.link_commands(plan)
    assert lines[0] == (
        "link add name np-0a1b2c-p0 netns /run/netprobe/0a1b2c/ns/node index 1000 type veth "
        "peer name eth0 address 02:6e:70:01:00:00 netns /run/netprobe/0a1b2c/ns/p0"
    )
    node = " netns /run/netprobe/0a1b2c/ns/node "
    assert all(node in line and "peer name eth0 address" in line for line in lines)


def test_no_neighbour_is_ever_resolved_nor_any_frame_flooded() -> None:
    # Learned entries count against the host-wide gc_thresh3 (1024): two per pod stopped
    # the dataplane at about 510 pods. Permanent ones are not counted.
    plan = topology.plan(NAMES, pods(300), [ip_address("192.0.2.1")])
    node = [line for line in topology.node_commands(plan) if line.startswith("neigh")]
    assert len(node) == 301
    assert node[0] == (
        "neigh replace 10.244.0.2 lladdr 02:6e:70:01:00:00 dev np-0a1b2c-br nud permanent"
    )
    assert node[299] == (
        "neigh replace 10.244.1.45 lladdr 02:6e:70:01:01:2b dev np-0a1b2c-br nud permanent"
    )
    assert node[300] == (
        "neigh replace 192.0.2.1 lladdr 02:6e:70:02:00:00 dev np-0a1b2c-x0 nud permanent"
    )
    assert (
        "neigh replace 10.244.0.1 lladdr 02:6e:70:00:00:01 dev eth0 nud permanent"
        in topology.pod_commands(plan, plan.pods[299])
    )
    # Nor is any frame flooded: each port takes only frames for its own pod's MAC.
    lines = topology.node_commands(plan)
    assert lines.index("link set np-0a1b2c-p7 master np-0a1b2c-br up") + 1 == lines.index(
        "link set np-0a1b2c-p7 type bridge_slave flood off mcast_flood off bcast_flood off"
    )
    fdb = topology.fdb_commands(plan)
    assert len(fdb) == 300
    assert fdb[7] == "fdb replace 02:6e:70:01:00:07 dev np-0a1b2c-p7 master static"
    macs = [slot.mac for slot in plan.pods] + [topology.BRIDGE_MAC]
    macs += [mac for ext in plan.externals for mac in (ext.mac, ext.node_mac)]
    assert len(set(macs)) == len(macs)


@pytest.mark.parametrize(
    ("cidrs", "count", "externals", "message"),
    [
        (["10.0.0.0/29"], 6, [], "no room for 6 pods"),
        (["10.0.0.0/16"], 1, ["10.0.0.1"], "is the node's gateway"),
        (["fd00::/64"], 1, ["192.0.2.1"], "no IPv4 pod CIDR"),
    ],
)
def test_plans_that_cannot_work_say_why(
    cidrs: list[str], count: int, externals: list[str], message: str
) -> None:
    networks = topology.parse_cidrs(cidrs)
    with pytest.raises(BackendError, match=message):
        topology.plan(NAMES, pods(count), [ip_address(e) for e in externals], networks)


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (["10.0.0.1/16"], "not a network address"),
        (["10.0.0.0/16", "10.1.0.0/16"], "one per family"),
        (["10.0.0.0/30"], "too small"),
        ([], "no pod CIDR"),
    ],
)
def test_bad_pod_cidrs(texts: list[str], message: str) -> None:
    with pytest.raises(BackendError, match=message):
        topology.parse_cidrs(texts)


def test_ipv6_primary_cidr_gives_ipv6_pod_ips() -> None:
    plan = topology.plan(NAMES, pods(1), [], (ip_network("fd00:1::/64"),))
    assert str(plan.pods[0].ip) == "fd00:1::2"
    assert topology.forwarding_files(plan) == ["/proc/sys/net/ipv6/conf/all/forwarding"]
