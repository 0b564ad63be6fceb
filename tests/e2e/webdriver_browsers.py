"""Firefox ESR and WebKitGTK, driven through WebDriver (Playwright cannot bring its own builds here).

- Firefox: Debian's `firefox-esr`, headless, through geckodriver (scripts/setup builds it
  from crates.io into the tools dir).
- WebKit: Debian's `webkit2gtk-driver`, whose WebKitWebDriver starts WebKitGTK's MiniBrowser;
  MiniBrowser needs a display, so the driver runs under `xvfb-run`.

Both run with every background service off: this machine's network is closed, and a test must
see only the traffic the page itself makes.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from selenium import webdriver
from selenium.webdriver.remote.file_detector import UselessFileDetector
from selenium.webdriver.remote.webdriver import WebDriver

FIREFOX = "/usr/bin/firefox-esr"
WEBKIT_DRIVER = "/usr/bin/WebKitWebDriver"
MINIBROWSER_GLOB = "/usr/lib/*/webkit2gtk-4.*/MiniBrowser"
# Off in Firefox: update checks, telemetry, captive-portal and connectivity probes, safe
# browsing lists, remote settings; none may add requests beside the page's own.
FIREFOX_PREFS = {
    "app.update.enabled": False, "app.normandy.enabled": False, "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False, "browser.safebrowsing.downloads.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False, "toolkit.telemetry.enabled": False,
    "network.captive-portal-service.enabled": False, "network.connectivity-service.enabled": False,
    "browser.region.network.url": "", "services.settings.server": "http://127.0.0.1:1/",
    "extensions.getAddons.cache.enabled": False, "browser.newtabpage.enabled": False,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is missing: run scripts/setup")
    return found


@contextmanager
def firefox() -> Iterator[WebDriver]:
    if not os.access(FIREFOX, os.X_OK):
        pytest.fail(f"{FIREFOX} is missing: run scripts/setup")
    options = webdriver.FirefoxOptions()
    options.binary_location = FIREFOX
    options.add_argument("-headless")
    for name, value in FIREFOX_PREFS.items():
        options.set_preference(name, value)
    service = webdriver.FirefoxService(executable_path=_tool("geckodriver"), log_output=subprocess.DEVNULL)
    driver = webdriver.Firefox(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


@contextmanager
def webkit() -> Iterator[WebDriver]:
    import glob

    minibrowser = sorted(glob.glob(MINIBROWSER_GLOB))
    if not os.access(WEBKIT_DRIVER, os.X_OK) or not minibrowser:
        pytest.fail("WebKitWebDriver or MiniBrowser is missing: run scripts/setup (webkit2gtk-driver)")
    port = free_port()
    # Its own session, so that the driver, Xvfb and MiniBrowser are stopped together.
    server = subprocess.Popen(
        [_tool("xvfb-run"), "--auto-servernum", "--server-args=-screen 0 1280x1024x24 -nolisten tcp",
         WEBKIT_DRIVER, f"--port={port}", "--host=127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("WebKitWebDriver did not start")
                time.sleep(0.2)
        options = webdriver.WebKitGTKOptions()
        options.binary_location = minibrowser[-1]
        options.add_argument("--automation")
        driver = webdriver.Remote(command_executor=f"http://127.0.0.1:{port}", options=options)
        # The driver runs on this machine: a file input takes a local path, not an upload to a grid.
        driver.file_detector = UselessFileDetector()
        try:
            yield driver
        finally:
            driver.quit()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)
