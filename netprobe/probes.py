"""Probes: what one source pod tries to reach, and how an attempt turned out.

The probe engine (building the shell script a backend execs in the source pod, and parsing
the markers it prints) is shared by every backend, so that a local run and a cluster run
judge connections the same way.

One script runs all of a source pod's probes in parallel (background jobs, then ``wait``)
and prints one marker line per probe::

    NETPROBE <index> rc=<nc exit code> reply=<bytes received> t0=<uptime> t1=<uptime> err=<stderr>

then ``NETPROBE_DONE``. Outcomes are classified here, in Python, from those facts: never
from the exec's own exit code, which transports lose (kubernetes-client/python#2328). Only
addresses (re-validated :mod:`ipaddress` values) and integers are put into the script.

How OpenBSD nc (Debian's netcat-openbsd, also Alpine's) reports, as collected against real
listeners and nftables rules in a network namespace (see ``tests/unit/test_probes_parse.py``):

- TCP ``nc -vn -z -w T``: rc 0 and ``... succeeded!`` when connected; ``failed: Connection
  refused`` (no listener, or a TCP reset); ``timed out: Operation now in progress`` after T
  when dropped; ``failed: No route to host`` when an ICMP reject comes back.
- UDP ``printf DNS_HEADER | nc -un -W 1 -w T``: a reply on stdout when the server answered;
  nothing and rc 0 *at once* when an ICMP error came back (port unreachable); nothing and
  rc 0 *after T* when dropped. ``-v`` and ``-z`` are never used for UDP: both make nc send
  test datagrams of its own, and ``-zu`` reports success whatever happens. Timing is read
  from ``/proc/uptime`` before and after each probe (centiseconds, no arithmetic in sh).

The UDP datagram is a 12-byte DNS message header (id ``np``, a query, no question), not
text: DNS servers drop a datagram shorter than a header without a word (CoreDNS's
miekg/dns ``server.go`` ``serveDNS``: ``len(m) < headerSize``; dnsmasq 2.90 too, observed),
so a text payload made every probe of a real cluster DNS pod time out. A header is answered
at once: miekg/dns ``acceptfunc.go`` rejects a query without exactly one question with
FORMERR, dnsmasq with REFUSED; agnhost ``serve-hostname --udp`` and netprobe's local
servers answer any datagram. Its NUL bytes never reach the shell (``printf`` writes them
straight into ``nc``; the reply's are dropped by the command substitution, and its length
is all the script reads).

Not every ``nc`` has every flag (see :data:`NC_FLAGS`): before any probe, the script reads
``nc -h`` once and, when a flag its probes need is missing, prints one
``NETPROBE_NC_LACKS <flags>`` line and no probe at all. The engine turns that into one
error for the whole run, naming where the ``nc`` came from (the probe image).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv6Address, ip_address

from netprobe.model import Endpoint, IPAddress, Port, Protocol, is_port_number


class Outcome(StrEnum):
    CONNECTED = "connected"
    """The connection was made (TCP handshake, or a UDP reply came back)."""
    REFUSED = "refused"
    """The packet reached the destination and nothing listened: the network allowed it."""
    TIMEOUT = "timeout"
    """No answer within the timeout: dropped (or rejected on the way by the network)."""
    ERROR = "error"
    """The probe itself failed; says nothing about the network."""

    @property
    def reached(self) -> bool | None:
        """Whether the network let the connection through; None for ERROR."""
        if self is Outcome.ERROR:
            return None
        return self is not Outcome.TIMEOUT


@dataclass(frozen=True, slots=True)
class Probe:
    """One connection attempt from a source pod: only addresses and numbers, never text
    from a user file, so a command line built from it cannot be injected into."""

    target: IPAddress
    port: int
    protocol: Protocol

    def __post_init__(self) -> None:
        if not isinstance(self.target, IPv4Address | IPv6Address):
            raise TypeError(f"probe target must be an IP address, got {self.target!r}")
        if type(self.port) is not int or not is_port_number(self.port):
            raise ValueError(f"probe port must be an int in 1-65535, got {self.port!r}")
        if not isinstance(self.protocol, Protocol):
            raise TypeError(f"probe protocol must be a Protocol, got {self.protocol!r}")

    def __str__(self) -> str:
        return str(Endpoint(self.target, Port(self.port, self.protocol)))


@dataclass(frozen=True, slots=True)
class ProbeResult:
    outcome: Outcome
    detail: str = ""
    """What nc said, or why the probe failed."""
    elapsed: float | None = None
    """Seconds the probe took inside the pod, when the pod could tell."""


MARKER = "NETPROBE"
DONE_MARKER = "NETPROBE_DONE"
NO_NC_MARKER = "NETPROBE_NO_NC"
NC_LACKS_MARKER = "NETPROBE_NC_LACKS"
PARALLEL_LIMIT = 128
"""At most this many probes run at once in one pod; more go in further waves."""
EXEC_MARGIN = 5.0
"""Seconds an exec may take beyond the probe timeout (process start, a loaded machine)."""
PROBE_START = 0.05
"""Seconds more an exec may take for each of its probes: a probe is a few processes
started one after another by one shell, about 2.4 ms of CPU each on a 2-core machine, where
16 execs of 128 probes sharing the cores (the local backend's, with netprobe's own) ran
up to 5.7 s past the probe timeout and, with other work on the machine, past
:data:`EXEC_MARGIN` alone (86 ERRORs in 250,000 probes of 500 local pods)."""
_DETAIL_LIMIT = 300

NC_FLAGS: dict[Protocol, tuple[str, ...]] = {Protocol.UDP: ("-W",)}
"""The ``nc`` flags the script checks (in ``nc -h``) before probing each protocol.

