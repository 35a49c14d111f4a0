"""What the local backend says when this machine cannot run it (no root needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from netprobe.backends.local import LocalBackend, LocalOptions, preflight
from netprobe.errors import EXIT_BACKEND, BackendError
from netprobe.model import Protocol


@pytest.mark.parametrize(
    ("euid", "missing", "messages"),
    [
        (1000, set(), ["run as root"]),
        (0, {"nft"}, ["`nft` not found: apt-get install nftables"]),
        (
            1000,
            {"ip", "nc"},
            ["run as root", "apt-get install iproute2", "apt-get install netcat-openbsd"],
        ),
    ],
)
def test_preflight_names_everything_missing_and_how_to_get_it(
    euid: int, missing: set[str], messages: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("os.geteuid", lambda: euid)
    monkeypatch.setattr("shutil.which", lambda tool: None if tool in missing else f"/x/{tool}")
    monkeypatch.setattr(preflight, "is_openbsd_nc", lambda: True)
    with pytest.raises(BackendError) as caught:
        LocalBackend().preflight()
    assert caught.value.exit_code == EXIT_BACKEND
    for message in messages:
        assert message in str(caught.value)


def test_another_netcat_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 0)
    monkeypatch.setattr("shutil.which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(preflight, "is_openbsd_nc", lambda: False)
    with pytest.raises(BackendError, match="not OpenBSD netcat"):
        LocalBackend().preflight()


def test_sctp_is_skipped_with_a_reason_and_runs_are_named() -> None:
    local = LocalBackend(LocalOptions(run_id="00ff00"))
    assert Protocol.SCTP not in local.capabilities.protocols
    assert "netcat-openbsd" in (local.capabilities.why_not(Protocol.SCTP, "local") or "")
    assert local.names.node == "/run/netprobe/00ff00/ns/node"
    local.teardown()  # nothing deployed: nothing to do, no error


def test_the_backend_waits_for_what_the_server_prints() -> None:
    from netprobe.backends.local import listener, servers

    assert listener.READY.encode() == servers.READY
    assert listener.HERE == servers.HERE
    assert Path(listener.__file__) == servers.SERVER_SCRIPT


def test_one_server_process_serves_many_pods_within_its_socket_budget() -> None:
    from netprobe.backends.local import servers

    def spec(index: int, tcp: int = 1, udp: int = 1) -> servers.ServerSpec:
        return servers.ServerSpec(f"/ns/p{index}", f"n/p{index}", (80,) * tcp, (80,) * udp)

    pods = [spec(i) for i in range(500)]
    groups = servers.groups(pods)
    assert [len(group) for group in groups] == [256, 244]
    assert [spec for group in groups for spec in group] == pods
    assert all(sum(s.sockets for s in group) <= servers.SOCKETS_PER_SERVER for group in groups)
    # A pod with more ports than the budget still gets served, by a process of its own.
    big = spec(500, tcp=600, udp=0)
    assert [len(group) for group in servers.groups([pods[0], big, pods[1]])] == [1, 1, 1]
    argv = servers.server_argv([spec(0), servers.ServerSpec("/ns/x0", "192.0.2.1", (7,), ())])
    assert argv[argv.index("--watch-stdin") + 1 :] == [
        *("--serve", "/ns/p0", "n/p0", "80", "80"),
        *("--serve", "/ns/x0", "192.0.2.1", "7", "-"),
    ]


def test_a_server_that_cannot_serve_one_of_its_pods_says_which(tmp_path: Path) -> None:
    from netprobe.backends.local import servers

    missing = str(tmp_path / "gone")
    specs = [servers.ServerSpec(servers.HERE, "n/a"), servers.ServerSpec(missing, "n/b", (80,))]
    started = servers.start(specs)
    try:
        with pytest.raises(BackendError) as caught:
            servers.wait_ready(started, 10)
    finally:
        servers.stop(started)
    assert str(caught.value) == (
        "probe server for n/a, n/b exited (code 1): netprobe server: [Errno 2] n/b: "
        f"cannot enter {missing}: No such file or directory"
    )


def test_root_without_capabilities_is_told_which_are_missing(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("Name:\tpython3\nCapEff:\t0000000000001000\n")  # CAP_NET_ADMIN only
    assert preflight.missing_capabilities(status) == ["CAP_SYS_ADMIN"]
    status.write_text("CapEff:\t000001ffffffffff\n")
    assert preflight.missing_capabilities(status) == []
