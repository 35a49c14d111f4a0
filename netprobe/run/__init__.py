"""Running suites on a live dataplane: probe rounds, settling, and the comparison.

:mod:`.engine` runs rounds of probes (one exec per source pod, sources in parallel);
:mod:`.plan` turns a step's expectations (and, in matrix mode, every pod pair) into
checks; :mod:`.settle` retries the checks that disagree until they settle or the budget
runs out; :mod:`.runner` drives a whole suite through a backend and always tears it down.
"""

from netprobe.run.engine import probe_round
from netprobe.run.plan import MATRIX_TAG, matrix_expectations
from netprobe.run.runner import Progress, RunOptions, run_suite
from netprobe.run.settle import ProbeCheck, SettlePolicy, settle

__all__ = [
    "MATRIX_TAG",
    "ProbeCheck",
    "Progress",
    "RunOptions",
    "SettlePolicy",
    "matrix_expectations",
    "probe_round",
    "run_suite",
    "settle",
]
