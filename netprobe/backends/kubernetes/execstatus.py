"""Turning what an exec stream delivered into an :class:`ExecResult`.

Channel 3 of the exec protocol carries a ``metav1.Status``: ``Success``, or ``Failure``
with reason ``NonZeroExitCode`` and the code in ``details.causes[0].message``, or a
``Failure`` that is not an exit code at all (``exec: "nc": executable file not found``).
The client library's ``WSClient.returncode`` raises on the last kind
(kubernetes-client/python#1840) and is sometimes wrong (#2328), so it is parsed here, and
only as extra information: the runner judges probes by the markers on stdout.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from netprobe.backends.base import ExecResult


def parse_status(text: str) -> dict[str, Any] | None:
    """The Status object of the error channel; None when the channel was empty or unreadable."""
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError:
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            return None
    return value if isinstance(value, dict) else None


def exit_code(status: dict[str, Any] | None) -> int | None:
    if status is None:
        return None
    if status.get("status") == "Success":
        return 0
    if status.get("reason") != "NonZeroExitCode":
        return None
    for cause in (status.get("details") or {}).get("causes") or ():
        if cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message", ""))
            except ValueError:
                return None
    return None


def exec_result(stdout: str, stderr: str, error_channel: str, still_open: bool) -> ExecResult:
    """The result of one exec. A stream still open at the deadline is a timeout whatever
    the error channel says (kubernetes-client/python#2156); a failure that is not an exit
    code (the command could not start) is appended to stderr, where a user will see it."""
    if still_open:
        return ExecResult(None, stdout, stderr, timed_out=True)
    status = parse_status(error_channel)
    code = exit_code(status)
    if status is not None and code is None and status.get("status") != "Success":
        message = status.get("message") or status.get("reason") or "exec failed"
        stderr = f"{stderr}{'' if not stderr or stderr.endswith(chr(10)) else chr(10)}"
        stderr += f"netprobe: exec failed: {message}\n"
    return ExecResult(code, stdout, stderr)
