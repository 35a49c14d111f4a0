"""One connection's verdict and its reasons: text to act on, or JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TextIO

from netprobe.model import Connection, Verdict


def write_text(connection: Connection, verdict: Verdict, out: TextIO) -> None:
    out.write(f"{verdict}: {connection}\n")
    if verdict.undefined:
        out.write(f"UNDEFINED: {verdict.undefined}\n")
    for reason in verdict.reasons:
        indent = "    " if reason.policy is not None else "  "
        out.write(f"{indent}- {reason.text}\n")


def write_json(connection: Connection, verdict: Verdict, out: TextIO) -> None:
    document = {
        "from": str(connection.source),
        "to": str(connection.destination),
        "port": connection.port,
        "protocol": str(connection.protocol),
        "allowed": verdict.allowed,
        "verdict": str(verdict),
        "undefined": verdict.undefined,
        "reasons": [
            {
                "text": reason.text,
                "policy": str(reason.policy) if reason.policy else None,
                "direction": str(reason.direction) if reason.direction else None,
                "rule": reason.rule,
            }
            for reason in verdict.reasons
        ],
    }
    out.write(json.dumps(document, indent=2) + "\n")


WRITERS: dict[str, Callable[[Connection, Verdict, TextIO], None]] = {
    "text": write_text,
    "json": write_json,
}
"""``-o`` name -> writer, the default first."""