Only flags that a real build lacks are checked. The ``nc`` builds checked:

- OpenBSD netcat 1.130 (``$OpenBSD: netcat.c,v 1.130 2015/07/26``; its getopt string is
  ``46DdEe:FhI:i:klNnoO:P:p:rSs:tT:UuV:vw:X:x:z``) and 1.159 (``h2o/h2o
  libressl-2.4.5/apps/nc/netcat.c``, 2016/07/07): ``-u -n -v -z -w``, **no** ``-W``.
  1.130 is Alpine's netcat-openbsd up to Alpine 3.17 (``nvucinic/kdbg`` Dockerfile history:
  ``alpine:3.16.3`` -> ``netcat-openbsd=1.130-r3``, ``alpine:3.17.2`` -> ``1.130-r4``;
  Alpine builds it from Debian's orig tarball plus patches: ``tcely/aports
  main/netcat-openbsd/APKBUILD`` pkgver 1.130), so agnhost 2.52 (Alpine 3.16, see
  :data:`netprobe.backends.kubernetes.bodies.DEFAULT_IMAGE`) cannot run UDP probes.
- Debian's netcat-openbsd 1.219-1 (bookworm, installed on the development machines): has
  ``-W recvlimit`` ("Terminate after receiving a number of packets") and every other flag
  used here: its ``nc -h``, and a real UDP reply on loopback in
  ``tests/unit/test_probes_script.py``. OpenBSD netcat.c 1.225 (``duncan-roe/netcat-openbsd
  netcat.c``) still has ``W:`` in its getopt string. Alpine 3.18 ships netcat-openbsd
  1.219-r1, 3.19 and 3.20 ship 1.226-r0 (``nvucinic/kdbg`` and other pinned Dockerfiles;
  ``alpinelinux/aports main/netcat-openbsd/APKBUILD`` pkgver 1.226).
- BusyBox ``nc`` (``mirror/busybox networking/nc_bloaty.c``, per the kube-runner notes) has
  ``-u -n -v -z -w`` and no ``-W``.

