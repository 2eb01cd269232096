"""Fixtures for the interoperability tests (real clients against cxapi).

Reuses tests/integration/conftest.py: it is loaded under its own module
name and every public name of it (the `host` fixture, Host, make_host,
BUILD, ...) is re-exported here. Both files are imported as the module
`conftest`, and when one pytest run collects both directories, whichever
was loaded last is the `conftest` the integration tests' `from conftest
import ...` lines see; re-exporting everything keeps those imports working.
Each test module gets its own fresh host (module-scoped `host`).
"""

import importlib.util
import os

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
_PATH = os.path.join(os.path.dirname(_HERE), "integration", "conftest.py")
_spec = importlib.util.spec_from_file_location("cxapi_integration_conftest", _PATH)
_it = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_it)

globals().update({k: v for k, v in vars(_it).items()
                  if not k.startswith("_") and not k.startswith("pytest_")})


@pytest.fixture(scope="session")
def build_dir():
    """The build directory under test ($CXAPI_BUILD, default <repo>/build)."""
    return _it.BUILD
