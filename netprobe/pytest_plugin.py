"""pytest plugin: collects ``*.netprobe.yaml`` suites (filled in by the suites issue)."""
