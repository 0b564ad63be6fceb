"""Browser tests: a real `streamlit run` on 127.0.0.1, driven in Debian's headless Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from helpers import CHROMIUM, CHROMIUM_FLAGS, ROOT, StreamlitServer, build_wheel


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel the installed-package tests use: built once per run from the checkout's assets,
    or SSC_WHEEL's."""
    given = os.environ.get("SSC_WHEEL")
    if given:
        return Path(given)
    return build_wheel.build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="session")
def probe_server() -> Iterator[StreamlitServer]:
    server = StreamlitServer(ROOT / "tests" / "e2e" / "probe_app.py")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def demo_server() -> Iterator[StreamlitServer]:
    server = StreamlitServer(ROOT / "examples" / "app.py")
    yield server
    server.stop()


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


