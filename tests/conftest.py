# pytester drives the plugin tests (tests/plugin). pytest accepts `pytest_plugins` only in
# a conftest loaded at startup, so it is declared here rather than in tests/plugin.
from collections.abc import Iterator

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(scope="module", params=["libyaml", "pure-python"])
def yaml_parser(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each test of a module that uses this runs once with libyaml's C parser and once with
    PyYAML's pure-Python one: both must give the same documents and the same located errors.
    Module-scoped so that Hypothesis tests can use it too."""
    from netprobe import yamltext

    if request.param == "libyaml" and yamltext._CParser is None:
        pytest.skip("PyYAML is built without libyaml")
    saved = yamltext.use_libyaml
    yamltext.use_libyaml = request.param == "libyaml"
    yield request.param
    yamltext.use_libyaml = saved
