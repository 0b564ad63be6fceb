"""The privacy promise as a test: a unique canary in the person's files never leaves the browser.

Each run makes a fresh canary and puts it in a PNG text chunk, a CSV header cell, a CSV value
that changes the model's input, the filenames, a DICOM header and the UID of a transfer syntax
the engine refuses (which its full error quotes); the PNG's gray levels and the DICOM study's
pixels are random values of their own, which are searched for too, as bytes and as numbers. One recorded browser session picks both
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

import numpy as np

from egress import Capture, find, find_parsed, find_values, recorded_browser
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
  // What a leaky build would send of the values it read: the model's input (the PNG's gray
  // levels scaled as the probe's request does), the study's stored pixels, the CSV's first value.
  async function valuesOf(file, bytes) {
    if (file.name.endsWith(".png")) {
      const bitmap = await createImageBitmap(file);
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const context = canvas.getContext("2d");
      context.drawImage(bitmap, 0, 0);
      const rgba = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
      return Array.from({ length: rgba.length / 4 }, (_, i) => Math.fround(rgba[4 * i] * 16 / 255));
    }
    if (file.name.endsWith(".dcm")) return Array.from(new Int16Array(bytes.buffer.slice(bytes.length - 2 * 48 * 64)));
    return [Math.fround(parseFloat(new TextDecoder().decode(bytes).split("\\n")[1]))];
  }
  document.addEventListener("change", async (e) => {
    const file = e.target.files && e.target.files[0];
    if (!file) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    let binary = "";
    for (const b of bytes) binary += String.fromCharCode(b);
    parent.postMessage({ leak: { name: file.name, b64: btoa(binary), text: binary, values: await valuesOf(file, bytes) } }, "*");
  }, true);
} else if (window !== window.top) {
  addEventListener("message", (e) => {
    const leak = e.data && e.data.leak;
    if (!leak) return;
    fetch("/_stcore/health", { method: "POST", body: JSON.stringify({ b64: leak.b64, values: leak.values }) }).catch(() => {});
    const job = `fetch(${JSON.stringify(location.origin + "/_stcore/health?name=")} + encodeURIComponent(${JSON.stringify(leak.text)}))`;
    new Worker(URL.createObjectURL(new Blob([job], { type: "text/javascript" })));
    parent.postMessage({ isStreamlitMessage: true, type: "streamlit:setComponentValue", dataType: "json",
                         value: { status: "ok", leaked: leak.text, values: leak.values } }, "*");
  });
}
"""


@dataclass
class Session:
    canary: Canary
    capture: Capture
    results: dict[str, dict]
    values: list[dict]
    shown: str  # what the sandbox showed the person of the last file, the refused study


def run_session(browser: Browser, server: StreamlitServer, workdir: Path, leak: bool) -> Session:
    """Picks the canary image and CSV in the component, in a recorded browser of its own."""
    canary = make_canary(workdir)
    capture = Capture()
    results: dict[str, dict] = {}
    with recorded_browser(browser, workdir, capture) as recorded:
        context = recorded.new_context()
        context.add_init_script(RECORD_VALUES + (LEAK if leak else ""))
        page = context.new_page()
        # The DICOM case under the default policy: the study's pixels stay (the "dicom" case's
        # policy names its identity output, so they would leave by the app's own choice).
        # And a study the engine refuses with an error whose full text quotes the file.
        for name, case, path in (("image", "image", canary.png), ("csv", "csv", canary.csv),
                                 ("dicom_ranked", "dicom_ranked", canary.dicom),
                                 ("dicom_error", "dicom_ranked", canary.unknown_syntax_dicom)):
            open_case(page, server, case)
            pick_file(page, path)
            results[name] = wait_result(page)
        shown = sandbox_frame(page).locator("#summary").inner_text()
        second = canary.png.with_name(f"second-{canary.token}.png")
        second.write_bytes(canary.png.read_bytes())
        open_case(page, server, "batch")
        sandbox_frame(page).locator("#pick").wait_for(state="visible", timeout=30_000)
        sandbox_frame(page).locator("#file").set_input_files([str(canary.png), str(second)])
        results["batch"] = wait_result(page)
        page.wait_for_timeout(1000)  # let the control's leaks, if any, go out
        values = page.evaluate("window.__componentValues")
        context.close()
    return Session(canary, capture, results, values, shown)


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


