"""Browser tests: a real `streamlit run` on 127.0.0.1, driven in Debian's headless Chromium."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FrameLocator, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
COMPONENT_IFRAME = 'iframe[title="streamlit_secure_context._component.streamlit_secure_context"]'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StreamlitServer:
    def __init__(self, app: Path, python: str = sys.executable, cwd: Path = ROOT,
                 env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = ROOT / "test-results" / f"streamlit-{app.stem}.log"
        self.log.parent.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            [python, "-m", "streamlit", "run", str(app), "--server.address", "127.0.0.1",
             "--server.port", str(self.port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=cwd, stdout=self.log.open("w"), stderr=subprocess.STDOUT, env={**os.environ} if env is None else env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited early:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"streamlit did not become healthy:\n{self.log.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _load_build_wheel():
    spec = importlib.util.spec_from_file_location("build_wheel", ROOT / "scripts" / "build_wheel.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_wheel = _load_build_wheel()


def isolated_env() -> dict[str, str]:
    """The environment minus whatever would let the checkout or the dev venv be imported."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


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


def host_frame(page: Page) -> FrameLocator:
    """The component's own frame (the host document)."""
    return page.frame_locator(COMPONENT_IFRAME)


def sandbox_frame(page: Page) -> FrameLocator:
    """The sandboxed frame nested in the host, where the file input and the Worker live."""
    return host_frame(page).frame_locator("#sandbox")
