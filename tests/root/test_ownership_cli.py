"""What an unlucky user meets, through the real `netprobe` command on the local dataplane:
their own namespaces named like netprobe's, records written by hand, missing
capabilities, signals at awkward moments. Nothing of theirs may change; nothing of
netprobe's may stay; no traceback. (The process runs in a private mount and network
namespace: see conftest.)"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netprobe.backends.local.naming import STATE_DIR

NETNS_DIR = Path("/run/netns")

pytestmark = pytest.mark.root

SUITE = """\
name: tiny
namespaces: {a: {}}
pods:
  a/client: {labels: {app: client}}
  a/server: {labels: {app: server}, ports: [80]}
expect:
  - allow: a/client -> a/server:80
"""


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.netprobe.yaml"
    path.write_text(SUITE)
    return path


def netprobe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netprobe", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def identity(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_dev, info.st_ino


def user_namespace(name: str) -> tuple[int, int]:
    subprocess.run(["ip", "netns", "add", name], check=True)
    return identity(NETNS_DIR / name)


def namespaces() -> dict[str, tuple[int, int]]:
    """The namespaces in /run/netns (the users') and in netprobe's run directories."""
    paths = [*NETNS_DIR.glob("*"), *STATE_DIR.glob("*/ns/*")]
    return {str(path.relative_to("/run")): identity(path) for path in paths}


def runs() -> list[str]:
    return sorted(path.name for path in STATE_DIR.glob("*"))


@pytest.fixture(autouse=True)
def nothing_left() -> Iterator[None]:
    """Each test starts with no namespaces or records and removes what it made."""
    assert namespaces() == {}
    yield
    for path in NETNS_DIR.glob("*"):
        subprocess.run(["ip", "netns", "del", path.name], check=False)
    subprocess.run([sys.executable, "-m", "netprobe", "cleanup", "--all"], check=True)


def test_a_users_namespaces_named_like_netprobes_are_none_of_its_business(suite: Path) -> None:
    mine = {name: user_namespace(name) for name in ("np-ffffff-check", "np-ffffff-node")}
    done = netprobe("run", str(suite), "--backend", "local", env={"NETPROBE_RUN_ID": "ffffff"})
    assert done.returncode == 0, done.stderr
    assert namespaces() == {f"netns/{name}": value for name, value in mine.items()}
    assert runs() == []


def test_root_without_capabilities_is_told_so_not_that_the_kernel_lacks_namespaces(
    suite: Path,
) -> None:
    argv = [sys.executable, "-m", "netprobe", "run", str(suite), "--backend", "local"]
    done = subprocess.run(
        ["setpriv", "--bounding-set=-all", *argv], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3, done.stderr
    assert "without CAP_SYS_ADMIN and CAP_NET_ADMIN" in done.stderr
    assert "CONFIG_NET_NS" not in done.stderr
    assert namespaces() == {}


def test_cleanup_touches_none_of_the_users_objects_named_like_netprobes() -> None:
    # The adversarial case: namespaces, a process and host links named like a run's, beside
    # that run's (stale, empty) directory.
    mine = {name: user_namespace(name) for name in ("np-dddddd-node", "np-dddddd-p0")}
    sleeper = subprocess.Popen(["ip", "netns", "exec", "np-dddddd-p0", "sleep", "60"])
    subprocess.run(
        ["ip", "link", "add", "np-dddddd-p3", "type", "veth", "peer", "name", "userpeer"],
        check=True,
    )
    (STATE_DIR / "dddddd" / "ns").mkdir(parents=True)
    try:
        done = netprobe("cleanup")
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"removed run {STATE_DIR / 'dddddd'}\n"
        assert namespaces() == {f"netns/{name}": value for name, value in mine.items()}
        assert sleeper.poll() is None
        links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        assert "np-dddddd-p3" in links and "userpeer" in links
    finally:
        sleeper.kill()
        sleeper.wait()
        subprocess.run(["ip", "link", "del", "np-dddddd-p3"], check=False)


DRIVER = """\
import os, signal, sys
from netprobe.backends.local.netns import Commands
signums = [getattr(signal, name) for name in sys.argv[2].split(",")]
real = Commands.run

def interrupted(self, argv, stdin=None, what=""):
    out = real(self, argv, stdin, what)
    if "veth" in argv:  # the check's namespace exists
        for signum in signums:
            os.kill(os.getpid(), signum)
    return out

Commands.run = interrupted
sys.argv = ["netprobe", "run", sys.argv[1], "--backend", "local"]
from netprobe.cli import run
run()
"""


@pytest.mark.parametrize("signals", ["SIGINT", "SIGTERM", "SIGINT,SIGINT", "SIGTERM,SIGINT"])
def test_a_signal_during_the_kernel_check_exits_130_and_leaves_nothing(
    suite: Path, signals: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(suite), signals],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr
    assert namespaces() == {}
    assert runs() == []


HOOKED = """\
import os, signal, sys
import {module} as target
real = target.{function}

def hooked(*args, **kwargs):
    {before}
    result = real(*args, **kwargs)
    {after}
    return result

target.{function} = hooked
sys.argv = ["netprobe", *sys.argv[1:]]
from netprobe.cli import run
run()
"""


def hooked(module: str, function: str, before: str = "pass", after: str = "pass") -> str:
    return HOOKED.format(module=module, function=function, before=before, after=after)


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_a_signal_while_the_suites_load_exits_130(suite: Path, signum: str) -> None:
    script = hooked(
        "netprobe.suite.loader", "load_suite_file", before=f"os.kill(os.getpid(), signal.{signum})"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "check", str(suite)], capture_output=True, text=True
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr == "netprobe: interrupted\n"


SECOND_SIGINT = """\
import os, signal, sys
import netprobe.commands.run as command
from netprobe.backends.local.backend import LocalBackend
deploy, run_suite = LocalBackend.deploy, command.run_suite

def deploy_then_ctrl_c(self, *args):
    state = deploy(self, *args)
    os.kill(os.getpid(), signal.SIGINT)  # the first Ctrl-C: the run unwinds, tears down
    return state

def then_ctrl_c_again(*args, **kwargs):
    try:
        return run_suite(*args, **kwargs)
    finally:  # torn down, handlers back: the user presses Ctrl-C again, and again
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)

