"""Until ``netprobe.cli.run`` installs its signal handling, a Ctrl-C is Python's (a
traceback): importing the command's entry point must therefore load next to nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def test_the_entry_point_imports_no_netprobe_module_but_errors_and_interrupts() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; import netprobe.cli; "
            "print(sorted(m for m in sys.modules if m.startswith(('netprobe', 'yaml'))))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert (
        done.stdout.strip()
        == "['netprobe', 'netprobe.cli', 'netprobe.errors', 'netprobe.interrupts']"
    )


STATIC = {
    "explain": ["explain", "-f", "{manifest}", "x/a", "x/a", "80"],
    "matrix": ["matrix", "-f", "{manifest}"],
    "lint": ["lint", "-f", "{manifest}"],
    "bundle": ["bundle", str(Path(__file__).parents[2] / "suites" / "endport.netprobe.yaml")],
    "help": ["--help"],
}


@pytest.mark.parametrize("argv", STATIC.values(), ids=STATIC.keys())
def test_a_static_command_imports_no_backend_and_no_other_command(
    argv: list[str], tmp_path: Path
) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\n"
        "spec: {containers: [{name: c, image: i, ports: [{containerPort: 80}]}]}\n"
        "status: {podIP: 10.0.0.1}\n"
    )
    code = (
        "import sys, contextlib, io\n"
        "from netprobe.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(sys.argv[1:])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    args = [a.format(manifest=manifest) for a in argv]
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    loaded = done.stdout.split()
    assert not [m for m in loaded if m.startswith(("netprobe.backends", "kubernetes", "tenacity"))]
    commands = [m for m in loaded if m.startswith("netprobe.commands.")]
    expected = set() if argv == ["--help"] else {f"netprobe.commands.{argv[0]}"}
    assert set(commands) - {"netprobe.commands.common"} == expected


def test_an_interrupt_while_an_import_defines_a_class_is_an_interrupt(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Seen in tests/root/test_interrupts_random.py: SIGINT 10 ms after start landed in
    ``ipaddress``'s ``cached_property.__set_name__``, which Python 3.11 re-raises as a
    RuntimeError caused by the interrupt."""
    from netprobe import cli
    from netprobe.interrupts import Interrupted

    class Interrupting:
        def __set_name__(self, owner: type, name: str) -> None:
            raise Interrupted(2)

    def command() -> int:
        type("Defined", (), {"attribute": Interrupting()})
        return 0

    assert cli.guarded(command) == 130
    assert capsys.readouterr().err == "netprobe: interrupted\n"


def test_a_runtime_error_of_its_own_is_not_taken_for_an_interrupt() -> None:
    from netprobe import cli

    def command() -> int:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        cli.guarded(command)
