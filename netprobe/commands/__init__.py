"""One module per subcommand, each of one shape (``DESCRIPTION``, ``EPILOG``,
``add_arguments(parser)``, ``run(args)``); see :mod:`netprobe.cli` and docs/architecture.md."""
