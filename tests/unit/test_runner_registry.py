"""Backends by name: unknown names and misplaced options are input errors, and nothing
but ``--backend kubernetes`` imports the kubernetes client."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from netprobe import cli
from netprobe.backends.options import declared
from netprobe.backends.registry import PLUGINS, create_backend
from netprobe.commands.backend_options import backend_options
from netprobe.errors import InputError

ROOT = Path(__file__).parents[2]
SUITE = ROOT / "suites" / "three-tier.netprobe.yaml"


@pytest.mark.parametrize(
    ("backend", "flags", "words"),
    [
        ("local", ["--apply-delay", "-1"], "--apply-delay must be 0 or more, got -1"),
        ("local", ["--apply-delay", "soon"], "--apply-delay must be a number of seconds"),
        ("kubernetes", ["--apply-delay", "2"], "--apply-delay only applies to the local backend"),
        ("local", ["--context", "kind-x"], "--context only applies to the kubernetes backend"),
    ],
    ids=["negative delay", "not a number", "delay on a cluster", "context locally"],
)
def test_bad_options_are_input_errors(backend: str, flags: list[str], words: str) -> None:
    args = cli.build_parser().parse_args(["run", "suites", "--backend", backend, *flags])
    with pytest.raises(InputError, match=words):
        backend_options(args, backend, "run")


@pytest.mark.parametrize(
    ("name", "run_id", "words"),
    [("docker", None, "unknown backend 'docker'"), ("local", "NOT-HEX", "NETPROBE_RUN_ID")],
    ids=["unknown", "bad run id"],
)
def test_bad_choices_are_input_errors(name: str, run_id: str | None, words: str) -> None:
    with pytest.raises(InputError, match=words):
        create_backend(name, run_id=run_id)


def test_the_cli_and_the_local_path_never_import_kubernetes() -> None:
    code = (
        "import sys\n"
        "from netprobe import cli\n"
        "cli.build_parser().parse_args(['run', 'suites', '--backend', 'local'])\n"
        "import netprobe.backends.registry, netprobe.run, netprobe.backends.fake\n"
        "print('kubernetes' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_no_two_backends_declare_the_same_flag() -> None:
    """Flags are shared by every backend's group of `netprobe run`: one name, one meaning."""
    flags = [spec.flag for plugin in PLUGINS for spec in declared(plugin.options_type())]
    assert len(flags) == len(set(flags)), flags


def test_the_kubernetes_backend_needs_nothing_linux_only(tmp_path: Path) -> None:
    """`netprobe run --backend kubernetes` from a laptop: the local backend's options are
    read for the flags, but its Linux-only modules (fcntl, ctypes' libc) are not loaded."""
    code = (
        "import sys\n"
        "sys.modules['fcntl'] = None\n"
        "from netprobe import cli\n"
        "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    for backend, words in (
        ("kubernetes", "no cluster configured"),
        ("local", "the local backend cannot run here"),
    ):
        done = subprocess.run(
            [sys.executable, "-c", code, "run", "--backend", backend, str(SUITE)],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
        )
        assert done.returncode == 3, done.stderr
        assert words in done.stderr
