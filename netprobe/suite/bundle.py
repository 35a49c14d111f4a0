"""The bundle format: several suites, and everything they read from other files, in one
``*.netprobe.yaml`` file that a ConfigMap key can hold (docs/suites.md, "Bundles").

A bundle is a multi-document YAML file. Its first document is a header naming, in order,
the file each further document was written in::

    netprobeBundle: 1
    sources: [suites/three-tier.netprobe.yaml, suites/conformance/conformance.netprobe.yaml]
    ---
    name: three-tier
    ...

Each further document is a suite that reads no other file: ``netprobe bundle``
(:mod:`netprobe.suite.bundling`) replaced its fixture paths by the manifests they named
and its ``skipFrom`` files by their rules. The loader reads those documents by the rules of
any suite; this module only tells a bundle from a suite file and pairs each bundled suite
with its source, so that what is wrong in it can name the file to fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from netprobe.documents import Field

BUNDLE_KEY = "netprobeBundle"
"""The header's first key: a document holding it starts a bundle."""
BUNDLE_FORMAT = 1
"""The one format this netprobe reads and writes; a later one will have another number."""
SOURCES_KEY = "sources"


@dataclass(frozen=True, slots=True)
class SuiteDocument:
    """A suite's YAML document and, when it came in a bundle, where its author wrote it."""

    root: Field
    source: str | None = None
    """The file the suite was bundled from, as ``netprobe bundle`` was given it; None for a
    suite file's own document."""


def is_bundle(documents: Sequence[Field]) -> bool:
    """Whether a file's documents are a bundle: its first one is a header."""
    first = documents[0].value if documents else None
    return isinstance(first, dict) and BUNDLE_KEY in first


def bundled_documents(documents: Sequence[Field]) -> tuple[SuiteDocument, ...]:
    """The suites of a bundle, each with its source, checked against the header."""
    header = documents[0]
    header.check_keys([BUNDLE_KEY, SOURCES_KEY])
    version = header.require(BUNDLE_KEY)
    if version.as_int() != BUNDLE_FORMAT:
        version.fail(
            f"bundle format {version.value} is not one this netprobe reads "
            f"(it reads {BUNDLE_FORMAT})",
            hint="bundle the suites again with this netprobe, or use the netprobe that made it",
        )
    sources_field = header.require(SOURCES_KEY)
    sources = [item.as_str() for item in sources_field.elements()]
    suites = documents[1:]
    if not sources:
        sources_field.fail("the bundle holds no suite", hint="netprobe bundle SUITE_OR_DIR...")
    if len(sources) != len(suites):
        sources_field.fail(
            f"the header names {len(sources)} source(s) but the bundle holds "
            f"{len(suites)} suite document(s)",
            hint="a bundle is written by netprobe bundle: bundle the sources again",
        )
    return tuple(SuiteDocument(root, source) for root, source in zip(suites, sources, strict=True))
