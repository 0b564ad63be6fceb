"""The privacy promise as a test: a unique canary in the person's files never leaves the browser.

Each run makes a fresh canary and puts it in a PNG text chunk, a CSV header cell, a CSV value
that changes the model's input, and the filenames. One recorded browser session picks both
files in the real component, then the PNG with a renamed copy as a batch (whose names the
sandbox lists on screen); every HTTP request of every frame and Worker, every WebSocket
frame sent and Chromium's NetLog are then searched for the canary (see `egress.py`). A control
session, with a leak injected by the test, shows the same search catches a leak on each channel.
"""

from __future__ import annotations

import base64
import json
import random
import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from egress import Capture, find, recorded_browser
from helpers import (
    Canary, RECORD_VALUES, StreamlitServer, make_canary, open_case, pick_file, sandbox_frame, wait_result,
)


# What the host hands Streamlit: the declared result fields and the request key that
# `_api.py` strips before the app sees the value.
RESULT_FIELDS = {"status", "model_sha256", "outputs", "top_k", "postprocessed", "detections", "dicom_attributes", "timings_ms",
                 "cross_origin_isolated", "receipt"}
VALUE_FIELDS = RESULT_FIELDS | {"request_key"}

# The control: a test-only script (never part of the component) that does what a leaky
# build would. In the sandbox it reads the picked file and hands it to the host frame;
# the host frame then sends it out on three channels: an HTTP body (base64), an HTTP
# request from a blob Worker (URL-encoded text) and Streamlit's WebSocket (as text).
LEAK = """
if (self.origin === "null") {
  document.addEventListener("change", async (e) => {
    const file = e.target.files && e.target.files[0];
    if (!file) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    let binary = "";
    for (const b of bytes) binary += String.fromCharCode(b);
    parent.postMessage({ leak: { name: file.name, b64: btoa(binary), text: binary } }, "*");
  }, true);
} else if (window !== window.top) {
  addEventListener("message", (e) => {
    const leak = e.data && e.data.leak;
    if (!leak) return;
    fetch("/_stcore/health", { method: "POST", body: leak.b64 }).catch(() => {});
    const job = `fetch(${JSON.stringify(location.origin + "/_stcore/health?name=")} + encodeURIComponent(${JSON.stringify(leak.text)}))`;
    new Worker(URL.createObjectURL(new Blob([job], { type: "text/javascript" })));
    parent.postMessage({ isStreamlitMessage: true, type: "streamlit:setComponentValue", dataType: "json",
                         value: { status: "ok", leaked: leak.text } }, "*");
  });
}
"""


@dataclass
class Session:
    canary: Canary
    capture: Capture
    results: dict[str, dict]
    values: list[dict]


def run_session(browser: Browser, server: StreamlitServer, workdir: Path, leak: bool) -> Session:
    """Picks the canary image and CSV in the component, in a recorded browser of its own."""
    canary = make_canary(workdir)
    capture = Capture()
    results: dict[str, dict] = {}
    with recorded_browser(browser, workdir, capture) as recorded:
        context = recorded.new_context()
        context.add_init_script(RECORD_VALUES + (LEAK if leak else ""))
        page = context.new_page()
        for case, path in (("image", canary.png), ("csv", canary.csv), ("dicom", canary.dicom)):
            open_case(page, server, case)
            pick_file(page, path)
            results[case] = wait_result(page)
        second = canary.png.with_name(f"second-{canary.token}.png")
        second.write_bytes(canary.png.read_bytes())
        open_case(page, server, "batch")
        sandbox_frame(page).locator("#pick").wait_for(state="visible", timeout=30_000)
        sandbox_frame(page).locator("#file").set_input_files([str(canary.png), str(second)])
        results["batch"] = wait_result(page)
        page.wait_for_timeout(1000)  # let the control's leaks, if any, go out
        values = page.evaluate("window.__componentValues")
        context.close()
    return Session(canary, capture, results, values)


@pytest.fixture(scope="module")
def clean_session(browser: Browser, probe_server: StreamlitServer, tmp_path_factory: pytest.TempPathFactory) -> Session:
    return run_session(browser, probe_server, tmp_path_factory.mktemp("canary"), leak=False)


@pytest.fixture(scope="module")
def leaky_session(browser: Browser, probe_server: StreamlitServer, tmp_path_factory: pytest.TempPathFactory) -> Session:
    return run_session(browser, probe_server, tmp_path_factory.mktemp("canary-control"), leak=True)


