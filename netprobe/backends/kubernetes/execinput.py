"""How an exec's command reaches the pod: in the request URL, or on stdin when it is long.

The client puts the command in the query of the exec request, one ``command=`` per
argument, percent-encoded (kubernetes 37.0.2 ``client/api_client.py``
``parameters_to_url_query``: ``quote(str(value))``), and sends that URL as the request line
of the WebSocket handshake (``stream/ws_client.py`` ``get_websocket_url``). kube-apiserver
takes request lines of up to 1 MiB (``MaxHeaderBytes: 1 << 20``, kubernetes
``staging/src/k8s.io/apiserver/pkg/server/secure_serving.go``; the kubelet's server too),
but a proxy in front of it usually stops at 8 KiB: nginx answers 414 when the request line
is longer than one of its ``large_client_header_buffers`` (default ``4 8k``), Apache at
``LimitRequestLine`` (default 8190), Kestrel at ``MaxRequestLineSize`` (8192). The probe
script of 1,000 probes is about 44 KB encoded. The URL route also hands the script to
``execve`` as one argument, which Linux caps at 128 KiB (``MAX_ARG_STRLEN``).

So above :data:`QUERY_LIMIT` bytes of encoded command, the URL carries a fixed bootstrap and
the script goes on stdin: ``sh -c 's=$(head -c N) || exit; exec </dev/null; eval "$s"'``.

- ``head -c N`` returns after exactly N bytes without waiting for end of input, which the
  client cannot send: v4.channel.k8s.io has no way to close stdin (v5's channel 255 does;
  the gateway sends it when v5 was negotiated). BusyBox's ``head`` stops its ``getc``
  loop at the count (``mirror/busybox coreutils/head.c``; ``-c`` needs
  ``FEATURE_FANCY_HEAD``, which Alpine's ``main/busybox/busyboxconfig`` sets), and that
  is the ``head`` of agnhost, an Alpine image that installs no coreutils (``kubernetes/
  kubernetes test/images/agnhost/Dockerfile``); so does GNU coreutils' (Debian's, which
  the tests run). N is counted in bytes (UTF-8), as ``head -c`` counts.
- ``exec </dev/null``: nothing the script runs can block on the rest of a stream that
  stays open.
- ``eval "$s"`` runs the script in that same ``sh``, as ``sh -c SCRIPT`` would: the same
  ``$0`` and no positional parameters, its ``exit``, traps and ``set`` options act on that
  shell, and its last command's status is the exec's. It is not part of an AND-OR list,
  so ``set -e`` inside it behaves as at top level. ``$(...)`` drops the trailing newlines,
  which changes nothing for a script.

Kubernetes itself treats an exec with stdin like one without: RBAC sees only the verb and
``pods/exec``, the kubelet passes ``stdin`` to the runtime without looking at the
container's ``stdin`` field (``pkg/kubelet/kubelet_pods.go`` ``GetExec``; only
``GetAttach`` reads the container spec), and containerd ends the exec when the process
exits, closing stdin itself (``internal/cri/io/exec_io.go`` ``Attach``: "close
stdinStreamRC after exec process exited"). An admission policy may still refuse
``stdin=true``; the gateway says so when it happens.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

QUERY_LIMIT = 4096
"""The most bytes of encoded ``command=`` parameters sent in the URL: half the 8 KiB request
line of nginx, Apache and Kestrel, leaving room for the path (namespace and pod names up to
63 and 253 bytes), the other parameters and what a proxy adds."""


@dataclass(frozen=True, slots=True)
class ExecInput:
    """What an exec request carries: the command for the URL, and the bytes for stdin."""

    argv: tuple[str, ...]
    stdin: bytes | None = None
    """Sent on channel 0 right after the handshake; None: the exec has no stdin."""


def query_size(argv: Sequence[str]) -> int:
    """The bytes ``argv`` takes in the query, at most: every byte but unreserved ones
    percent-encoded (the client also leaves ``/`` as it is)."""
    return len("&".join(f"command={quote(arg, safe='')}" for arg in argv))


def bootstrap(size: int) -> tuple[str, ...]:
    """The command that reads ``size`` bytes of script from stdin and runs them."""
    return ("sh", "-c", f's=$(head -c {int(size)}) || exit; exec </dev/null; eval "$s"')


def exec_input(argv: Sequence[str], limit: int = QUERY_LIMIT) -> ExecInput:
    """``argv`` as it is, or, when its query would be longer than ``limit``, the bootstrap
    and a script that does what ``argv`` does: the script of ``sh -c SCRIPT`` itself, or
    ``exec`` of any other command, quoted for sh."""
    if query_size(argv) <= limit:
        return ExecInput(tuple(argv))
    if len(argv) == 3 and tuple(argv[:2]) == ("sh", "-c"):
        script = argv[2]
    else:
        script = f"exec {shlex.join(argv)}"
    data = script.encode("utf-8")
    return ExecInput(bootstrap(len(data)), data)