The TCP flags are in every build above, so they are not checked: a terse ``nc -h`` that
omits a flag the build has would otherwise stop runs that work.
"""
_FLAG_USES = {
    "-W": (
        "UDP probes need it (nc -u -W 1 stops at the first reply); OpenBSD netcat 1.130 "
        "(Alpine 3.16 and 3.17, so agnhost 2.52) lacks it, 1.219 and later (Debian 12, "
        "Alpine 3.18 and later) have it"
    )
}

UDP_PAYLOAD = b"np" + bytes(10)
"""What a UDP probe sends: a DNS header (id, flags, four counts), see the module docstring."""
UDP_PAYLOAD_PRINTF = "".join(f"\\{byte:o}" for byte in UDP_PAYLOAD)
"""The same as POSIX ``printf`` octal escapes (dash, BusyBox and coreutils printf)."""

_PROLOGUE = """\
set -f
command -v nc >/dev/null 2>&1 || {{ echo {no_nc}; echo {done}; exit 0; }}
{check}np_tcp() {{ nc -vn -z -w {t} "$1" "$2" </dev/null; }}
np_udp() {{ printf '{dns_header}' | nc -un -W 1 -w {t} "$1" "$2"; }}
np_sctp() {{ echo "no SCTP prober: nc cannot speak SCTP" >&2; return 2; }}
np() {{
  i=$1; t0=; t1=
  read -r t0 _ 2>/dev/null </proc/uptime
  x=$(exec 3>&1; o=$(np_$2 "$3" "$4" 2>&3); echo "NPRC $? ${{#o}}")
  read -r t1 _ 2>/dev/null </proc/uptime
  r=${{x##*NPRC }}
  set -- ${{x%NPRC*}}
  printf '{marker} %s rc=%s reply=%s t0=%s t1=%s err=%s\\n' \
    "$i" "${{r% *}}" "${{r#* }}" "$t0" "$t1" "$*"
}}
"""

# Once per exec, before any probe: read nc's help, name each needed flag it does not list.
_CHECK = """\
h=$(nc -h 2>&1 </dev/null); m=
for f in {flags}; do case $h in *"$f"*) ;; *) m="$m $f";; esac; done
[ -z "$m" ] || {{ echo {lacks}$m; echo {done}; exit 0; }}
"""


def nc_timeout(timeout: float) -> int:
    """``nc -w`` takes whole seconds: the probe timeout rounded up, at least 1."""
    return max(1, math.ceil(timeout))


def exec_timeout(timeout: float, count: int = 1) -> float:
    """The deadline for one exec running ``count`` probes with ``timeout`` in parallel
    (in waves of :data:`PARALLEL_LIMIT`)."""
    waves = max(1, math.ceil(count / PARALLEL_LIMIT))
    return waves * nc_timeout(timeout) + EXEC_MARGIN + count * PROBE_START


def probe_script(probes: Sequence[Probe], timeout: float) -> str:
    """A POSIX sh script running ``probes`` in parallel, one marker line each.

    Backends that list SCTP in their protocols still get an ERROR for SCTP probes: nc
    cannot speak it, and no other prober is assumed in the pod."""
    flags = needed_flags(probe.protocol for probe in probes)
    check = _CHECK.format(flags=" ".join(flags), lacks=NC_LACKS_MARKER, done=DONE_MARKER)
    lines = [
        _PROLOGUE.format(
            t=nc_timeout(timeout),
            marker=MARKER,
            done=DONE_MARKER,
            no_nc=NO_NC_MARKER,
            check=check if flags else "",
            dns_header=UDP_PAYLOAD_PRINTF,
        )
    ]
    for index, probe in enumerate(probes):
        # Re-validate at the last moment: only canonical addresses and ints reach the shell.
        address = ip_address(str(probe.target)).compressed
        port = int(probe.port)
        if index and index % PARALLEL_LIMIT == 0:
            lines.append("wait\n")
        lines.append(f"np {index} {probe.protocol.lower()} {address} {port} &\n")
    lines.append(f"wait\necho {DONE_MARKER}\n")
    return "".join(lines)


def needed_flags(protocols: Iterable[Protocol]) -> tuple[str, ...]:
    """The checked ``nc`` flags (:data:`NC_FLAGS`) that probes of ``protocols`` need."""
    wanted = set(protocols)
    return tuple(sorted({flag for p in wanted for flag in NC_FLAGS.get(p, ())}))


def probe_command(probes: Sequence[Probe], timeout: float) -> tuple[str, ...]:
    """The argv a backend execs in the source pod."""
    return ("sh", "-c", probe_script(probes, timeout))


_LINE = re.compile(
    rf"^{MARKER} (?P<index>\d+) rc=(?P<rc>-?\d*) reply=(?P<reply>\d*) "
    r"t0=(?P<t0>[\d.]*) t1=(?P<t1>[\d.]*) err=(?P<err>.*)$"
)


@dataclass(frozen=True, slots=True)
class ProbeFacts:
    """What one marker line says."""

    rc: int | None
    reply: int
    elapsed: float | None
    err: str


def parse_probe_output(
    probes: Sequence[Probe],
    stdout: str,
    timeout: float,
    *,
    stderr: str = "",
    exit_code: int | None = None,
    timed_out: bool = False,
) -> tuple[ProbeResult, ...]:
    """One result per probe, in order, from the markers in an exec's ``stdout``.

    A probe without a marker is an ERROR that carries what the exec said on ``stderr``."""
    lines = stdout.splitlines()
    if NO_NC_MARKER in lines:
        return tuple(ProbeResult(Outcome.ERROR, "nc not found in the pod") for _ in probes)
    lacking = nc_lacks(stdout)
    if lacking:
        failed = ProbeResult(Outcome.ERROR, nc_lacks_reason(lacking))
        return tuple(failed for _ in probes)
    facts: dict[int, ProbeFacts] = {}
    for line in lines:
        match = _LINE.match(line.rstrip("\r"))
        if match is None:
            continue
        facts[int(match["index"])] = _facts(match)
    missing = _missing_reason(stdout, stderr, exit_code, timed_out)
    return tuple(
        classify(probe.protocol, facts[i], timeout) if i in facts else missing
        for i, probe in enumerate(probes)
    )


def nc_lacks(stdout: str) -> tuple[str, ...]:
    """The flags the pod's ``nc`` lacks, when the script's check said so (else empty)."""
    for line in stdout.splitlines():
        words = line.rstrip("\r").split()
        if words and words[0] == NC_LACKS_MARKER:
            return tuple(w for w in words[1:] if w in _FLAG_USES)
    return ()


def nc_lacks_reason(flags: Sequence[str]) -> str:
    """Why probing stopped when ``nc`` lacks ``flags``, e.g. for :func:`nc_lacks`'s."""
    why = "; ".join(f"{flag}: {_FLAG_USES.get(flag, 'the probes use it')}" for flag in flags)
    return f"its nc has no {' '.join(flags)} ({why})"


