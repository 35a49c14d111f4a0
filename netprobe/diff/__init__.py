"""``netprobe diff``: which connections a policy change opens and closes, and why.

Built on the analyzer's grouped matrix; never evaluates pod pairs one by one except for
one example per reported row.
"""

from netprobe.diff.compute import diff
from netprobe.diff.model import Cause, CauseKind, Change, ChangeKind, Diff, PodGroup, PodSet

__all__ = ["Cause", "CauseKind", "Change", "ChangeKind", "Diff", "PodGroup", "PodSet", "diff"]
