"""Backends by name: unknown names and misplaced options are input errors, and nothing
but ``--backend kubernetes`` imports the kubernetes client."""

from __future__ import annotations

import subprocess
import sys

import pytest

from netprobe.backends.registry import BackendOptions, create_backend
from netprobe.errors import InputError


@pytest.mark.parametrize(
    ("name", "options", "words"),
    [
        ("docker", BackendOptions(), "unknown backend 'docker'"),
        ("local", BackendOptions(apply_delay=-1), "--apply-delay"),
        ("kubernetes", BackendOptions(apply_delay=2), "only applies to the local backend"),
        ("local", BackendOptions(run_id="NOT-HEX"), "NETPROBE_RUN_ID"),
    ],
    ids=["unknown", "negative delay", "delay on a cluster", "bad run id"],
)
def test_bad_choices_are_input_errors(name: str, options: BackendOptions, words: str) -> None:
    with pytest.raises(InputError, match=words):
        create_backend(name, options)


def test_the_cli_and_the_local_path_never_import_kubernetes() -> None:
    code = (
        "import sys\n"
        "from netprobe import cli\n"
        "cli.build_parser().parse_args(['run', 'suites', '--backend', 'local'])\n"
        "import netprobe.backends.registry, netprobe.runner, netprobe.backends.fake\n"
        "print('kubernetes' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
