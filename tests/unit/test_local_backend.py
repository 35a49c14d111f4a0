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
    assert Path(listener.__file__) == servers.SERVER_SCRIPT


def test_root_without_capabilities_is_told_which_are_missing(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("Name:\tpython3\nCapEff:\t0000000000001000\n")  # CAP_NET_ADMIN only
    assert preflight.missing_capabilities(status) == ["CAP_SYS_ADMIN"]
    status.write_text("CapEff:\t000001ffffffffff\n")
    assert preflight.missing_capabilities(status) == []
