"""What a step's actions do to the state (``Action.apply``), and the state at each step."""

from __future__ import annotations

from pathlib import Path

from netprobe.model import (
    NAMESPACE_NAME_LABEL,
    ClusterState,
    Namespace,
    NetworkPolicy,
    Pod,
    PodRef,
    PolicyRef,
    PolicyType,
)
from netprobe.selectors import Labels, LabelSelector
from netprobe.suite.model import (
    ApplyPolicy,
    DeletePolicy,
    SetNamespaceLabels,
    SetPodLabels,
    Step,
    Suite,
    Workload,
    step_states,
)

A = PodRef("x", "a")


def policy(name: str, types: tuple[PolicyType, ...] = (PolicyType.INGRESS,)) -> NetworkPolicy:
    return NetworkPolicy(PolicyRef("x", name), LabelSelector(), types)


def state() -> ClusterState:
    namespace = Namespace("x", Labels({NAMESPACE_NAME_LABEL: "x", "team": "red"}))
    return ClusterState((namespace,), (Pod(A, Labels({"app": "a"})),), (policy("old"),))


def test_apply_adds_a_policy_or_replaces_the_one_of_its_name() -> None:
    added = ApplyPolicy(policy("new")).apply(state())
    assert [str(p.ref) for p in added.policies] == ["x/old", "x/new"]
    egress = policy("old", (PolicyType.EGRESS,))
    assert ApplyPolicy(egress).apply(state()).policies == (egress,)


def test_delete_removes_the_policy_and_nothing_else() -> None:
    assert DeletePolicy(PolicyRef("x", "old")).apply(state()).policies == ()
    assert DeletePolicy(PolicyRef("y", "old")).apply(state()) == state()


def test_labels_are_replaced_and_a_namespace_keeps_its_name_label() -> None:
    relabeled = SetPodLabels(A, Labels({"app": "b"})).apply(state())
    pod = relabeled.pod(A)
    assert pod is not None and dict(pod.labels) == {"app": "b"}
    moved = SetNamespaceLabels("x", Labels({"team": "blue"})).apply(state())
    assert dict(moved.namespace_labels("x")) == {NAMESPACE_NAME_LABEL: "x", "team": "blue"}


def test_each_step_sees_its_actions_and_every_earlier_one_and_workloads_stand_in() -> None:
    web = Workload(PodRef("x", "web"), LabelSelector(Labels({"app": "web"})))
    steps = (
        Step("initial", (), ()),
        Step("close", (ApplyPolicy(policy("deny")),), ()),
        Step("relabel", (SetPodLabels(A, Labels({"app": "z"})),), ()),
    )
    begin = state()
    suite = Suite("s", Path("s.yaml"), begin.namespaces, begin.pods, (), steps, workloads=(web,))
    states = [(step.name, st) for step, st in step_states(suite)]
    assert [name for name, _ in states] == ["initial", "close", "relabel"]
    assert [len(st.policies) for _, st in states] == [0, 1, 1]
    last = states[-1][1]
    assert [dict(p.labels) for p in last.pods] == [{"app": "z"}, {"app": "web"}]
