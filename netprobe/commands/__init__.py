"""One module per subcommand, each with ``register(subparsers)``; see :mod:`netprobe.cli`."""
