"""Loading suite files: YAML -> :class:`Suite`, every error located at file:line field.

The loader reads the probe pods, loads the policies under test (fixture paths relative to
the suite file, and inline manifests, both through :mod:`netprobe.manifests`), then reads
the steps in order: each step's actions are read against the state before it (what they
delete or relabel must exist there), and its entries are expanded against the state after
them (:func:`~netprobe.suite.model.apply_actions`). The result holds only concrete
expectations; nothing after loading reads YAML. A file may also be a bundle of suites
(:mod:`netprobe.suite.bundle`), each read by the same rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from netprobe.documents import Field, load_yaml_documents
from netprobe.errors import InputError, LocatedError, Location
from netprobe.manifests.notes import Warn
from netprobe.model import NetworkPolicy
from netprobe.suite import SUITE_SUFFIX
from netprobe.suite.bundle import SuiteDocument, bundled_documents, is_bundle
from netprobe.suite.entries import parse_entries
from netprobe.suite.expand import expand
from netprobe.suite.model import Settings, Step, Suite, apply_actions
from netprobe.suite.objects import merge_fixtures, parse_policy_sources
from netprobe.suite.pods import implicit_namespaces, parse_namespaces, parse_pods
from netprobe.suite.settings import parse_settings
from netprobe.suite.steps import parse_actions
from netprobe.suite.workloads import parse_workloads

_TOP_KEYS = (
    "name",
    "description",
    "namespaces",
    "pods",
    "workloads",
    "policies",
    "expect",
    "steps",
    "settings",
)
_STEP_KEYS = ("name", "apply", "delete", "label", "expect")


def load_suite(path: Path, warn: Warn) -> Suite:
    """Read and expand one suite file (or a bundle of one suite).

    Raises:
        InputError: the file cannot be read, or is a bundle of several suites;
            LocatedError for anything wrong inside it, or in the manifests it names.
    """
    suites = load_suite_file(path, warn)
    if len(suites) != 1:
        raise InputError(
            f"{path}: a bundle of {len(suites)} suites, where one suite is read "
            "(give one suite file)"
        )
    return suites[0]


def load_suite_file(path: Path, warn: Warn) -> tuple[Suite, ...]:
    """The suite of a suite file, or the suites of a bundle (:mod:`netprobe.suite.bundle`).

    Raises:
        InputError: the file cannot be read; LocatedError for anything wrong inside it,
            or in the manifests it names.
    """
    return tuple(parse_suite_document(doc, path, warn) for doc in read_suite_documents(path))


def read_suite_documents(path: Path) -> tuple[SuiteDocument, ...]:
    """The suite documents of a file: its one document, or each suite of a bundle."""
    documents = load_yaml_documents(path)
    if not documents:
        raise LocatedError(
            Location(str(path), 1),
            "the suite is empty",
            "a suite needs at least 'pods' and 'expect'",
        )
    if is_bundle(documents):
        return bundled_documents(documents)
    if len(documents) > 1:
        documents[1].fail("a suite file holds one YAML document", hint="split it into files")
    return (SuiteDocument(documents[0]),)


def parse_suite_document(document: SuiteDocument, path: Path, warn: Warn) -> Suite:
    """The suite of one document of the file ``path``; what is wrong in a bundled suite,
    and what the loader warns about, also names the file it was bundled from."""
    if document.source is None:
        return parse_suite(document.root, path, warn)
    origin = f"bundled from {document.source}"
    try:
        return parse_suite(document.root, path, lambda message: warn(f"{message} ({origin})"))
    except LocatedError as exc:
        message = f"{exc.message} ({exc.hint})" if exc.hint else exc.message
        raise LocatedError(exc.location, message, origin) from exc
    except InputError as exc:
        raise InputError(f"{exc} ({origin})") from exc


def parse_suite(root: Field, path: Path, warn: Warn) -> Suite:
    """A suite from its parsed YAML document; ``path`` anchors relative fixture paths."""
    root.check_keys(_TOP_KEYS)
    settings = parse_settings(root.get("settings"), path.parent)
    workloads_field = root.get("workloads")
    workloads = parse_workloads(workloads_field) if workloads_field else ()
    pods_field = root.get("pods") if workloads else root.require("pods")
    pods = parse_pods(pods_field) if pods_field else ()
    declared = parse_namespaces(root.get("namespaces"))
    policies_field = root.get("policies")
    fixtures = parse_policy_sources(policies_field, path.parent, warn) if policies_field else None
    namespaces, pods, policies = merge_fixtures(declared, pods, fixtures)
    namespaces = implicit_namespaces(namespaces, pods)
    suite = Suite(
        name=_name(root, path),
        path=path,
        namespaces=namespaces,
        pods=pods,
        policies=policies,
        steps=(),
        settings=settings,
        description=_description(root),
        workloads=workloads,
    )
    _no_clash(suite, root)
    return replace(suite, steps=_steps(root, suite, warn))


def load_suites(paths: Sequence[Path], warn: Warn) -> tuple[Suite, ...]:
    """Suites from files and directories (see :func:`suite_files`); each bundle's suites
    in its order."""
    return tuple(suite for file in suite_files(paths) for suite in load_suite_file(file, warn))


def suite_files(paths: Sequence[Path]) -> list[Path]:
    """The suite files ``paths`` name: files as given, and in directories every
    ``*.netprobe.yaml`` below them, sorted; a directory without any is an error. A file
    named twice (or named and inside a directory named) is listed once, so its
    expectations are not counted twice.

    Below a directory, entries whose name starts with ``..`` are left out: a ConfigMap
    volume holds its files in such a folder and shows each under its key, as a symlink
    ("AtomicWriter reserves the set of pathnames starting with `..`", kubernetes
    pkg/volume/util/atomic_writer.go), so a suite mounted there is listed by its key."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob(f"*{SUITE_SUFFIX}")
                if p.is_file() and not _kubelet_reserved(p.relative_to(path))
            )
            if not found:
                raise InputError(f"{path}: no suite files (*{SUITE_SUFFIX}) in this directory")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise InputError(f"{path}: no such file or directory")
    first: dict[Path, Path] = {}
    for file in files:
        first.setdefault(file.resolve(), file)
    return list(first.values())


