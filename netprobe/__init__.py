"""netprobe: prove what a cluster's NetworkPolicies really allow."""

from netprobe.errors import BackendError, InputError, LocatedError, NetprobeError
from netprobe.model import (
    ClusterState,
    Connection,
    Namespace,
    NetworkPolicy,
    Pod,
    PodRef,
    PolicyRef,
    PolicyType,
    Protocol,
    Verdict,
)

__version__ = "0.1.0"

__all__ = [
    "BackendError",
    "ClusterState",
    "Connection",
    "InputError",
    "LocatedError",
    "Namespace",
    "NetprobeError",
    "NetworkPolicy",
    "Pod",
    "PodRef",
    "PolicyRef",
    "PolicyType",
    "Protocol",
    "Verdict",
    "__version__",
]
