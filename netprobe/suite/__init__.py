"""Declarative suites: what must and must not connect, and the steps between checks."""

SUITE_SUFFIX = ".netprobe.yaml"
"""A suite file's name ends with this: ``check`` and ``run`` search directories for it,
``diff`` and ``generate`` read such files as suites, the pytest plugin collects them.
(This module imports nothing, so the plugin can read it in every pytest run.)"""
