"""What netprobe reads in a kubeconfig itself, only to say what is wrong with one.

The client loads kubeconfigs (:mod:`.gateway`); when it fails, its exceptions rarely say
which file or which field (a ``TypeError`` for ``clusters: 5``). :func:`file_problem`
names what makes a file unusable before the client even looks at its contents, and
:func:`exec_command` finds the credential plugin a context runs, for the message when it
fails. Nothing here decides what a kubeconfig means: that stays the client's job.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

SECTIONS = ("clusters", "contexts", "users")


def paths(files: str) -> list[str]:
    """The files of a ``$KUBECONFIG``-style list (``:``-separated), as the client reads
    them: each expanded, missing ones skipped."""
    found = [os.path.expanduser(p) for p in files.split(os.pathsep) if p]
    return [p for p in found if os.path.exists(p)]


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


def _load(path: str) -> Any:
    """The parsed file; ValueError saying why it cannot be parsed."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as exc:
        raise ValueError(f"cannot be read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise ValueError("is not a text file (not UTF-8)") from exc
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}" if mark else ""
        raise ValueError(f"is not valid YAML{where}: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"is not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise ValueError("is not valid YAML: nested too deeply") from exc


def file_problem(path: str) -> str | None:
    """Why ``path`` cannot be a kubeconfig at all, or None: it must be UTF-8 YAML whose top
    level is a mapping, and whose ``clusters``, ``contexts`` and ``users`` are lists of
    mappings with a name (what the client's KubeConfigMerger assumes before it checks
    anything, kubernetes/config/kube_config.py 29.0.0 to 37.0.2)."""
    try:
        data = _load(path)
    except ValueError as exc:
        return str(exc)
    if data is None:
        return "is empty"
    if not isinstance(data, dict):
        return f"is not a kubeconfig: its top level is {_kind(data)}, not a mapping"
    for section in SECTIONS:
        items = data.get(section)
        if items is None:
            continue
        if not isinstance(items, list):
            return f"{section} is {_kind(items)}, not a list"
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                return f"{section}[{index}] is {_kind(item)}, not a mapping"
            if not isinstance(item.get("name"), str):
                return f"{section}[{index}] has no name"
    return None


def exec_command(files: str, user: str) -> str | None:
    """The ``exec`` credential plugin command of ``user``, from the first file that has
    that user (the client merges named entries first-wins), or None."""
    for path in paths(files):
        try:
            data = _load(path)
        except ValueError:
            continue
        users = data.get("users") if isinstance(data, dict) else None
        for item in users if isinstance(users, list) else []:
            if isinstance(item, dict) and item.get("name") == user:
                body = item.get("user")
                plugin = body.get("exec") if isinstance(body, dict) else None
                command = plugin.get("command") if isinstance(plugin, dict) else None
                return str(command) if command is not None else None
    return None
