# pytester drives the plugin tests (tests/plugin). pytest accepts `pytest_plugins` only in
# a conftest loaded at startup, so it is declared here rather than in tests/plugin.
pytest_plugins = ["pytester"]
