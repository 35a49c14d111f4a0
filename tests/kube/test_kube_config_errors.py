"""Kubeconfigs the real client cannot load, through the real CLI: exit 3 and one line
naming the file, never a traceback; a failing exec credential plugin is named as the cause.

No API server is involved: each kubeconfig points at a 127.0.0.1 port nothing listens on,
so a run that got past loading would only say "cannot reach".
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from netprobe.cli import main


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kubeconfig(
    cluster: str | None = None, user: str = "{token: abc}", current: str | None = "c"
) -> str:
    cluster = cluster or f'{{server: "https://127.0.0.1:{closed_port()}"}}'
    text = f"""\
apiVersion: v1
kind: Config
clusters:
- name: k
  cluster: {cluster}
users:
- name: me
  user: {user}
contexts:
- name: c
  context: {{cluster: k, user: me}}
"""
    return text + (f"current-context: {current}\n" if current else "")


MALFORMED: dict[str, str | bytes] = {
    "not YAML": "clusters: [a, b\nusers: {",
    "a top-level list": "- name: k\n- name: c\n",
    "a top-level string": "just some words\n",
    "clusters a number": "clusters: 5\ncontexts: []\n",
    "a cluster entry a number": "clusters: [5, 6]\n",
    "binary bytes": bytes(range(128, 256)) * 4,
    "bad base64 in certificate-authority-data": kubeconfig(
        cluster='{server: "https://127.0.0.1:1", certificate-authority-data: "!!!notbase64"}'
    ),
    "no current-context": kubeconfig(current=None),
    "a context naming a missing cluster": kubeconfig().replace("- name: k\n", "- name: other\n"),
    "empty": "",
}


def argv(command: str, home: Path, config: Path) -> list[str]:
    flags = ["--kubeconfig", str(config)]
    if command == "run":
        return ["run", str(home / "tiny.netprobe.yaml"), "--backend", "kubernetes", *flags]
    return ["cleanup", "--backend", "kubernetes", *flags]


@pytest.mark.parametrize("command", ["run", "cleanup"])
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_kubeconfig_is_one_line_naming_the_file(
    case: str, command: str, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = home / "config"
    content = MALFORMED[case]
    if isinstance(content, bytes):
        config.write_bytes(content)
    else:
        config.write_text(content)
    assert main(argv(command, home, config)) == 3
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert str(config) in lines[0] and "cannot reach" not in lines[0]
    assert "Traceback" not in err


def test_the_file_at_fault_is_named_in_a_kubeconfig_list(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = home / "good", home / "bad"
    good.write_text(kubeconfig())
    bad.write_text("clusters: 5\n")
    monkeypatch.setenv("KUBECONFIG", f"{good}:{bad}")
    assert main(["cleanup", "--backend", "kubernetes"]) == 3
    line = capsys.readouterr().err.strip()
    assert f"{bad}: clusters" in line


def plugin(home: Path, body: str) -> Path:
    script = home / "credential-plugin"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return script


EXEC = "{{exec: {{apiVersion: client.authentication.k8s.io/v1beta1, command: {command}}}}}"


@pytest.mark.parametrize(
    "body",
    [
        "echo 'your session expired' >&2; exit 1",
        "echo 'this is not JSON'",
        None,  # a command that does not exist
    ],
    ids=["exits-1", "invalid-json", "missing"],
)
@pytest.mark.parametrize("command", ["run", "cleanup"])
def test_a_failing_exec_credential_plugin_is_named_without_the_clients_log_lines(
    body: str | None, command: str, home: Path
) -> None:
    script = plugin(home, body) if body else home / "no-such-plugin"
    config = home / "config"
    config.write_text(kubeconfig(user=EXEC.format(command=script)))
    # A process of its own: the logging state is the user's, not pytest's.
    done = subprocess.run(
        [sys.executable, "-m", "netprobe", *argv(command, home, config)],
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": str(home)},
        timeout=60,
    )
    assert done.returncode == 3, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "exec credential plugin" in lines[0] and f"`{script}`" in lines[0]
    assert str(config) in lines[0] and "cannot reach" not in lines[0]
