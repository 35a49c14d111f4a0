"""Diagnostics of a failed live run: the bounds, and how the JSON and table reports show
them."""

from __future__ import annotations

import json
from pathlib import Path

from netprobe.diagnostics import (
    MAX_BYTES,
    MAX_EVENTS,
    MAX_NOTES,
    MAX_PODS,
    MAX_POLICIES,
    MAX_TEXT,
    Event,
    PodStatus,
    StoredPolicy,
    bounded,
)
from netprobe.model import PodRef, PolicyRef
from netprobe.report.results import render, to_document
from netprobe.results import SuiteResult


def pod_status(i: int, restarts: int = 0) -> PodStatus:
    ref = PodRef("shop", f"web-{i}")
    return PodStatus(
        ref, ref.name, "Running", (f"10.244.0.{i}",), "kind-worker", True, (("probe", restarts),)
    )


def policy(i: int, size: int = 10) -> StoredPolicy:
    spec = {"podSelector": {"matchLabels": {"app": "x" * size}}, "policyTypes": ["Ingress"]}
    return StoredPolicy(PolicyRef("shop", f"p{i}"), spec, netprobe=True)


def event(i: int, message: str = "") -> Event:
    return Event("Warning", "BackOff", "Pod shop/web", message or f"restart {i}", 1, f"t{i:03}")


def suite(diagnostics=None) -> SuiteResult:  # type: ignore[no-untyped-def]
    return SuiteResult("shop", Path("s.yaml"), (), backend="kubernetes", diagnostics=diagnostics)


def test_counts_are_capped_and_what_is_left_out_is_counted() -> None:
    found = bounded(
        None,
        [pod_status(i) for i in range(MAX_PODS + 3)],
        [policy(i) for i in range(MAX_POLICIES + 1)],
        [event(i) for i in range(MAX_EVENTS + 7)],
        [f"note {i}" for i in range(MAX_NOTES + 2)],
    )
    assert len(found.pods) == MAX_PODS and found.pods[0].ref.name == "web-0"
    assert len(found.policies) == MAX_POLICIES
    assert [e.message for e in found.events[:1] + found.events[-1:]] == ["restart 7", "restart 56"]
    assert len(found.notes) == MAX_NOTES
    assert found.truncated == {"pods": 3, "policies": 1, "events": 7, "notes": 2}
    assert found.cni == "unknown"


def test_the_json_of_everything_kept_stays_within_the_byte_bound() -> None:
    big = [policy(i, size=8000) for i in range(MAX_POLICIES)]  # 20 x 8 KB: too much
    found = bounded(
        "calico", [pod_status(1)], big, [event(i, "m" * 400) for i in range(MAX_EVENTS)]
    )
    size = len(json.dumps(found.as_dict(), separators=(",", ":")).encode())
    assert size <= MAX_BYTES + 200  # the items within the bound, plus the keys around them
    assert len(found.pods) == 1 and 0 < len(found.policies) < MAX_POLICIES
    assert found.truncated["policies"] == MAX_POLICIES - len(found.policies)
    assert found.truncated["events"] == MAX_EVENTS - len(found.events)


def test_a_long_message_is_cut() -> None:
    (kept,) = bounded(None, events=[event(0, "x" * 5000)]).events
    assert len(kept.message) == MAX_TEXT and kept.message.endswith("...")


def test_json_report_has_diagnostics_last_in_each_suite_and_null_without() -> None:
    assert list(to_document([suite()])["suites"][0])[-2:] == ["cni", "diagnostics"]
    assert to_document([suite()])["suites"][0]["diagnostics"] is None
    found = bounded("cilium", [pod_status(5, restarts=2)], [policy(1)], [event(1)], ["a note"])
    document = json.loads(render("json", [suite(found)]))["suites"][0]["diagnostics"]
    assert document == {
        "cni": "cilium",
        "pods": [
            {
                "pod": "shop/web-5",
                "name": "web-5",
                "phase": "Running",
                "ips": ["10.244.0.5"],
                "node": "kind-worker",
                "ready": True,
                "restarts": {"probe": 2},
            }
        ],
        "policies": [
            {
                "policy": "shop/p1",
                "netprobe": True,
                "spec": {
                    "podSelector": {"matchLabels": {"app": "x" * 10}},
                    "policyTypes": ["Ingress"],
                },
            }
        ],
        "events": [
            {
                "type": "Warning",
                "reason": "BackOff",
                "object": "Pod shop/web",
                "message": "restart 1",
                "count": 1,
                "last": "t001",
            }
        ],
        "notes": ["a note"],
        "truncated": {"pods": 0, "policies": 0, "events": 0, "notes": 0},
    }


def test_table_report_adds_a_short_why_block() -> None:
    found = bounded(
        "calico",
        [pod_status(i) for i in range(7)],
        [policy(1)],
        [event(i) for i in range(MAX_EVENTS + 4)],
        ["list events in b: forbidden"],
    )
    text = render("table", [suite(found)])
    block = text[text.index("why (") :].splitlines()
    assert block[0] == "why (shop, as the cluster holds it now; CNI calico):"
    assert block[1] == "  pod shop/web-0: Running 10.244.0.0 on kind-worker, ready, restarts 0"
    assert block[6].startswith('  policy shop/p1 (netprobe\'s) as stored: {"podSelector":')
    assert block[7] == "  event t049 Warning BackOff Pod shop/web: restart 49"
    assert block[11:] == [
        "  event t053 Warning BackOff Pod shop/web: restart 53",
        "  note: list events in b: forbidden",
        "  not shown here: 2 pods, 45 events (-o json has them)",
        "  truncated: 4 events more (bounds: docs/kubernetes.md)",
    ]
