"""``netprobe generate``: a suite that pins today's behaviour of a set of policies.

:func:`select` chooses expectations rule by rule (allowed peers and near misses, not the
N² matrix); :func:`render_suite` writes them in the suite format with comments.
"""

from netprobe.generate.select import Pin, Selection, select
from netprobe.generate.write import render_suite

__all__ = ["Pin", "Selection", "render_suite", "select"]