LocalBackend.deploy, command.run_suite = deploy_then_ctrl_c, then_ctrl_c_again
sys.argv = ["netprobe", "run", sys.argv[1], "--backend", "local"]
from netprobe.cli import run
run()
"""


def test_signals_after_teardown_still_exit_130_without_a_traceback(suite: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SECOND_SIGINT, str(suite)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr == "netprobe: interrupted\n"
    assert namespaces() == {}
    assert runs() == []


def test_more_pods_than_the_local_backend_can_name_is_refused_before_anything_is_made(
    tmp_path: Path,
) -> None:
    pods = "".join(f"  a/p{index}: {{}}\n" for index in range(1_024))
    path = tmp_path / "huge.netprobe.yaml"
    path.write_text(
        "name: huge\nnamespaces: {a: {}}\npods:\n" + pods + "expect:\n  - deny: a/p0 -> a/p1:80\n"
    )
    started = time.monotonic()
    done = netprobe("run", str(path), "--backend", "local")
    assert done.returncode == 3, done.stderr
    assert "at most 1,023 pods per suite" in done.stderr and "has 1,024" in done.stderr
    assert "Traceback" not in done.stderr
    assert namespaces() == {}
    assert time.monotonic() - started < 60


UNREMOVABLE = """\
import sys
from netprobe.backends.local.ownership import RunDir
def busy(self, fd, only=None):
    return [f"{self.path}/ns/{name} (busy)" for name in self.namespaces()]
RunDir.remove = busy
sys.argv = ["netprobe", "run", sys.argv[1], "--backend", "local"]
from netprobe.cli import run
run()
"""


def test_namespaces_teardown_could_not_remove_are_named_with_the_way_out(suite: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", UNREMOVABLE, str(suite)], capture_output=True, text=True
    )
    assert done.returncode == 3, done.stderr
    assert "could not remove /run/netprobe/" in done.stderr and "/ns/check (busy)" in done.stderr
    assert "`netprobe cleanup` (as root) removes" in done.stderr
    assert namespaces() != {}
    cleaned = netprobe("cleanup")
    assert cleaned.returncode == 0, cleaned.stderr
    assert namespaces() == {}
    assert runs() == []
