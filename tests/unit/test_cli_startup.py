"""Until ``netprobe.cli.run`` installs its signal handling, a Ctrl-C is Python's (a
traceback): importing the command's entry point must therefore load next to nothing."""

from __future__ import annotations

import subprocess
import sys


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
