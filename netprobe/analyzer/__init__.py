"""netprobe's model of NetworkPolicy semantics: a pure function of a :class:`ClusterState`.

``evaluate`` judges one connection and says why; ``matrix`` judges every pod pair on a set
of ports at once; ``isolating_policies`` says which policies isolate a pod. The analyzer
never does IO: front ends load the state and render the answers.
"""

from netprobe.analyzer.isolation import isolating_policies
from netprobe.analyzer.matrix import Matrix, matrix
from netprobe.analyzer.verdict import evaluate, resolve_endpoint

__all__ = ["Matrix", "evaluate", "isolating_policies", "matrix", "resolve_endpoint"]
