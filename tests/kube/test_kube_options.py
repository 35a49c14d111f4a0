"""Command-line options of the Kubernetes backend, and the wiring from `netprobe run` /
`netprobe cleanup` to it (with the gateway swapped for the in-memory API server)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from fake_api import FakeApiServer

import netprobe.backends.kubernetes as kube
from netprobe.backends.kubernetes.bodies import DEFAULT_IMAGE, MANAGED_BY_KEY, RUN_ID_KEY
from netprobe.backends.kubernetes.options import KubeOptions
from netprobe.backends.registry import create_backend, fixed_run_id
from netprobe.cli import main
from netprobe.commands.backend_options import add_backend_options, backend_options
from netprobe.errors import InputError


def parse(*argv: str, cleanup: bool = False) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_backend_options(parser, "cleanup" if cleanup else "run")
    return parser.parse_args(argv)


def kubernetes_options_from(args: argparse.Namespace) -> KubeOptions:
    options = backend_options(args, "kubernetes", "run")
    assert isinstance(options, KubeOptions)
    return options


def test_defaults() -> None:
    options = kubernetes_options_from(parse())
    assert options.image == DEFAULT_IMAGE and options.image.endswith(":2.66.1")
    assert options.kubeconfig is None and options.context is None
    assert not options.use_existing_namespaces
    assert len(options.run_id) == 12


def test_every_option(tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text("{}")
    options = kubernetes_options_from(
        parse(
            "--kubeconfig",
            str(config),
            "--context",
            "kind-np",
            "--image",
            "m/agnhost:1",
            "--use-existing-namespaces",
            "--ready-timeout",
            "30",
            "--cleanup-timeout",
            "40",
            "--lock-namespace",
            "locks",
        )
    )
    assert options == KubeOptions(
        kubeconfig=config,
        context="kind-np",
        image="m/agnhost:1",
        use_existing_namespaces=True,
        ready_timeout=30.0,
        cleanup_timeout=40.0,
        lock_namespace="locks",
        run_id=options.run_id,
    )


def test_netprobe_run_id_names_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETPROBE_RUN_ID", "ci-1234")
    monkeypatch.setattr(kube, "connect", lambda options: FakeApiServer())
    backend = create_backend("kubernetes", KubeOptions(), run_id=fixed_run_id())
    assert isinstance(backend, kube.KubernetesBackend) and backend.run_id == "ci-1234"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--kubeconfig", "/nonexistent/config"), "--kubeconfig /nonexistent/config: no such file"),
        (("--ready-timeout", "0"), "--ready-timeout must be a positive number of seconds"),
        (("--cleanup-timeout", "nan"), "--cleanup-timeout must be a positive number"),
    ],
)
def test_bad_options_are_input_errors(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(InputError, match=message):
        kubernetes_options_from(parse(*argv))


def test_cleanup_takes_only_the_connection_and_cleanup_options() -> None:
    args = parse("--context", "c", "--cleanup-timeout", "5", cleanup=True)
    assert not hasattr(args, "backend_kubernetes_image")
    assert args.backend_kubernetes_context == "c"


def test_the_registry_builds_the_backend_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    api = FakeApiServer()
    monkeypatch.setattr(kube, "connect", lambda options: api)
    backend = create_backend("kubernetes", KubeOptions(run_id="r9"))
    assert backend.name == "kubernetes"
    assert isinstance(backend, kube.KubernetesBackend) and backend.run_id == "r9"


def test_run_help_lists_the_kubernetes_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    for flag in ("--kubeconfig", "--context", "--image", "--use-existing-namespaces"):
        assert flag in text


def test_netprobe_cleanup_removes_leftovers_by_label(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api = FakeApiServer()
    owned = {MANAGED_BY_KEY: "netprobe", RUN_ID_KEY: "old"}
    api.create_namespace({"metadata": {"name": "np-left", "labels": dict(owned)}})
    api.create_namespace({"metadata": {"name": "theirs", "labels": {"team": "a"}}})
    api.create_pod(
        "theirs", {"metadata": {"name": "probe", "labels": dict(owned)}, "spec": {"containers": []}}
    )
    api.create_pod(
        "theirs", {"metadata": {"name": "app", "labels": {"app": "x"}}, "spec": {"containers": []}}
    )
    monkeypatch.setattr(kube, "connect", lambda options: api)
    assert main(["cleanup", "--backend", "kubernetes", "--dry-run"]) == 0
    assert "would remove namespace np-left" in capsys.readouterr().out
    assert "np-left" in api.namespaces
    api.terminate_after = 0  # gone at the first look: the real clock never sleeps
    assert main(["cleanup", "--backend", "kubernetes", "--cleanup-timeout", "5"]) == 0
    out = capsys.readouterr().out
    assert "removed namespace np-left" in out and "removed pod theirs/probe" in out
    assert "np-left" not in api.namespaces and "theirs" in api.namespaces
    assert set(api.pods) == {("theirs", "app")}


def test_cleanup_without_rbac_is_exit_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api = FakeApiServer(deny={("delete", "namespaces", None)})
    monkeypatch.setattr(kube, "connect", lambda options: api)
    assert main(["cleanup", "--backend", "kubernetes"]) == 3
    assert "delete namespaces cluster-wide" in capsys.readouterr().err


def test_each_backend_of_one_run_gets_its_own_run_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kube, "connect", lambda options: FakeApiServer())
    options = KubeOptions(run_id="base77")
    ids = [create_backend("kubernetes", options, index=index).run_id for index in range(3)]
    assert ids == ["base77", "base77-2", "base77-3"]
