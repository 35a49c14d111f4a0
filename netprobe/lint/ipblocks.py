"""Checks on ipBlocks: blocks that cover pod addresses (ipBlock is meant for addresses
outside the cluster), and CIDRs written with host bits set."""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import ip_network

from netprobe.lint.findings import Check, Finding, Severity
from netprobe.lint.subject import LintInput, field_names, rules_of
from netprobe.model import IPBlock, IPNetwork, NetworkPolicy, Peer


def _ip_blocks(policy: NetworkPolicy) -> Iterator[tuple[str, Peer, IPBlock]]:
    for direction, index, rule in rules_of(policy):
        rules_field, peers_field = field_names(direction)
        for peer_index, peer in enumerate(rule.peers):
            if peer.ip_block is not None:
                yield f"{rules_field}[{index}].{peers_field}[{peer_index}]", peer, peer.ip_block


def _uncovered(block: IPBlock, network: IPNetwork) -> list[IPNetwork]:
    """The parts of ``network`` that ``block`` admits (inside cidr, outside every except)."""
    if network.version != block.cidr.version or not network.overlaps(block.cidr):
        return []
    remaining: list[IPNetwork] = [network if network.subnet_of(block.cidr) else block.cidr]  # type: ignore[arg-type]
    for excluded in block.except_:
        next_remaining: list[IPNetwork] = []
        for part in remaining:
            if part.subnet_of(excluded):  # type: ignore[arg-type]
                continue
            if excluded.subnet_of(part):  # type: ignore[arg-type]
                next_remaining.extend(part.address_exclude(excluded))  # type: ignore[arg-type]
            else:
                next_remaining.append(part)
        remaining = next_remaining
    return remaining


def _covers_pods(subject: LintInput, check: Check) -> Iterator[Finding]:
    for policy in subject.policies:
        for where, peer, block in _ip_blocks(policy):
            pods = subject.addresses_in(block)
            cidrs = [cidr for cidr in subject.pod_cidrs if _uncovered(block, cidr)]
            if not pods and not cidrs:
                continue
            parts = []
            if pods:
                shown = ", ".join(f"{pod.ref} {ip}" for pod, ip in pods[:3])
                more = f" and {len(pods) - 3} more" if len(pods) > 3 else ""
                parts.append(f"{len(pods)} pod address(es) ({shown}{more})")
            if cidrs:
                parts.append(f"part of the pod CIDR {', '.join(map(str, cidrs))}")
            yield check.finding(
                peer.location,
                f"{where}.ipBlock {block} covers {' and '.join(parts)}; CNIs usually match "
                "pod IPs against ipBlocks too, and pod IPs change when pods restart",
                "select pods with podSelector/namespaceSelector; keep ipBlock for addresses "
                "outside the cluster (add the pod CIDR to 'except')",
                policy=policy.ref,
            )


def _strict_problem(text: str) -> str | None:
    try:
        ip_network(text, strict=True)
    except ValueError:
        try:
            return str(ip_network(text, strict=False))
        except ValueError:
            return None
    return None


def _host_bits(subject: LintInput, check: Check) -> Iterator[Finding]:
    for policy in subject.policies:
        for where, peer, block in _ip_blocks(policy):
            written = [("cidr", block.declared)] + [
                (f"except[{i}]", text) for i, text in enumerate(block.declared_except)
            ]
            for name, text in written:
                if text is None:
                    continue
                network = _strict_problem(text)
                if network is None:
                    continue
                single = text.split("/")[0] + ("/32" if ":" not in text else "/128")
                yield check.finding(
                    peer.location,
                    f"{where}.ipBlock.{name} {text} has host bits set: it means {network}",
                    f"write {network}, or {single} for that one address",
                    policy=policy.ref,
                )


CHECKS = (
    Check(
        "NP008",
        "ipblock-covers-pods",
        Severity.WARNING,
        "an ipBlock that covers pod IPs or the declared pod CIDR",
        _covers_pods,
    ),
    Check(
        "NP009",
        "cidr-host-bits",
        Severity.WARNING,
        "an ipBlock CIDR written with host bits set",
        _host_bits,
    ),
)