def test_a_run_of_a_files_values_is_found_in_any_form() -> None:
    """The value search: a run of pixels as bytes, base64, and as numbers under any a*x+b."""
    rng = np.random.default_rng(7)
    pixels = rng.permutation(256).astype(np.uint8)
    run = pixels[20:60]
    assert "raw@20" in find_values(pixels, b"xx" + run.tobytes() + b"yy")
    assert any(f.startswith("base64/") for f in find_values(pixels, base64.b64encode(b"a" + run.tobytes())))
    for scale, offset in ((1, 0), (16 / 255, 0), (-1 / 400, 0.7), (1 / 255, -0.5)):
        as_json = json.dumps({"input": [float(np.float32(v * scale + offset)) for v in run]}).encode()
        assert "numbers" in find_values(pixels, as_json), (scale, offset)
    assert find_values(pixels, json.dumps(rng.permutation(256).tolist()).encode()) == []
    assert find_values(pixels, json.dumps(list(range(40))).encode()) == []
    number = "17.123456789012"
    assert find_parsed(number, json.dumps([1.5, float(np.float32(17.123456789012)), 3]).encode()) == ["float32"]
    assert find_parsed(number, b"[17.1234]") == []


def test_the_session_ran_and_was_recorded(clean_session: Session) -> None:
    """Guards the test against passing vacuously: the files ran, and the capture saw the session."""
    assert clean_session.results["image"]["top_k"][0]["index"] == 3, clean_session.results["image"]
    assert clean_session.results["csv"]["status"] == "ok", clean_session.results["csv"]
    assert clean_session.results["dicom_ranked"]["status"] == "ok", clean_session.results["dicom_ranked"]
    assert clean_session.results["dicom_error"]["error"]["code"] == "dicom", clean_session.results
    # The person is shown the full error, which quotes the study's UID, in the sandbox; only the
    # file-safe one left.
    assert clean_session.canary.number in clean_session.shown, clean_session.shown
    assert clean_session.canary.number not in json.dumps(clean_session.results["dicom_error"])
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


@pytest.mark.parametrize("source", ["cdp-http", "cdp-websocket", "netlog"])
def test_no_value_read_from_a_file_leaves_the_browser(clean_session: Session, source: str) -> None:
    """The PNG's gray levels, the study's pixels and the CSV's parsed number, in any encoding."""
    canary, data = clean_session.canary, clean_session.capture.sources()[source]
    for what, values in canary.values().items():
        assert find_values(values, data) == [], f"{what} left the browser ({source})"
    assert find_parsed(canary.number, data) == [], f"the CSV's value left the browser ({source})"


def test_python_receives_only_the_declared_result_fields(clean_session: Session) -> None:
    assert clean_session.values, "no component value was recorded"
    assert any("batch" in value for value in clean_session.values), "no batch value was recorded"
    for value in clean_session.values:
        for secret in clean_session.canary.secrets():
            assert secret not in json.dumps(value)
        # An error carries its code and its file-safe message, and nothing else.
        if value["status"] == "error":
            assert set(value) == {"status", "error", "request_key"} and set(value["error"]) == {"code", "message"}, value
            continue
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
            if single["status"] == "error":
                assert set(single) == {"status", "error"} and set(single["error"]) == {"code", "message"}, single
            else:
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
    # The values read from the files, sent as JSON numbers (the PNG's as the model's input).
    for what, values in canary.values().items():
        assert set(capture.value_leaks(values)) == {"cdp-http", "cdp-websocket", "netlog"}, what
        assert all("numbers" in found for found in capture.value_leaks(values).values()), what
    assert set(capture.parsed_leaks(canary.number)) == {"cdp-http", "cdp-websocket", "netlog"}
