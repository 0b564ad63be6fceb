"""Fixtures shared by the Python tests."""

import os

import pytest


@pytest.fixture(scope="session")
def cli() -> str:
    """The native `ssc` binary, which scripts/test builds and names in SSC_CLI."""
    path = os.environ.get("SSC_CLI")
    if not path or not os.access(path, os.X_OK):
        pytest.fail("set SSC_CLI to the built `ssc` binary (scripts/test does)")
    return path
