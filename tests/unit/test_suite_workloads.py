"""Staging suites: workloads are named like pods and stood in for by their selector's labels."""

from pathlib import Path

import pytest

from netprobe.errors import LocatedError
from netprobe.judge import judge_suite
from netprobe.model import PodRef
from netprobe.suite.loader import load_suite

SUITE = """\
workloads:
  - name: web
    namespace: prod
    selector: {matchLabels: {app: web}}
    ports: [{port: 8080, name: http}]
  - name: db
    namespace: prod
    selector: {matchExpressions: [{key: app, operator: In, values: [db]}]}
    ports: [{port: 5432}]
policies:
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: db, namespace: prod}
    spec:
      podSelector: {matchLabels: {app: db}}
      ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]
expect:
  - allow: prod/web -> prod/db:5432
  - allow: "prod/app=web -> prod/db:5432"
  - deny: prod/* -> prod/db:5432
"""


def test_workloads_resolve_like_pods_and_are_not_probe_pods(tmp_path: Path) -> None:
    path = tmp_path / "staging.netprobe.yaml"
    path.write_text(SUITE)
    suite = load_suite(path, print)
    assert suite.pods == ()
    assert [w.ref for w in suite.workloads] == [PodRef("prod", "web"), PodRef("prod", "db")]
    assert [e.id for e in suite.expectations] == ["allow prod/web -> prod/db:5432/TCP"]
    assert not judge_suite(suite).failed


def test_a_workload_may_not_share_a_pods_name(tmp_path: Path) -> None:
    path = tmp_path / "clash.netprobe.yaml"
    path.write_text(SUITE + "pods:\n  prod/web: {}\n")
    with pytest.raises(LocatedError, match="workload prod/web has the name of a pod"):
        load_suite(path, print)