def _kubelet_reserved(relative: Path) -> bool:
    return any(part.startswith("..") for part in relative.parts)


def replace_policies(suite: Suite, policies: Sequence[NetworkPolicy]) -> Suite:
    """``suite`` with ``policies`` as its policies under test (``--policies PATH``).

    Steps keep their actions; expectations do not depend on policies, so they stand."""
    return replace(suite, policies=tuple(policies))


def _no_clash(suite: Suite, root: Field) -> None:
    pods = {pod.ref for pod in suite.pods}
    for workload in suite.workloads:
        if workload.ref in pods:
            raise LocatedError(
                workload.location or root.require("workloads").location,
                f"workload {workload.ref} has the name of a pod of this suite",
                "expectations name both the same way: rename one",
            )


def _steps(root: Field, suite: Suite, warn: Warn) -> tuple[Step, ...]:
    state = suite.initial_state()
    settings: Settings = suite.settings
    expect_field = root.get("expect")
    steps_field = root.get("steps")
    if expect_field is None and steps_field is None:
        root.fail("the suite expects nothing", hint="add 'expect:' (or 'steps:') entries")
    steps: list[Step] = []
    if expect_field is not None:
        statements = parse_entries(expect_field)
        name = "initial" if steps_field else ""
        if not statements:
            expect_field.fail("'expect' is empty")
        steps.append(
            Step(name, (), expand(statements, state, settings, warn), expect_field.location)
        )
    if steps_field is None:
        return tuple(steps)
    if not steps_field.elements():
        steps_field.fail("'steps' is empty")
    names = {step.name: step for step in steps}
    for index, step_field in enumerate(steps_field.elements()):
        step_field.check_keys(_STEP_KEYS)
        name_field = step_field.get("name")
        name = _printable(name_field, "a step name") if name_field else f"step-{index + 1}"
        if name in names:
            (name_field or step_field).fail(
                f"step name '{name}' is used twice", hint="give each step its own name"
            )
        actions = parse_actions(step_field, state, suite.path.parent, warn)
        state = apply_actions(state, actions)
        expect = step_field.get("expect")
        statements = parse_entries(expect) if expect is not None else ()
        if not statements:
            step_field.fail(
                f"step '{name}' checks nothing", hint="add 'expect:' entries to this step"
            )
        if not steps and actions:
            # The first step of a suite changes nothing (suite model); start from an empty one.
            steps.append(Step("initial", (), ()))
            names.setdefault("initial", steps[0])
        expectations = expand(statements, state, settings, warn, name)
        names[name] = Step(name, actions, expectations, step_field.location)
        steps.append(names[name])
    return tuple(steps)


def _name(root: Field, path: Path) -> str:
    field = root.get("name")
    if field is not None:
        name = _printable(field, "the suite name")
        if not name:
            field.fail("the suite name is empty")
        return name
    file_name = path.name
    return file_name[: -len(SUITE_SUFFIX)] if file_name.endswith(SUITE_SUFFIX) else path.stem


def _printable(field: Field, what: str) -> str:
    """A name reports show on one line (tables, JUnit, pytest ids): no control characters."""
    name = field.as_str().strip()
    if not name.isprintable():
        field.fail(
            f"{what} {name!r} holds a line break or control character",
            hint="write it on one line, with printable characters only",
        )
    return name


def _description(root: Field) -> str:
    field = root.get("description")
    return field.as_str().strip() if field else ""
