"""Stand-ins for the ``nc`` of a probe image, run by the real ``sh``: a directory to put
first (alone) on PATH, holding the stand-in and the tools the probe script calls."""

from __future__ import annotations

import shutil
from pathlib import Path

# What OpenBSD netcat 1.130 (Alpine 3.16's netcat-openbsd, in agnhost 2.52) does: its
# help lists no -W, and -W is a usage error. Every call but -h is logged to $NCLOG.
NC_1_130 = r"""#!/bin/sh
usage() {
  echo 'usage: nc [-46DdhklnrStUuvz] [-I length] [-i interval] [-P proxy_username]'
  echo '          [-p source_port] [-q seconds] [-s source] [-T toskeyword] [-V rtable]'
  echo '          [-w timeout] [-X proxy_protocol] [-x proxy_address[:port]] [destination] [port]'
}
case "$1" in -h) echo 'OpenBSD netcat (Debian patchlevel 1.130)'; usage; exit 1;; esac
echo "$*" >> "$NCLOG"
case " $* " in *" -W "*) echo 'nc: unrecognized option: W' >&2; usage >&2; exit 1;; esac
echo "Connection to x 80 port [tcp/*] succeeded!" >&2
exit 0
"""

# An nc whose answer depends only on the port, at once, in the words of OpenBSD netcat:
# 80 connects, 81 is refused, any other port times out. Its help lists -W.
NC_BY_PORT = r"""#!/bin/sh
case "$1" in -h) echo 'usage: nc [-46CDdFhklNnrStUuvZz] [-W recvlimit] [-w timeout]'; exit 0;; esac
eval "host=\${$(($# - 1))} port=\${$#}"
case "$port" in
  80) echo "Connection to $host $port port [tcp/*] succeeded!" >&2; exit 0;;
  81) echo "nc: connect to $host port $port (tcp) failed: Connection refused" >&2; exit 1;;
  *) echo "nc: connect to $host port $port (tcp) timed out: Operation now in progress" >&2
     exit 1;;
esac
"""


def probe_path(
    directory: Path, nc: str | None, tools: tuple[str, ...] = ("sh", "sleep", "cat")
) -> dict[str, str]:
    """``directory`` made a PATH of ``tools`` (links to the real ones) and, unless None, an
    ``nc`` running ``nc``; the environment to run the probe script in (its nc log is
    ``directory/nc.log``)."""
    directory.mkdir(exist_ok=True)
    if nc is not None:
        (directory / "nc").write_text(nc)
        (directory / "nc").chmod(0o755)
    for tool in tools:
        found = shutil.which(tool)
        assert found is not None, f"{tool} is not installed"
        (directory / tool).symlink_to(found)
    return {"PATH": str(directory), "NCLOG": str(directory / "nc.log")}