def test_every_encoding_is_found_at_any_offset() -> None:
    """The search itself: each encoding of a secret is found inside surrounding noise."""
    rng = random.Random(4)
    secret = f"PHI canary {secrets.token_hex(8)}"
    for offset in range(6):
        noise = bytes(rng.randrange(256) for _ in range(40))
        blob = noise[:offset] + secret.encode() + noise[offset:]
        assert "raw" in find(secret, blob)
        assert f"base64/{offset % 3}" in find(secret, base64.b64encode(blob))
        assert f"base64url/{offset % 3}" in find(secret, base64.urlsafe_b64encode(blob))
        assert "hex" in find(secret, blob.hex().encode())
        assert "HEX" in find(secret, blob.hex().upper().encode())
    assert "url" in find(secret, b"name=PHI%20canary%20" + secret.split()[-1].encode())
    assert "url+" in find(secret, b"name=PHI+canary+" + secret.split()[-1].encode())
    assert find(secret, bytes(rng.randrange(256) for _ in range(4096))) == []


def test_the_session_ran_and_was_recorded(clean_session: Session) -> None:
    """Guards the test against passing vacuously: the files ran, and the capture saw the session."""
    assert clean_session.results["image"]["top_k"][0]["index"] == 3, clean_session.results["image"]
    assert clean_session.results["csv"]["status"] == "ok", clean_session.results["csv"]
    assert clean_session.results["dicom"]["status"] == "ok", clean_session.results["dicom"]
    assert [i["top_k"][0]["index"] for i in clean_session.results["batch"]["batch"]] == [3, 3], clean_session.results["batch"]
    capture = clean_session.capture
    assert capture.errors == []
    types = {t["type"] for t in capture.targets}
    assert "page" in types
    # The engine's Worker, started from a blob: URL inside the opaque-origin sandbox.
    assert any(t["type"] == "worker" and t["url"].startswith("blob:null/") for t in capture.targets), capture.targets
    urls = [r["url"] for r in capture.requests]
    assert any("/media/" in u for u in urls), "the model download was not recorded"
    assert any(u.endswith("/engine/engine.wasm") for u in urls), "the engine download was not recorded"
    assert capture.websocket_frames >= 2  # at least one rerun request per page
    # The results themselves did go out over the WebSocket: the capture sees component values.
    sha = clean_session.results["image"]["model_sha256"]
    assert find(sha, bytes(capture.websocket)), "the result's model_sha256 is not in the WebSocket frames"
    assert b"/_stcore/stream" in capture.netlog


@pytest.mark.parametrize("source", ["cdp-http", "cdp-websocket", "netlog"])
def test_canary_never_leaves_the_browser(clean_session: Session, source: str) -> None:
    data = clean_session.capture.sources()[source]
    for secret in clean_session.canary.secrets():
        assert find(secret, data) == [], f"{secret!r} left the browser ({source})"


def test_python_receives_only_the_declared_result_fields(clean_session: Session) -> None:
    assert clean_session.values, "no component value was recorded"
    assert any("batch" in value for value in clean_session.values), "no batch value was recorded"
    for value in clean_session.values:
        for secret in clean_session.canary.secrets():
            assert secret not in json.dumps(value)
        # A batch carries its items and nothing else; each item is a result like any other.
        if "batch" in value:
            assert set(value) == {"status", "batch", "request_key"}, value
        else:
            assert set(value) <= VALUE_FIELDS, value
        for result in value.get("batch", [value]):
            assert set(result) - {"request_key"} <= RESULT_FIELDS, result
            assert {"status", "model_sha256", "outputs", "timings_ms"} <= set(result), result
            for tensor in result["outputs"].values():
                assert set(tensor) == {"shape", "dtype", "data"}
            for entry in result.get("top_k", []):
                assert set(entry) == {"row", "index", "label", "score"}
            assert set(result["timings_ms"]) == {"preprocess", "plan", "inference", "postprocess"}
    for result in clean_session.results.values():
        for single in result.get("batch", [result]):
            assert set(single) <= RESULT_FIELDS


def test_control_leak_is_caught_on_every_channel(leaky_session: Session) -> None:
    """The same harness, with a leak injected by the test: each channel must see the canary."""
    canary, capture = leaky_session.canary, leaky_session.capture
    leaks = capture.leaks(canary.token)
    assert set(leaks) == {"cdp-http", "cdp-websocket", "netlog"}, leaks
    # The POST body carries the PNG base64-encoded: found at its offset's alignment.
    assert any(name.startswith("base64/") for name in leaks["cdp-http"]), leaks
    # The blob Worker's request is seen on the Worker's own CDP session, URL-encoded.
    assert "url" in find(canary.text, bytes(capture.http_by_target.get("worker", b""))), capture.http_by_target.keys()
    assert find(canary.number, bytes(capture.websocket)), "the CSV value sent over the WebSocket was missed"
