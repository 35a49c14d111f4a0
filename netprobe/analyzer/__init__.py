"""netprobe's model of NetworkPolicy semantics: a pure function of a :class:`ClusterState`.

``evaluate`` judges one connection and says why; ``matrix`` judges every pod pair on a set
of ports at once; ``isolating_policies`` says which policies isolate a pod. The matchers
below them (which peers and ports a rule admits, a pod's addresses) are exported too, so
that other readers of policies (lint) apply the same rules. The analyzer never does IO:
front ends load the state and render the answers.
"""

from netprobe.analyzer.classes import ClassIndex, relevant_keys, selector_keys
from netprobe.analyzer.isolation import isolating_policies
from netprobe.analyzer.peers import (
    peer_matches,
    peer_namespace_matches,
    pod_addresses,
    rule_peer_matches,
)
from netprobe.analyzer.ports import declared_ports, rule_port_matches
from netprobe.analyzer.reachability import Matrix, matrix
from netprobe.analyzer.verdict import evaluate, resolve_endpoint

__all__ = [
    "ClassIndex",
    "Matrix",
    "declared_ports",
    "evaluate",
    "isolating_policies",
    "matrix",
    "peer_matches",
    "peer_namespace_matches",
    "pod_addresses",
    "relevant_keys",
    "resolve_endpoint",
    "rule_peer_matches",
    "rule_port_matches",
    "selector_keys",
]
