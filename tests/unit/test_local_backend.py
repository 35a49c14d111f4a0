"""What the local backend says when this machine cannot run it (no root needed)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from netprobe.backends.local import LocalBackend, LocalOptions, ownership, preflight
from netprobe.backends.local.naming import Names
from netprobe.backends.local.netns import Commands
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
    assert Protocol.SCTP not in local.protocols
    assert "netcat-openbsd" in local.unsupported[Protocol.SCTP]
    assert local.names.node == "np-00ff00-node"
    local.teardown()  # nothing deployed: nothing to do, no error


def test_the_backend_waits_for_what_the_server_prints() -> None:
    from netprobe.backends.local import server, servers

    assert server.READY.encode() == servers.READY
    assert Path(server.__file__) == servers.SERVER_SCRIPT


class FailingAt(Commands):
    """Fails the first command that mentions ``word``; records every command. A namespace
    it creates is a file in ``netns_dir`` (whose identity stands for the namespace's)."""

    def __init__(self, word: str, netns_dir: Path) -> None:
        self.word = word
        self.netns_dir = netns_dir
        self.seen: list[str] = []

    def run(self, argv: Sequence[str], stdin: str | None = None, what: str = "") -> str:
        self.seen.append(" ".join(argv))
        if self.word in argv:
            raise BackendError(f"`{' '.join(argv)}` failed (exit 2): Error: Unknown device type.")
        if list(argv[1:3]) == ["netns", "add"]:
            (self.netns_dir / argv[3]).touch()
        return ""

    def ip_batch(
        self, lines: Sequence[str], netns: str | None = None, what: str = "", force: bool = False
    ) -> None:
        self.seen.extend(lines)


@pytest.fixture
def claim(tmp_path: Path) -> Iterator[ownership.Claim]:
    (tmp_path / "netns").mkdir()
    claim = ownership.Claim("abcdef", tmp_path / "state", tmp_path / "netns")
    yield claim
    claim.close()


@pytest.mark.parametrize(
    ("word", "hint"),
    [
        ("veth", "modprobe veth"),
        ("bridge", "modprobe bridge"),
        ("nft", "modprobe nf_tables nf_conntrack"),
    ],
)
def test_kernel_check_names_the_missing_feature_and_removes_its_namespace(
    word: str, hint: str, claim: ownership.Claim, tmp_path: Path
) -> None:
    commands = FailingAt(word, tmp_path / "netns")
    with pytest.raises(BackendError, match=hint) as caught:
        preflight.check_kernel(Names("abcdef"), commands, claim)
    assert "Unknown device type" in str(caught.value)
    assert commands.seen[-1] == "netns del np-abcdef-check"


def test_kernel_check_removes_nothing_when_it_could_not_create_its_namespace(
    claim: ownership.Claim, tmp_path: Path
) -> None:
    commands = FailingAt("netns", tmp_path / "netns")
    with pytest.raises(BackendError, match="cannot create a network namespace"):
        preflight.check_kernel(Names("abcdef"), commands, claim)
    assert not [line for line in commands.seen if "del" in line]


def test_kernel_check_refuses_a_namespace_it_did_not_create(
    claim: ownership.Claim, tmp_path: Path
) -> None:
    (tmp_path / "netns" / "np-abcdef-check").touch()  # the user's
    commands = FailingAt("nothing", tmp_path / "netns")
    with pytest.raises(BackendError, match="np-abcdef-check exists, and this run did not"):
        preflight.check_kernel(Names("abcdef"), commands, claim)
    assert commands.seen == []


def test_root_without_capabilities_is_told_which_are_missing(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("Name:\tpython3\nCapEff:\t0000000000001000\n")  # CAP_NET_ADMIN only
    assert preflight.missing_capabilities(status) == ["CAP_SYS_ADMIN"]
    status.write_text("CapEff:\t000001ffffffffff\n")
    assert preflight.missing_capabilities(status) == []
