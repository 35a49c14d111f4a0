# Imported here, in the outer session, so that pytester's in-process runs reuse them:
# pytester drops modules first imported inside a run, and libyaml's C loader does not
# survive being imported twice.
import netprobe.judge
import netprobe.suite.loader  # noqa: F401
