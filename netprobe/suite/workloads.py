"""Staging suites: existing workloads named by expectations instead of probe pods.

A ``workloads:`` entry (namespace, name, label selector, ports) is parsed by the Kubernetes
backend's :func:`~netprobe.backends.kubernetes.staging.parse_workloads`, imported only when
a suite has the section (that module never imports the ``kubernetes`` client). For
expanding expectations and for the static check each workload is represented by a
stand-in pod carrying the labels its selector requires (``matchLabels`` and single-value
``In``) and the ports the suite declares for it; the live backend uses the real pod.
"""

from __future__ import annotations

from collections.abc import Iterable

from netprobe.documents import Field
from netprobe.model import ClusterState, Pod
from netprobe.selectors import Labels, Operator
from netprobe.suite.model import Workload


def parse_workloads(field: Field) -> tuple[Workload, ...]:
    """The ``workloads:`` section of a suite."""
    from netprobe.backends.kubernetes.staging import parse_workloads as parse

    return parse(field)


def standin_pods(workloads: Iterable[Workload]) -> tuple[Pod, ...]:
    """One pod per workload, with the labels its selector requires."""
    pods = []
    for workload in workloads:
        labels = dict(workload.selector.match_labels)
        for requirement in workload.selector.match_expressions:
            if requirement.operator is Operator.IN and len(requirement.values) == 1:
                (labels[requirement.key],) = requirement.values
        pods.append(Pod(workload.ref, Labels(labels), workload.ports, location=workload.location))
    return tuple(pods)


def with_workloads(state: ClusterState, workloads: Iterable[Workload]) -> ClusterState:
    """``state`` with the stand-in pods of ``workloads`` added."""
    standins = standin_pods(workloads)
    return state.replace(pods=(*state.pods, *standins)) if standins else state
