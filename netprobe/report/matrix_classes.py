"""``netprobe matrix -o classes``: the matrix in JSON Lines over pod classes, for clusters
whose ``-o json`` (one line per ordered pod pair and port) is too large to write or read.

Pods that no policy can tell apart form a class (:attr:`Matrix.classes`); the output
lists the classes once, then one line per (source class, port) whose ``to`` is the set of
destination classes as a hexadecimal bitset. Its size grows with classes, not pods:
about ``classes² x ports / 4`` bytes. Lines are written as each row is read from the
matrix; nothing here holds more than one line, and no pod pair is ever expanded.

The format, a worked example and a reader that expands it back to ``-o json``'s cells
are in docs/matrix.md; change :data:`VERSION` with any change a reader would notice.
"""

from __future__ import annotations

import json
from typing import TextIO

from netprobe.analyzer import Matrix
from netprobe.model import ClusterState

FORMAT = "netprobe-matrix-classes"
VERSION = 1


def write_classes(result: Matrix, state: ClusterState, out: TextIO) -> None:
    """A header line, a line per class, then a line per class and port."""
    ports = [{"port": port.number, "protocol": str(port.protocol)} for port in result.ports]
    header = {
        "format": FORMAT,
        "version": VERSION,
        "pods": len(result.pods),
        "classes": len(result.classes),
        "ports": ports,
    }
    out.write(json.dumps(header) + "\n")
    for number, members in enumerate(result.classes):
        pods = [str(result.pods[pod]) for pod in members]
        out.write(json.dumps({"class": number, "pods": pods}) + "\n")
    where = [json.dumps(port)[1:-1] for port in ports]
    for source in range(len(result.classes)):
        for q, port_fields in enumerate(where):
            row = result.class_row(source, q)
            out.write(f'{{"from": {source}, {port_fields}, "to": "{row:#x}"}}\n')
