"""The e2e setup as far as it can be checked without Docker: kind profiles, pins, scripts,
Makefile recipes and CI workflows.

``make -n`` runs with a PATH holding only ``make``, so these tests also prove that printing
the e2e recipe needs none of docker, kind, kubectl or helm; the scripts are run with fake
or missing tools to check their error messages (they stop before touching anything).
"""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from netprobe import cli
from netprobe.backends.kubernetes.options import KubeOptions
from netprobe.commands.backend_options import backend_options

ROOT = Path(__file__).resolve().parents[2]
KIND = ROOT / "fixtures" / "kind"
HACK = ROOT / "hack"
WORKFLOWS = ROOT / ".github" / "workflows"
CNIS = ("calico", "cilium", "kindnet")
SWAPPED = ("calico", "cilium")
"""The CNIs that replace kind's own (kindnet)."""


def pins() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (KIND / "versions.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep and re.fullmatch(r"[A-Z_]+", key), f"not KEY=value: {line!r}"
            assert not re.search(r"[\"'$`\s]", value), f"{key}: keep values plain: {value!r}"
            values[key] = value
    return values


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


# -- pins ------------------------------------------------------------------------------------


def test_every_pin_is_set_and_well_formed() -> None:
    values = pins()
    assert re.fullmatch(r"v\d+\.\d+\.\d+", values["KIND_VERSION"])
    assert re.fullmatch(
        r"kindest/node:v\d+\.\d+\.\d+@sha256:[0-9a-f]{64}", values["KIND_NODE_IMAGE"]
    )
    assert re.fullmatch(r"v\d+\.\d+\.\d+", values["KUBECTL_VERSION"])
    assert re.fullmatch(r"v3\.\d+\.\d+", values["HELM_VERSION"])
    assert re.fullmatch(r"v\d+\.\d+\.\d+", values["CALICO_VERSION"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", values["CILIUM_VERSION"])


def test_kubectl_matches_the_node_image() -> None:
    """kubectl supports one minor of skew; the same version avoids surprises in waits."""
    values = pins()
    node = re.search(r":(v[\d.]+)@", values["KIND_NODE_IMAGE"])
    assert node is not None
    assert values["KUBECTL_VERSION"] == node.group(1)


@pytest.mark.parametrize("folder", [HACK, WORKFLOWS, KIND])
def test_pins_live_only_in_versions_env(folder: Path) -> None:
    """A version written twice drifts: scripts and workflows read versions.env instead."""
    values = pins()
    for path in folder.iterdir():
        if path.name == "versions.env" or not path.is_file():
            continue
        text = path.read_text()
        for key, value in values.items():
            assert value not in text, f"{path.name} repeats {key}={value}"


# -- kind profiles ---------------------------------------------------------------------------


@pytest.mark.parametrize("cni", CNIS)
def test_kind_config_per_cni(cni: str) -> None:
    config = load(KIND / f"kind-{cni}.yaml")
    assert config["kind"] == "Cluster"
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    networking = config["networking"]
    assert networking["disableDefaultCNI"] is (cni in SWAPPED)
    ipaddress.ip_network(networking["podSubnet"])
    roles = [node["role"] for node in config["nodes"]]
    assert roles.count("control-plane") == 1 and "worker" in roles
    assert all("image" not in node for node in config["nodes"]), (
        "the node image comes from versions.env (kind create --image)"
    )


def test_calico_pool_sits_inside_the_kind_pod_subnet() -> None:
    installation = load(KIND / "calico-installation.yaml")
    assert installation["kind"] == "Installation"
    subnet = ipaddress.ip_network(load(KIND / "kind-calico.yaml")["networking"]["podSubnet"])
    pools = installation["spec"]["calicoNetwork"]["ipPools"]
    assert pools
    for pool in pools:
        assert ipaddress.ip_network(pool["cidr"]).subnet_of(subnet)  # type: ignore[arg-type]


def test_cilium_takes_pod_addresses_from_the_nodes_pod_cidrs() -> None:
    values = load(KIND / "cilium-values.yaml")
    assert values["ipam"]["mode"] == "kubernetes"


# -- make -n ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bare_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PATH with make and nothing else: no docker, kind, kubectl, helm, python."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    folder = tmp_path_factory.mktemp("bare-bin")
    (folder / "make").symlink_to(make)
    return str(folder)


def make_n(bare_path: str, *args: str) -> list[list[str]]:
    done = subprocess.run(
        ["make", "-n", *args],
        cwd=ROOT,
        env={"PATH": bare_path, "HOME": os.environ.get("HOME", "/tmp")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    text = done.stdout.replace("\\\n", " ")
    return [shlex.split(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("cni", SWAPPED)
def test_make_e2e_brings_the_cluster_up_then_runs_every_suite(bare_path: str, cni: str) -> None:
    commands = make_n(bare_path, "e2e", f"CNI={cni}")
    assert commands[0] == [f"CNI={cni}", f"KIND_CLUSTER=netprobe-{cni}", "hack/kind-up.sh"]
    assert ["mkdir", "-p", f"reports/{cni}"] in commands
    run = commands[-1]
    assert run[:4] == ["python3", "-m", "netprobe", "run"]
    assert run[4] == "suites"
    expected_pairs = {
        "--backend": "kubernetes",
        "--context": f"kind-netprobe-{cni}",
        "--cni": cni,
        "--junit": f"reports/{cni}/junit.xml",
        "--json": f"reports/{cni}/results.json",
    }
    for option, value in expected_pairs.items():
        assert run[run.index(option) + 1] == value
    assert "--use-existing-namespaces" in run  # suites model default/ and kube-system/


def test_the_e2e_command_line_is_one_netprobe_accepts(bare_path: str) -> None:
    """The recipe's options are real ``netprobe run`` options (no drift between the two)."""
    run = make_n(bare_path, "e2e", "CNI=cilium")[-1]
    args = cli.build_parser().parse_args(run[3:])
    kube = backend_options(args, "kubernetes", "run")
    assert isinstance(kube, KubeOptions)
    assert (args.backend, args.cni, kube.context) == (
        "kubernetes",
        "cilium",
        "kind-netprobe-cilium",
    )
    assert args.junit == Path("reports/cilium/junit.xml")
    assert args.json == Path("reports/cilium/results.json")
    assert kube.use_existing_namespaces


@pytest.mark.parametrize("target", ["kind-up", "kind-down"])
def test_make_kind_targets_name_the_cluster_of_the_cni(bare_path: str, target: str) -> None:
    commands = make_n(bare_path, target, "CNI=cilium")
    assert commands == [["CNI=cilium", "KIND_CLUSTER=netprobe-cilium", f"hack/{target}.sh"]]


def test_default_cni_is_calico(bare_path: str) -> None:
    assert make_n(bare_path, "kind-up")[0][0] == "CNI=calico"


# -- scripts ---------------------------------------------------------------------------------


@pytest.fixture
def tools(tmp_path: Path) -> Path:
    """A bin folder with bash and what the scripts need before their first check; tests add
    fake docker/kind/kubectl/helm to it."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("bash", "dirname", "grep"):
        found = shutil.which(tool)
        if found is None:
            pytest.skip(f"{tool} is not installed")
        (folder / tool).symlink_to(found)
    return folder


def fake(folder: Path, name: str, script: str = "exit 0") -> None:
    path = folder / name
    path.write_text(f"#!{folder / 'bash'}\n{script}\n")
    path.chmod(0o755)


def run_script(name: str, folder: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(folder / "bash"), str(HACK / name)],
        env={"PATH": str(folder), "HOME": "/nonexistent", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("present", "cni", "missing", "hint"),
    [
        ((), "calico", "docker", "docs.docker.com"),
        (("docker",), "calico", "kind", "sigs.k8s.io/kind@"),
        (("docker", "kind"), "kindnet", "kubectl", "kubernetes.io/docs/tasks/tools"),
        (("docker", "kind", "kubectl"), "cilium", "helm", "helm.sh/docs/intro/install"),
    ],
)
def test_kind_up_names_the_missing_tool_and_how_to_install_it(
    tools: Path, present: tuple[str, ...], cni: str, missing: str, hint: str
) -> None:
    for name in present:
        fake(tools, name)
    done = run_script("kind-up.sh", tools, CNI=cni)
    assert done.returncode == 1
    assert f"'{missing}' is not installed" in done.stderr
    assert hint in done.stderr
    assert "hack/install-tools.sh" in done.stderr or missing == "docker"
    assert "Traceback" not in done.stderr and "line " not in done.stderr


def test_kind_up_without_helm_is_fine_when_no_chart_is_needed(tools: Path) -> None:
    for name in ("kind", "kubectl"):
        fake(tools, name)
    fake(tools, "docker", 'echo "Cannot connect to the Docker daemon" >&2; exit 1')
    done = run_script("kind-up.sh", tools, CNI="calico")
    assert done.returncode == 1
    assert "daemon is not reachable" in done.stderr


def test_kind_up_rejects_an_unknown_cni(tools: Path) -> None:
    done = run_script("kind-up.sh", tools, CNI="flannel")
    assert done.returncode == 1
    assert "CNI='flannel' is not supported: use CNI=calico, CNI=cilium or CNI=kindnet" in (
        done.stderr
    )


def test_kind_down_without_kind_says_how_to_install_it(tools: Path) -> None:
    done = run_script("kind-down.sh", tools)
    assert done.returncode == 1
    assert "'kind' is not installed" in done.stderr


def test_kind_down_of_a_missing_cluster_is_not_an_error(tools: Path) -> None:
    fake(tools, "kind", 'echo "other-cluster"')
    done = run_script("kind-down.sh", tools, CNI="cilium")
    assert done.returncode == 0, done.stderr
    assert "no kind cluster 'netprobe-cilium'" in done.stderr


@pytest.mark.parametrize("script", sorted(p.name for p in HACK.glob("*.sh")))
def test_scripts_are_strict_bash(script: str) -> None:
    text = (HACK / script).read_text()
    if script == "lib.sh":
        assert "# shellcheck shell=bash" in text
        return
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert os.access(HACK / script, os.X_OK)


def test_scripts_pass_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (CI runs it)")
    done = subprocess.run(
        [shellcheck, "-x", *sorted(str(p.relative_to(ROOT)) for p in HACK.glob("*.sh"))],
        cwd=ROOT,  # as CI runs it
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout


# -- workflows -------------------------------------------------------------------------------


def workflow(name: str) -> dict[str, Any]:
    document = load(WORKFLOWS / name)
    # YAML 1.1 reads the bare key `on` as True.
    document["on"] = document.pop(True, document.get("on"))
    return document


def steps_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in document["jobs"].values() for step in job["steps"]]


def test_ci_runs_the_tests_on_every_push() -> None:
    document = workflow("ci.yml")
    assert "push" in document["on"]
    runs = " ".join(step.get("run", "") for step in steps_of(document))
    assert ".ci/run" in runs
    assert "shellcheck" in runs


def test_e2e_runs_on_pull_requests_and_nightly_with_a_cni_matrix() -> None:
    document = workflow("e2e.yml")
    assert "pull_request" in document["on"]
    assert document["on"]["schedule"][0]["cron"]
    job = document["jobs"]["kind"]
    assert job["strategy"]["matrix"]["cni"] == ["calico", "cilium"]
    assert job["strategy"]["fail-fast"] is False
    runs = [step.get("run", "") for step in job["steps"]]
    assert "make e2e CNI=${{ matrix.cni }}" in runs
    assert any("hack/install-tools.sh" in run for run in runs)
    assert any("versions.env" in run for run in runs)


def test_e2e_uploads_the_reports_even_when_it_fails_and_always_tears_down() -> None:
    steps = workflow("e2e.yml")["jobs"]["kind"]["steps"]
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    reports = [s for s in uploads if "reports/" in s["with"]["path"]]
    assert reports and reports[0]["if"] == "always()"
    down = [s for s in steps if "make kind-down" in s.get("run", "")]
    assert down and down[0]["if"] == "always()"


@pytest.mark.parametrize("name", ["ci.yml", "e2e.yml"])
def test_actions_are_pinned_to_a_release(name: str) -> None:
    for step in steps_of(workflow(name)):
        if "uses" in step:
            assert re.fullmatch(r"[\w-]+/[\w-]+@v\d+", step["uses"]), step["uses"]


LOGGER = 'echo "{name} $*" >> "$TOOL_LOG"'


@pytest.fixture
def logged_tools(tools: Path, tmp_path: Path) -> Path:
    """docker, kind, kubectl and helm that log their arguments; kubectl says the Calico
    operator and cilium-envoy are not there yet, so the script installs and skips them."""
    log = tmp_path / "tools.log"
    for name in ("docker", "kind", "helm"):
        fake(tools, name, LOGGER.format(name=name))
    fake(
        tools,
        "kubectl",
        LOGGER.format(name="kubectl")
        + '\ncase "$*" in *"get crd"*|*"get deployment -n tigera-operator"*|'
        + '*"get daemonset cilium-envoy"*) exit 1;; esac',
    )
    return log


def kind_up(tools: Path, log: Path, cni: str) -> list[str]:
    done = run_script("kind-up.sh", tools, CNI=cni, TOOL_LOG=str(log), NETPROBE_IMAGE="img:1")
    assert done.returncode == 0, done.stderr
    return log.read_text().splitlines()


@pytest.mark.parametrize("cni", CNIS)
def test_kind_up_creates_the_pinned_cluster_then_waits_for_nodes_and_dns(
    tools: Path, logged_tools: Path, cni: str
) -> None:
    calls = kind_up(tools, logged_tools, cni)
    context = f"--context kind-netprobe-{cni}"
    assert calls[:2] == ["docker info", "kind get clusters"]
    assert calls[2] == (
        f"kind create cluster --name netprobe-{cni} --image {pins()['KIND_NODE_IMAGE']} "
        f"--config {KIND}/kind-{cni}.yaml"
    )
    assert f"kubectl {context} wait --for=condition=Ready nodes --all --timeout=300s" in calls
    assert (
        f"kubectl {context} -n kube-system rollout status deployment/coredns --timeout=300s"
    ) in calls
    assert calls[-1] == f"kind load docker-image img:1 --name netprobe-{cni}"


def test_kind_up_installs_calico_through_the_operator(tools: Path, logged_tools: Path) -> None:
    calls = kind_up(tools, logged_tools, "calico")
    base = f"https://raw.githubusercontent.com/projectcalico/calico/{pins()['CALICO_VERSION']}"
    k = "kubectl --context kind-netprobe-calico"
    expected = [
        f"{k} create -f {base}/manifests/operator-crds.yaml",
        f"{k} create -f {base}/manifests/tigera-operator.yaml",
        f"{k} apply -f {KIND}/calico-installation.yaml",
        f"{k} wait --for=condition=Available --timeout=300s tigerastatus/calico",
        f"{k} -n calico-system rollout status daemonset/calico-node --timeout=300s",
    ]
    positions = [calls.index(line) for line in expected]
    assert positions == sorted(positions)
    assert not [c for c in calls if c.startswith("helm")]


def test_kind_up_installs_cilium_with_its_pinned_chart(tools: Path, logged_tools: Path) -> None:
    calls = kind_up(tools, logged_tools, "cilium")
    install = [c for c in calls if c.startswith("helm upgrade")]
    assert install == [
        f"helm upgrade --install cilium cilium/cilium --version {pins()['CILIUM_VERSION']} "
        f"--kube-context kind-netprobe-cilium --namespace kube-system "
        f"--values {KIND}/cilium-values.yaml"
    ]
    k = "kubectl --context kind-netprobe-cilium -n kube-system rollout status"
    assert f"{k} daemonset/cilium --timeout=300s" in calls
    assert f"{k} deployment/cilium-operator --timeout=300s" in calls


def test_kind_up_reuses_an_existing_cluster(tools: Path, logged_tools: Path) -> None:
    fake(
        tools,
        "kind",
        'echo "kind $*" >> "$TOOL_LOG"; [ "$*" = "get clusters" ] && echo netprobe-kindnet; exit 0',
    )
    calls = kind_up(tools, logged_tools, "kindnet")
    assert not [c for c in calls if c.startswith("kind create")]
