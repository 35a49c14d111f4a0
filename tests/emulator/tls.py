"""A throwaway certificate authority, a server certificate for 127.0.0.1 signed by it, and
a kubeconfig that trusts it: what a client of a real cluster is given.

Made with the ``openssl`` command (OpenSSL 3: ``req -x509`` with ``-addext`` for the
subjectAltName; the client, through urllib3 and Python's ssl, checks the address against
the certificate's IP SAN, so the CA is really verified).
"""

from __future__ import annotations

import base64
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Certificates:
    ca: Path
    cert: Path
    key: Path


def make_certificates(folder: Path, host: str = "127.0.0.1") -> Certificates:
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca = folder / "ca.key", folder / "ca.crt"
    key, csr, cert = folder / "server.key", folder / "server.csr", folder / "server.crt"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(
        [
            "req",
            "-x509",
            *ec,
            "-days",
            "2",
            "-subj",
            "/CN=netprobe-emulator-ca",
            "-keyout",
            ca_key,
            "-out",
            ca,
        ]
    )
    _openssl(["req", "-new", *ec, "-subj", "/CN=kube-apiserver", "-keyout", key, "-out", csr])
    extensions = folder / "san.cnf"
    extensions.write_text(f"subjectAltName=IP:{host},DNS:localhost\nextendedKeyUsage=serverAuth\n")
    _openssl(
        [
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            ca,
            "-CAkey",
            ca_key,
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            extensions,
            "-out",
            cert,
        ]
    )
    return Certificates(ca, cert, key)


def _openssl(args: list[object]) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def write_kubeconfig(path: Path, server: str, ca: Path, token: str, context: str) -> Path:
    """A kubeconfig as a cluster hands one out: the CA inline, a bearer token."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": context,
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca.read_bytes()).decode(),
                },
            }
        ],
        "users": [{"name": f"{context}-user", "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": f"{context}-user"}}],
        "current-context": context,
    }
    path.write_text(yaml.safe_dump(config))
    return path
