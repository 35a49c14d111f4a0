"""The backends' options as flags of ``netprobe run`` and ``netprobe cleanup``: one group
per backend, read from the options each backend declares (:mod:`netprobe.backends.options`).
"""

from __future__ import annotations

import argparse

from netprobe.backends.options import Option, build, declared
from netprobe.backends.registry import PLUGINS, Plugin
from netprobe.errors import InputError


def add_backend_options(parser: argparse.ArgumentParser, command: str) -> None:
    """Every backend's options that ``command`` takes, a group per backend."""
    for plugin in PLUGINS:
        specs = declared(plugin.options_type(), command)
        if not specs:
            continue
        group = parser.add_argument_group(f"{plugin.name} backend")
        for spec in specs:
            if spec.switch:
                group.add_argument(
                    spec.flag,
                    dest=_dest(plugin, spec),
                    action="store_const",
                    const=True,
                    help=spec.help,
                )
            else:
                group.add_argument(
                    spec.flag, dest=_dest(plugin, spec), metavar=spec.metavar, help=spec.help
                )


def backend_options(args: argparse.Namespace, backend: str, command: str) -> object:
    """The options of ``backend`` given on the command line (absent ones default).

    Raises:
        InputError: a value its option refuses, or an option of another backend.
    """
    chosen: object = None
    for plugin in PLUGINS:
        options = plugin.options_type()
        given = {
            spec: value
            for spec in declared(options, command)
            if (value := getattr(args, _dest(plugin, spec), None)) is not None
        }
        if plugin.name == backend:
            chosen = build(options, {spec.name: value for spec, value in given.items()})
        elif given:
            raise InputError(f"{next(iter(given)).flag} only applies to the {plugin.name} backend")
    return chosen


def _dest(plugin: Plugin, spec: Option) -> str:
    return f"backend_{plugin.name}_{spec.name}"
