"""Which releases of the ``kubernetes`` client the gateway works with, checked before it
is imported, so an unsupported client is one clear line (exit 3), never a traceback.

What rules out the releases below the floor (read in their wheels from PyPI):
- 29.0.0 to 35.0.0: the generated ``patch_*_with_http_info`` methods do not accept
  ``_content_type`` (not in their ``all_params``; e.g. 35.0.0
  ``kubernetes/client/api/core_v1_api.py`` ``patch_namespaced_pod_with_http_info``), so
  every relabel and the staging patch fail with TypeError.
- 36.0.0 to 36.0.3: ``kubernetes/stream/ws_client.py`` ``WSClient.update`` reads one frame
  per call and does not look at ``SSLSocket.pending()``; frames already decrypted into the
  TLS buffer are lost when no new data arrives (kubernetes-client/python#2414), so an exec
  over TLS can return without its output. 37.0.2 added the ``pending()`` check and reads
  every available frame.
The ceiling is the next major release: untested until CI runs it (``hack/client-versions.sh``
runs the Kubernetes tests with the lowest and the highest release this range allows).
"""

from __future__ import annotations

import re
from importlib import metadata

from netprobe.errors import BackendError

LOWEST = (37, 0, 2)
BELOW = (38,)
SPEC = "kubernetes>=37.0.2,<38"
"""The requirement as pyproject.toml declares it (a test keeps the two equal)."""


def parse(version: str) -> tuple[int, ...]:
    """The leading release numbers of ``version`` (``37.0.2``, ``38.0.0a1`` -> (38, 0, 0))."""
    numbers = re.match(r"\d+(\.\d+)*", version)
    return tuple(int(part) for part in numbers.group(0).split(".")) if numbers else ()


def check(version: str | None = None) -> None:
    """BackendError unless the installed client (or ``version``) is in the tested range."""
    if version is None:
        try:
            version = metadata.version("kubernetes")
        except metadata.PackageNotFoundError:
            return  # importing the gateway then says the client is missing
    if not LOWEST <= parse(version) < BELOW:
        raise BackendError(
            f"the kubernetes backend works with the Python client {SPEC.removeprefix('kubernetes')}"
            f", but {version} is installed: pip install '{SPEC}'"
        )
