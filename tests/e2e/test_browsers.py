"""The core journeys in all three browser engines: Chromium (Playwright), Firefox ESR and
WebKitGTK (WebDriver, see webdriver_browsers.py).

Each journey is written once against `Journey`, a small view of a browser: open a case of the
probe app, pick files in the sandbox, read what Python received, run a script in the sandbox.
The deeper suites (egress capture, attestation, protocol fuzz) stay Chromium's, where CDP can
see every byte; this file proves the same product works for a person in each engine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

import webdriver_browsers
from egress import find, find_parsed, find_values
from helpers import (
    CHROMIUM, COMPONENT_IFRAME, DATA, ROOT, StreamlitServer, assert_outputs_match, digit_pixels, host_frame,
    make_canary, reference, sandbox_frame,
)


TIMEOUT_S = 90  # WebKit compiles the 13 MB engine more slowly than Chromium does


class Journey:
    """What a journey does in a browser; one subclass per way of driving one."""

    name: str

    def open(self, url: str) -> None: ...
    def pick(self, paths: list[Path]) -> None: ...
    def result_text(self) -> str: ...
    def sandbox_script(self, body: str) -> Any:
        """Runs `body` (an async function body that returns a JSON-able value) in the sandbox."""
    def sandbox_attribute(self, selector: str, name: str) -> str | None: ...

    def wait_result(self, previous: str = "null") -> dict:
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            text = self.result_text().strip()
            if text not in ("", "null", previous):
                return json.loads(text)
            time.sleep(0.25)
        raise AssertionError(f"{self.name}: no result reached Python within {TIMEOUT_S}s")


class PlaywrightJourney(Journey):
    def __init__(self, browser: Browser) -> None:
        self.name = "chromium"
        self.context = browser.new_context()
        self.page = self.context.new_page()

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.locator(COMPONENT_IFRAME).wait_for(timeout=TIMEOUT_S * 1000)

    def pick(self, paths: list[Path]) -> None:
        sandbox_frame(self.page).locator("#pick").wait_for(state="visible", timeout=TIMEOUT_S * 1000)
        sandbox_frame(self.page).locator("#file").set_input_files([str(p) for p in paths])

    def result_text(self) -> str:
        code = self.page.locator(".st-key-result code")
        return code.inner_text() if code.count() else ""

    def _sandbox(self):
        element = host_frame(self.page).locator("#sandbox")
        element.wait_for(state="attached", timeout=TIMEOUT_S * 1000)
        return element.element_handle().content_frame()

    def sandbox_script(self, body: str) -> Any:
        return self._sandbox().evaluate(f"async () => {{ {body} }}")

    def sandbox_attribute(self, selector: str, name: str) -> str | None:
        return self._sandbox().locator(selector).get_attribute(name)

    def close(self) -> None:
        self.context.close()


class WebDriverJourney(Journey):
    def __init__(self, name: str, driver: WebDriver) -> None:
        self.name = name
        self.driver = driver

    def open(self, url: str) -> None:
        self.driver.switch_to.default_content()
        self.driver.get(url)
        self._wait(lambda: self.driver.find_elements(By.CSS_SELECTOR, COMPONENT_IFRAME))

    def _wait(self, found) -> Any:
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                value = found()
            except (NoSuchElementException, StaleElementReferenceException):
                value = None
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"{self.name}: timed out")

    def _into_sandbox(self) -> None:
        self.driver.switch_to.default_content()
        self.driver.switch_to.frame(self._wait(lambda: self.driver.find_elements(By.CSS_SELECTOR, COMPONENT_IFRAME))[0])
        self.driver.switch_to.frame(self._wait(lambda: self.driver.find_elements(By.ID, "sandbox"))[0])

    def pick(self, paths: list[Path]) -> None:
        self._into_sandbox()
        self._wait(lambda: self.driver.find_element(By.ID, "pick").get_attribute("hidden") is None)
        self.driver.find_element(By.ID, "file").send_keys("\n".join(str(p) for p in paths))
        self.driver.switch_to.default_content()

    def result_text(self) -> str:
        self.driver.switch_to.default_content()
        codes = self.driver.find_elements(By.CSS_SELECTOR, ".st-key-result code")
        try:
            return codes[0].text if codes else ""
        except StaleElementReferenceException:
            return ""

    def sandbox_script(self, body: str) -> Any:
        self._into_sandbox()
        try:
            return self.driver.execute_async_script(
                f"const done = arguments[arguments.length - 1]; (async () => {{ {body} }})().then(done, (e) => done(String(e)));")
        finally:
            self.driver.switch_to.default_content()

    def sandbox_attribute(self, selector: str, name: str) -> str | None:
        self._into_sandbox()
        try:
            return self.driver.find_element(By.CSS_SELECTOR, selector).get_attribute(name)
        finally:
            self.driver.switch_to.default_content()


@pytest.fixture(scope="module", params=["chromium", "firefox", "webkit"])
def journey(request: pytest.FixtureRequest) -> Iterator[Journey]:
    if request.param == "chromium":
        j = PlaywrightJourney(request.getfixturevalue("browser"))
        yield j
        j.close()
        return
    with getattr(webdriver_browsers, request.param)() as driver:
        yield WebDriverJourney(request.param, driver)


def test_csv_rows_reach_python_with_the_models_numbers(journey: Journey, probe_server: StreamlitServer) -> None:
    journey.open(f"{probe_server.url}/?case=csv")
    journey.pick([DATA / "patients.csv"])
    result = journey.wait_result()
    rows = np.loadtxt(DATA / "patients.csv", delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
    assert_outputs_match(result, reference("breast_cancer_logreg.onnx", "features", rows))


def test_image_runs_and_its_preview_is_drawn_in_the_sandbox(journey: Journey, probe_server: StreamlitServer) -> None:
    journey.open(f"{probe_server.url}/?case=image")
    journey.pick([DATA / "digit_3.png"])
    result = journey.wait_result()
    assert_outputs_match(result, reference("digits_mlp.onnx", "pixels", digit_pixels(3)))
    assert result["top_k"][0]["label"] == "digit 3"
    # The preview is decoded in the Worker and drawn on the sandbox's canvas.
    assert journey.sandbox_attribute("#preview", "hidden") is None
    drawn = journey.sandbox_script(
        "const c = document.getElementById('preview'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "let lit = 0; for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0) lit++; return lit;")
    assert drawn > 0


def test_a_batch_runs_every_file_in_order(journey: Journey, probe_server: StreamlitServer) -> None:
    journey.open(f"{probe_server.url}/?case=batch")
    journey.pick([DATA / f"digit_{d}.png" for d in (3, 8, 1)])
    result = journey.wait_result()
    assert result["status"] == "ok" and [item["top_k"][0]["label"] for item in result["batch"]] == ["digit 3", "digit 8", "digit 1"]


def test_a_hostile_file_fails_cleanly_and_the_next_one_runs(journey: Journey, probe_server: StreamlitServer, tmp_path: Path) -> None:
    journey.open(f"{probe_server.url}/?case=csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,oops\n")
    journey.pick([bad])
    refused = journey.wait_result()
    assert refused["status"] == "error" and refused["error"]["code"] == "csv", refused
    journey.pick([DATA / "patients.csv"])
    assert journey.wait_result(previous=json.dumps(refused))["status"] == "ok"


def test_the_sandbox_has_an_opaque_origin_and_no_network(journey: Journey, probe_server: StreamlitServer) -> None:
    journey.open(f"{probe_server.url}/?case=image")
    assert journey.sandbox_attribute("#app", "id") == "app"
    facts = journey.sandbox_script(
        f"""const facts = {{ origin: self.origin }};
        try {{ await fetch({json.dumps(probe_server.url + "/_stcore/health")}); facts.fetch = "reached"; }}
        catch (e) {{ facts.fetch = "blocked"; }}
        try {{ const ws = new WebSocket({json.dumps(probe_server.url.replace("http", "ws") + "/_stcore/stream")});
              facts.socket = await new Promise((r) => {{ ws.onopen = () => r("open"); ws.onerror = () => r("blocked"); }}); }}
        catch (e) {{ facts.socket = "blocked"; }}
        facts.rtc = typeof RTCPeerConnection;
        return facts;""")
    assert facts == {"origin": "null", "fetch": "blocked", "socket": "blocked", "rtc": "undefined"}, facts


@pytest.fixture(scope="module")
def recording_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StreamlitServer, Path]]:
    record = tmp_path_factory.mktemp("record") / "sent.log"
    record.touch()
    server = StreamlitServer(ROOT / "tests" / "e2e" / "recording_probe_app.py", env={**os.environ, "SSC_RECORD": str(record)})
    yield server, record
    server.stop()


def test_no_canary_reaches_the_server_from_any_engine(journey: Journey, recording_server: tuple[StreamlitServer, Path],
                                                      tmp_path: Path) -> None:
    """A fresh canary in a CSV header cell, a CSV value the model reads, a PNG text chunk, every
    identifying attribute of a DICOM header, the UID of a transfer syntax the engine refuses, and
    the file names; every byte the browser sent to the server is searched for it, raw and encoded
    (egress.find), and for the PNG's gray levels, the study's pixels and the CSV's parsed value,
    as bytes or numbers (egress.find_values, find_parsed). The sandbox has no network, so the
    server is the only way out."""
    server, record = recording_server
    canary = make_canary(tmp_path)
    start = record.stat().st_size
    results = []
    for case, path in (("csv", canary.csv), ("image", canary.png), ("dicom_ranked", canary.dicom),
                       ("dicom_ranked", canary.unknown_syntax_dicom)):
        journey.open(f"{server.url}/?case={case}")
        journey.pick([path])
        results.append(journey.wait_result())
    assert [r["status"] for r in results] == ["ok", "ok", "ok", "error"], results
    assert results[3]["error"]["code"] == "dicom", results[3]
    time.sleep(1)  # the last component value's WebSocket message
    sent = record.read_bytes()[start:]
    # The capture saw the page's traffic: each result's receipt hash went up the WebSocket.
    for result in results[:3]:
        assert result["receipt"]["input_hmac_sha256"].encode() in sent
    for secret in canary.secrets():
        assert not find(secret, sent), f"{journey.name}: {secret!r} reached the server"
    for what, values in canary.values().items():
        assert not find_values(values, sent), f"{journey.name}: the {what} reached the server"
    assert not find_parsed(canary.number, sent), f"{journey.name}: the CSV's value reached the server"


def installed_versions() -> dict[str, str]:
    """The builds the journeys above ran in: Chromium's and Firefox's major version, and
    WebKitGTK's major.minor (its releases are 2.x)."""
    def version(text: str, parts: int) -> str:
        found = re.search(r"\d+(\.\d+)*", text)
        assert found, text
        return ".".join(found[0].split(".")[:parts])

    def run(*cmd: str) -> str:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout

    return {
        "Chromium": version(run(CHROMIUM, "--version").split("Chromium", 1)[1], 1),
        "Firefox ESR": version(run(webdriver_browsers.FIREFOX, "--version").split("Firefox", 1)[1], 1),
        "WebKitGTK": version(run("dpkg-query", "-W", "-f=${Version}", "webkit2gtk-driver"), 2),
    }


def test_readme_lists_the_browser_builds_these_journeys_ran_in() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("### Browsers", 1)[1].split("\n## ", 1)[0]
    listed = dict(re.findall(r"^\| \w+ \| (Chromium|Firefox ESR|WebKitGTK) ([\d.]+)", table, flags=re.M))
    assert listed == installed_versions()