def _facts(match: re.Match[str]) -> ProbeFacts:
    elapsed = None
    if match["t0"] and match["t1"]:
        elapsed = max(0.0, float(match["t1"]) - float(match["t0"]))
    return ProbeFacts(
        rc=int(match["rc"]) if match["rc"] else None,
        reply=int(match["reply"] or 0),
        elapsed=elapsed,
        err=match["err"].strip(),
    )


def _missing_reason(
    stdout: str, stderr: str, exit_code: int | None, timed_out: bool
) -> ProbeResult:
    if timed_out:
        why = "the exec passed its deadline before the probe reported"
    elif DONE_MARKER in stdout:
        why = "the probe script printed no result for this probe"
    else:
        why = f"the probe script did not finish (exit code {exit_code})"
    said = " ".join(stderr.split())
    detail = f"no result marker: {why}" + (f"; stderr: {said}" if said else "")
    return ProbeResult(Outcome.ERROR, _clip(detail))


# nc's stderr (errno texts from glibc and musl) -> what it means for the network.
_REFUSED = ("connection refused",)
_TIMED_OUT = ("timed out", "operation now in progress")
_REJECTED = (
    "no route to host",
    "host is unreachable",
    "operation not permitted",
    "permission denied",
    "administratively prohibited",
)


def classify(protocol: Protocol, facts: ProbeFacts, timeout: float) -> ProbeResult:
    """Turn one marker's facts into an outcome (see the module docstring)."""
    err = _clip(facts.err)
    elapsed = facts.elapsed
    lowered = err.lower()
    if facts.rc == 127 or "not found" in lowered:
        return ProbeResult(Outcome.ERROR, f"nc not found in the pod: {err}", elapsed)
    slow = elapsed is not None and elapsed >= 0.5 * nc_timeout(timeout)
    if protocol is Protocol.UDP:
        if facts.reply > 0:
            return ProbeResult(Outcome.CONNECTED, f"{facts.reply}-byte reply", elapsed)
        if facts.rc == 0 and not err:
            if elapsed is None:
                return ProbeResult(Outcome.TIMEOUT, "no reply (timing unknown)", elapsed)
            if slow:
                return ProbeResult(Outcome.TIMEOUT, f"no reply within {timeout:g}s", elapsed)
            return ProbeResult(
                Outcome.REFUSED, "an ICMP error came back at once (port unreachable)", elapsed
            )
    elif facts.rc == 0:
        return ProbeResult(Outcome.CONNECTED, err, elapsed)
    if any(text in lowered for text in _REFUSED):
        return ProbeResult(Outcome.REFUSED, err, elapsed)
    if any(text in lowered for text in _TIMED_OUT):
        return ProbeResult(Outcome.TIMEOUT, err, elapsed)
    if any(text in lowered for text in _REJECTED):
        return ProbeResult(Outcome.TIMEOUT, f"rejected by the network: {err}", elapsed)
    if not err and facts.rc == 1 and slow:
        # A quiet nc (BusyBox without -vv) that failed after the whole timeout.
        return ProbeResult(Outcome.TIMEOUT, f"no answer within {timeout:g}s", elapsed)
    return ProbeResult(
        Outcome.ERROR, f"nc failed (exit code {facts.rc}): {err or 'no message'}", elapsed
    )


def _clip(text: str) -> str:
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 3] + "..."
