"""The runner's public face: run a suite on a backend and get a three-way result.

The work lives in :mod:`netprobe.run` (probe rounds, planning, settling); front ends (the
``run`` command, the pytest plugin, the benchmark) import from here.
"""

from netprobe.run.engine import probe_round
from netprobe.run.plan import MATRIX_TAG, matrix_expectations
from netprobe.run.runner import Progress, RunOptions, run_suite
from netprobe.run.settle import Check, SettlePolicy, settle

__all__ = [
    "MATRIX_TAG",
    "Check",
    "Progress",
    "RunOptions",
    "SettlePolicy",
    "matrix_expectations",
    "probe_round",
    "run_suite",
    "settle",
]
