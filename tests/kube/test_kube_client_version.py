"""The kubernetes client releases netprobe declares are the ones the gateway accepts, and
an unsupported client is one clear line with exit 3 (see clientversion.py for why the
releases below the floor break the gateway)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from netprobe.backends.kubernetes import clientversion
from netprobe.errors import BackendError

ROOT = Path(__file__).parents[2]


def test_pyproject_declares_the_range_the_gateway_checks() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert clientversion.SPEC in extras["kubernetes"]
    assert clientversion.SPEC in extras["dev"]


@pytest.mark.parametrize("version", ["29.0.0", "35.0.0", "36.0.3", "38.0.0", "38.0.0a1"])
def test_releases_outside_the_range_are_refused(version: str) -> None:
    with pytest.raises(BackendError, match=f"but {version} is installed: pip install"):
        clientversion.check(version)


@pytest.mark.parametrize("version", ["37.0.2", "37.1.0"])
def test_releases_inside_the_range_are_accepted(version: str) -> None:
    clientversion.check(version)


def test_the_installed_client_is_in_the_range() -> None:
    clientversion.check()


def test_an_old_client_is_one_line_and_exit_3(tmp_path: Path) -> None:
    """A distribution of kubernetes 35.0.0 first on sys.path, as importlib.metadata finds
    it: `netprobe run --backend kubernetes` stops before importing the client."""
    info = tmp_path / "kubernetes-35.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kubernetes\nVersion: 35.0.0\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    suite = ROOT / "suites" / "three-tier.netprobe.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "netprobe", "run", "--backend", "kubernetes", str(suite)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 3, done.stderr
    assert done.stderr.splitlines() == [
        "netprobe: error: the kubernetes backend works with the Python client >=37.0.2,<38, "
        "but 35.0.0 is installed: pip install 'kubernetes>=37.0.2,<38'"
    ]


def test_a_field_the_client_does_not_know_is_named_in_one_line() -> None:
    """kubernetes 37's pydantic models refuse an unknown field before any request is sent;
    the real client's error becomes one sentence naming the field."""
    from kubernetes import client

    from netprobe.backends.kubernetes.gateway import translate

    configuration = client.Configuration()
    configuration.host = "http://127.0.0.1:9"  # never reached: validation comes first
    api = client.NetworkingV1Api(client.ApiClient(configuration))
    body = {"metadata": {"name": "p"}, "spec": {"podSelector": {}, "bogus": 1}}
    with pytest.raises(ValueError) as caught:
        api.create_namespaced_network_policy("x", body, _request_timeout=1)
    error = translate(caught.value, "create policy x/p", "http://127.0.0.1:9")
    text = str(error)
    assert "\n" not in text
    assert text.startswith(f"create policy x/p: the kubernetes client {client.__version__} refused")
    assert "spec.bogus: Extra inputs are not permitted" in text
