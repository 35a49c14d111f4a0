"""Every command's output: :mod:`.results` renders suite results (``check``, ``run``, the
pytest plugin), :mod:`.lint` lint findings, :mod:`.diff` a policy change, :mod:`.matrix`
the reachability matrix and :mod:`.explain` one connection's verdict. Reports never decide
exit codes. Importing this package loads none of them.
"""
