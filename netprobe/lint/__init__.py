"""``netprobe lint``: the NetworkPolicy mistakes people really make, found in manifests.

Each family of checks is a module (peers, dns, isolation, ipblocks, ports); the registry
runs them. Checks read the model and match peers, addresses and ports with the analyzer's
matchers (never its verdicts), and never raise on odd input: what they cannot judge from
the manifests given, they leave alone.
"""

from netprobe.lint.findings import Check, Finding, Severity
from netprobe.lint.registry import CHECKS, check_ids, lint
from netprobe.lint.subject import LintInput

__all__ = ["CHECKS", "Check", "Finding", "LintInput", "Severity", "check_ids", "lint"]
