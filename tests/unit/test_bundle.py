"""``netprobe bundle``: one file that loads as the suites it was made from, wherever it is,
alone in a folder or mounted from a ConfigMap; and the errors on the way, located."""

from __future__ import annotations

import dataclasses
import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from configmap_volume import configmap_volume

from netprobe.cli import main
from netprobe.errors import InputError
from netprobe.suite.bundling import bundle_suites
from netprobe.suite.loader import load_suite, load_suites
from netprobe.suite.model import ApplyPolicy, Suite

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "suites"


def without_locations(value: Any) -> Any:
    """``value`` with every ``location`` (and a suite's path) blanked, recursively: what
    differs between a suite and its bundled copy is only where it was read."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            field.name: None
            if field.name in ("location", "path")
            else without_locations(getattr(value, field.name))
            for field in dataclasses.fields(value)
        }
        return dataclasses.replace(value, **changes)
    if isinstance(value, tuple):
        return tuple(without_locations(item) for item in value)
    return value


def bundle_into(folder: Path, *argv: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "suites.netprobe.yaml"
    assert main(["bundle", *argv, "-o", str(out)]) == 0
    return out


def check_json(capsys: pytest.CaptureFixture[str], *paths: Path) -> tuple[int, dict[str, Any]]:
    code = main(["check", "-o", "json", *map(str, paths)])
    document = json.loads(capsys.readouterr().out)
    for suite in document["suites"]:
        suite["path"] = suite["duration"] = None
        for result in suite["results"]:
            result["location"] = None
    return code, document


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_netprobe_check_of_the_bundle_gives_what_check_of_the_suites_gives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = bundle_into(tmp_path / "alone", str(SUITES))
    capsys.readouterr()
    code, original = check_json(capsys, SUITES)
    bundled_code, bundled = check_json(capsys, bundle.parent)  # a folder holding only it
    assert bundled_code == code == 0
    assert bundled == original
    assert bundled["summary"]["expectations"] == original["summary"]["expectations"] >= 1100
    assert {s["name"] for s in bundled["suites"]} >= {"conformance", "conformance-sctp"}


def test_bundled_suites_are_the_suites_but_for_where_they_were_read(tmp_path: Path) -> None:
    bundle = bundle_into(tmp_path, str(SUITES))
    original = load_suites([SUITES], print)
    bundled = load_suites([bundle], print)
    assert [s.name for s in bundled] == [s.name for s in original]
    for mine, theirs in zip(bundled, original, strict=True):
        assert without_locations(mine) == without_locations(theirs), mine.name
        assert mine.path == bundle
    conformance = next(s for s in bundled if s.name == "conformance")
    # suites/conformance/ is a sub-folder, its skipFrom ../../fixtures/cni-limitations.yaml
    assert any("cilium" in skip.backends for skip in conformance.settings.skips)
    assert len(conformance.expectations) > 1000


def test_a_bundle_reads_no_other_file(tmp_path: Path) -> None:
    tree = tmp_path / "repo"
    shutil.copytree(SUITES, tree / "suites")
    shutil.copytree(ROOT / "fixtures", tree / "fixtures")
    bundle = bundle_into(tmp_path / "out", str(tree / "suites"))
    expected = [without_locations(s) for s in load_suites([tree / "suites"], print)]
    shutil.rmtree(tree)  # fixtures, sub-folders and ../ references gone with it
    assert [without_locations(s) for s in load_suites([bundle.parent], print)] == expected
    header, *suites = yaml.safe_load_all(bundle.read_text())
    assert header["sources"][0] == str(
        tree / "suites" / "conformance" / "conformance.netprobe.yaml"
    )
    for suite in suites:
        assert "skipFrom" not in suite.get("settings", {})
        entries = [*suite.get("policies", [])]
        entries += [e for step in suite.get("steps", []) for e in step.get("apply", [])]
        assert all(isinstance(entry, dict) for entry in entries), suite["name"]


def test_a_path_entry_keeps_its_files_in_order_and_a_folder_its_sub_folders(
    tmp_path: Path,
) -> None:
    policy = (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {{name: {}, namespace: x}}\nspec: {{podSelector: {{}}}}\n"
    )
    write(tmp_path / "fixtures" / "deny" / "b.yaml", policy.format("b"))
    write(tmp_path / "fixtures" / "deny" / "deeper" / "a.yaml", policy.format("a"))
    write(tmp_path / "fixtures" / "one.json", json.dumps(yaml.safe_load(policy.format("one"))))
    write(
        tmp_path / "suites" / "team" / "x.netprobe.yaml",
        """\
        pods:
          x/a: {ports: [80]}
          x/b: {}
        policies: [../../fixtures/deny/]
        expect:
          - deny: x/b -> x/a:80
        steps:
          - apply: ../../fixtures/one.json
            expect: [{deny: x/b -> x/a:80}]
        """,
    )
    bundle = bundle_into(tmp_path / "out", str(tmp_path / "suites"))
    (suite,) = load_suites([bundle], print)
    assert suite.name == "x"  # from the file name, written out in the bundle
    assert [p.ref.name for p in suite.policies] == ["b", "a"]  # sorted paths: deny/b.yaml first
    (action,) = suite.steps[1].actions
    assert isinstance(action, ApplyPolicy) and str(action.policy.ref) == "x/one"


def test_yaml_values_keep_their_types_through_the_bundle(tmp_path: Path) -> None:
    write(
        tmp_path / "s" / "t.netprobe.yaml",
        """\
        name: "yes"
        description: "0x1f, 2024-02-30, null and 1.10 stay text"
        namespaces:
          x: {labels: {version: "1.10", "on": "true", date: 2024-02-30}}
        pods:
          x/a: {labels: {app: "null"}, ports: [80]}
          x/b: {}
        expect:
          - allow: x/b -> x/a:80
        """,
    )
    bundle = bundle_into(tmp_path / "out", str(tmp_path / "s"))
    original = load_suites([tmp_path / "s"], print)
    assert without_locations(load_suites([bundle], print)) == without_locations(original)
    assert original[0].name == "yes"


def test_a_bundle_of_a_bundle_keeps_the_original_sources(tmp_path: Path) -> None:
    first = bundle_into(tmp_path / "one", str(SUITES / "three-tier.netprobe.yaml"))
    again = bundle_suites([first, SUITES / "endport.netprobe.yaml"], print)
    assert again.sources == tuple(
        str(SUITES / name) for name in ("three-tier.netprobe.yaml", "endport.netprobe.yaml")
    )
    assert again.names == ("three-tier", "endport")


def test_a_missing_path_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bundle", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'nope'}: no such file or directory" in err and "Traceback" not in err


def test_a_suite_with_an_error_is_not_bundled_and_the_error_names_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path / "s" / "good.netprobe.yaml",
        "pods: {x/a: {ports: [80]}, x/b: {}}\nexpect: [{allow: x/b -> x/a:80}]\n",
    )
    bad = write(
        tmp_path / "s" / "bad.netprobe.yaml",
        "pods: {x/a: {ports: [80]}}\nexpect:\n  - allow: x/b -> x/a:80\n",
    )
    out = tmp_path / "out" / "b.netprobe.yaml"
    out.parent.mkdir()
    assert main(["bundle", str(tmp_path / "s"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"netprobe: error: {bad}:3 expect[0].allow.from: no pod 'x/b'" in err
    assert not out.exists()


def test_a_fixture_that_is_gone_is_a_located_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = write(
        tmp_path / "s.netprobe.yaml",
        "pods: {x/a: {}}\npolicies: [../gone.yaml]\nexpect: [{deny: x/a -> 10.0.0.1:80}]\n",
    )
    assert main(["bundle", str(suite)]) == 2
    assert (
        f"{suite}:2 policies[0]: no such file or folder '../gone.yaml'" in capsys.readouterr().err
    )


def test_an_error_in_a_bundled_suite_names_the_file_it_was_bundled_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = bundle_into(tmp_path, str(SUITES / "endport.netprobe.yaml"))
    text = bundle.read_text()
    bundle.write_text(text.replace("default/db -> 10.0.0.7:31999", "default/dbb -> 10.0.0.7:31999"))
    assert main(["check", str(bundle)]) == 2
    err = capsys.readouterr().err
    line = next(n for n, row in enumerate(bundle.read_text().splitlines(), 1) if "dbb" in row)
    assert f"{bundle}:{line} (document 2) expect[1].deny.from: no pod 'default/dbb'" in err
    assert err.rstrip().endswith(
        f"(did you mean 'default/db'?) (bundled from {SUITES / 'endport.netprobe.yaml'})"
    )


def test_a_warning_about_a_bundled_suite_names_its_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path / "f" / "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: x}\n",
    )
    write(
        tmp_path / "s" / "w.netprobe.yaml",
        "pods: {x/a: {ports: [80]}, x/b: {}}\npolicies: [../f/]\n"
        "expect: [{allow: x/b -> x/a:80}]\n",
    )
    bundle = bundle_into(tmp_path / "out", str(tmp_path / "s"))
    capsys.readouterr()
    assert main(["check", str(bundle)]) == 0
    (warning,) = [line for line in capsys.readouterr().err.splitlines() if "skipping" in line]
    assert (
        str(bundle) in warning and f"bundled from {tmp_path / 's' / 'w.netprobe.yaml'}" in warning
    )


def test_the_bundle_is_not_written_where_it_would_be_read_with_its_sources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(SUITES / "endport.netprobe.yaml", tmp_path / "endport.netprobe.yaml")
    for target in ("all.netprobe.yaml", "endport.netprobe.yaml"):
        assert main(["bundle", str(tmp_path), "-o", str(tmp_path / target)]) == 2
        assert "would be read with the suites it holds" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["endport.netprobe.yaml"]


def test_an_output_a_folder_search_would_miss_is_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["bundle", str(SUITES / "endport.netprobe.yaml"), "-o", str(tmp_path / "b.yaml")]) == 0
    )
    assert "a folder search finds only *.netprobe.yaml files" in capsys.readouterr().err
    assert [s.name for s in load_suites([tmp_path / "b.yaml"], print)] == ["endport"]


def configmap(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(["bundle", *argv]) == 0
    document: dict[str, Any] = yaml.safe_load(capsys.readouterr().out)
    return document


def test_the_configmap_holds_the_bundle_under_a_key_a_folder_search_finds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = configmap(
        capsys, str(SUITES), "--configmap", "netprobe-suites", "-n", "netprobe-system"
    )
    assert manifest["apiVersion"] == "v1" and manifest["kind"] == "ConfigMap"
    assert manifest["metadata"] == {"name": "netprobe-suites", "namespace": "netprobe-system"}
    assert list(manifest["data"]) == ["suites.netprobe.yaml"]
    (tmp_path / "suites.netprobe.yaml").write_text(manifest["data"]["suites.netprobe.yaml"])
    bundled = load_suites([tmp_path], print)
    assert without_locations(bundled) == without_locations(load_suites([SUITES], print))


def test_the_configmap_key_and_namespace_are_chosen(capsys: pytest.CaptureFixture[str]) -> None:
    manifest = configmap(
        capsys,
        str(SUITES / "endport.netprobe.yaml"),
        "--configmap",
        "np",
        "--key",
        "e.netprobe.yaml",
    )
    assert manifest["metadata"] == {"name": "np"}
    assert list(manifest["data"]) == ["e.netprobe.yaml"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--key", "x.netprobe.yaml"], "--key only go with --configmap NAME"),
        (["-n", "netprobe-system"], "--namespace only go with --configmap NAME"),
        (["--configmap", "Bad_Name"], "ConfigMap name 'Bad_Name' must be lowercase"),
        (["--configmap", "np", "-n", "a.b"], "namespace 'a.b' must be lowercase"),
        (["--configmap", "np", "--key", "my suites.netprobe.yaml"], "may hold only letters"),
        (["--configmap", "np", "--key", "..x.netprobe.yaml"], "must not start with '..'"),
        (["--configmap", "np", "--key", "suites.yaml"], "does not end in .netprobe.yaml"),
    ],
)
def test_a_configmap_the_api_server_would_refuse_is_refused(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bundle", str(SUITES / "endport.netprobe.yaml"), *argv]) == 2
    out, err = capsys.readouterr()
    assert message in err and not out and "Traceback" not in err


def test_a_bundle_larger_than_a_configmap_holds_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = "x " * 600_000  # 1.2 MB of description
    write(
        tmp_path / "big.netprobe.yaml",
        f"description: {big}\npods: {{x/a: {{}}}}\nexpect: [{{deny: x/a -> 10.0.0.1:80}}]\n",
    )
    assert main(["bundle", str(tmp_path), "--configmap", "np"]) == 2
    out, err = capsys.readouterr()
    assert "more than a ConfigMap holds (1048576 bytes, 1 MiB)" in err and not out
    assert main(["bundle", str(tmp_path)]) == 0  # as a file, it is fine
    capsys.readouterr()


def test_a_configmap_client_side_apply_cannot_store_is_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = "x " * 150_000  # 300 KB: under 1 MiB, over the 256 KiB of annotations
    write(
        tmp_path / "big.netprobe.yaml",
        f"description: {big}\npods: {{x/a: {{}}}}\nexpect: [{{deny: x/a -> 10.0.0.1:80}}]\n",
    )
    assert main(["bundle", str(tmp_path), "--configmap", "np"]) == 0
    assert "kubectl apply --server-side" in capsys.readouterr().err


def test_a_bundle_mounted_from_a_configmap_is_loaded_once_under_its_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = configmap(capsys, str(SUITES), "--configmap", "netprobe-suites")
    volume = configmap_volume(tmp_path / "suites", manifest["data"])
    suites: tuple[Suite, ...] = load_suites([volume], print)
    assert len(suites) == len(load_suites([SUITES], print))
    assert {s.path for s in suites} == {volume / "suites.netprobe.yaml"}


def test_readers_of_one_suite_take_a_bundle_of_one(tmp_path: Path) -> None:
    one = bundle_into(tmp_path / "one", str(SUITES / "endport.netprobe.yaml"))
    assert load_suite(one, print).name == "endport"  # diff -f, generate -f, the pytest plugin
    every = bundle_into(tmp_path / "every", str(SUITES))
    with pytest.raises(InputError, match="a bundle of 8 suites, where one suite is read"):
        load_suite(every, print)


def test_a_file_name_with_a_line_break_stays_in_its_comment(tmp_path: Path) -> None:
    source = tmp_path / "s" / "a\nname: x.netprobe.yaml"
    write(
        source, "name: a\npods: {x/a: {ports: [80]}, x/b: {}}\nexpect: [{allow: x/b -> x/a:80}]\n"
    )
    made = bundle_suites([tmp_path / "s"], print)
    assert made.sources == (str(source),)
    (tmp_path / "b.netprobe.yaml").write_text(made.text)
    (suite,) = load_suites([tmp_path / "b.netprobe.yaml"], print)
    assert suite.name == "a"
