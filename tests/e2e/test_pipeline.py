"""The vertical slice in a real browser: results reach Python, files never leave the sandbox."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
from playwright.sync_api import Error, Page, Worker

from helpers import (
    COMPONENT_IFRAME, DATA, DICOM, MODELS, StreamlitServer, TOLERANCE, assert_outputs_match, digit_pixels, host_frame,
    open_case, pick_file, reference, sandbox_frame, wait_result,
)


def test_tensor_from_python_returns_the_models_numbers(page: Page, probe_server: StreamlitServer) -> None:
    open_case(page, probe_server, "tensor")
    result = wait_result(page)
    expected = reference("digits_mlp.onnx", "pixels", digit_pixels(7))
    assert_outputs_match(result, expected)
    probabilities = expected["probabilities"][0]
    assert [t["index"] for t in result["top_k"]] == list(np.argsort(-probabilities)[:3])
    assert result["top_k"][0]["label"] == "digit 7"
    assert result["model_sha256"] == hashlib.sha256((MODELS / "digits_mlp.onnx").read_bytes()).hexdigest()
    # Python receives the declared fields and nothing else.
    assert set(result) == {"status", "model_sha256", "outputs", "top_k", "timings_ms", "cross_origin_isolated", "receipt"}
    assert set(result["timings_ms"]) == {"preprocess", "plan", "inference", "postprocess"}


def test_image_picked_in_sandbox_returns_top_k(page: Page, probe_server: StreamlitServer) -> None:
    open_case(page, probe_server, "image")
    pick_file(page, DATA / "digit_3.png")
    result = wait_result(page)
    expected = reference("digits_mlp.onnx", "pixels", digit_pixels(3))
    assert_outputs_match(result, expected)
    top = result["top_k"]
    assert [(t["row"], t["index"], t["label"]) for t in top][0] == (0, 3, "digit 3")
    # softmax(logits) computed in Rust must equal the model's own probabilities output.
    assert top[0]["score"] == pytest.approx(float(expected["probabilities"][0][3]), abs=TOLERANCE)
    # A second file in the same session gives a new result (the component recovers and re-runs).
    pick_file(page, DATA / "digit_8.png")
    second = wait_result(page, previous=json.dumps(result))
    assert second["top_k"][0]["index"] == 8


def test_csv_picked_in_sandbox_returns_one_row_per_patient(page: Page, probe_server: StreamlitServer) -> None:
    open_case(page, probe_server, "csv")
    pick_file(page, DATA / "patients.csv")
    result = wait_result(page)
    lines = (DATA / "patients.csv").read_text().splitlines()[1:]
    rows = np.array([[float(v) for v in line.split(",")] for line in lines], dtype=np.float32)
    assert_outputs_match(result, reference("breast_cancer_logreg.onnx", "features", rows))


def test_bad_file_is_an_error_in_python_and_in_the_component(page: Page, probe_server: StreamlitServer, tmp_path: Path) -> None:
    open_case(page, probe_server, "csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,oops\n")
    pick_file(page, bad)
    result = wait_result(page)
    assert result == {"status": "error", "error": {"code": "csv", "message": result["error"]["message"]}}
    # Where the bad cell is, and what it holds, is the person's to read in the sandbox, not the app's.
    assert "row 2" not in result["error"]["message"] and "oops" not in result["error"]["message"]
    assert "row 2, column 2" in sandbox_frame(page).locator("#summary").inner_text()
    pick_file(page, DATA / "patients.csv")
    assert wait_result(page, previous=json.dumps(result))["status"] == "ok"


def test_sandbox_is_an_opaque_origin_frame_with_scripts_only(page: Page, probe_server: StreamlitServer) -> None:
    open_case(page, probe_server, "image")
    sandbox = host_frame(page).locator("#sandbox")
    sandbox.wait_for(state="attached")
    assert sandbox.get_attribute("sandbox") == "allow-scripts"
    frame = sandbox.element_handle().content_frame()
    assert frame.evaluate("self.origin") == "null"


FETCH = """async (url) => {
  try { const r = await fetch(url); return 'fetched ' + r.status; } catch (e) { return 'blocked: ' + e; }
}"""


def test_fetch_fails_from_sandbox_and_worker(page: Page, probe_server: StreamlitServer) -> None:
    open_case(page, probe_server, "image")
    url = f"{probe_server.url}/_stcore/health"
    # Control: the same request from the host frame goes through, so a 'blocked' below is
    # the sandbox's doing, not a bad URL.
    host = page.locator(COMPONENT_IFRAME).element_handle().content_frame()
    assert host.evaluate(FETCH, url) == "fetched 200"
    sandbox = host.locator("#sandbox").element_handle().content_frame()
    sandbox_frame(page).locator("#status[data-kind=ready]").wait_for(timeout=60_000)
    assert sandbox.evaluate(FETCH, url).startswith("blocked")
    workers = [w for w in page.workers if w.url.startswith("blob:null/")]
    assert len(workers) == 1, [w.url for w in page.workers]
    assert workers[0].evaluate(FETCH, url).startswith("blocked")


def settled_runs(page: Page, timeout: float = 30) -> int:
    """The app's run counter once it stops changing: a result arriving triggers one more run,
    and Streamlit may show the result before that run's counter."""
    runs = page.locator(".st-key-runs")
    last = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = int(runs.inner_text().split("=")[1])
        if now == last:
            return now
        last = now
        time.sleep(1)
    raise AssertionError(f"the app kept rerunning for {timeout}s")


def test_rerun_sends_no_model_bytes_again(page: Page, probe_server: StreamlitServer) -> None:
    model_requests: list[str] = []
    # Streamlit's media endpoint, where the model is served (not /static/media/ fonts).
    page.on("request", lambda r: model_requests.append(r.url) if urlparse(r.url).path.startswith("/media/") else None)
    open_case(page, probe_server, "tensor")
    first = wait_result(page)
    runs = page.locator(".st-key-runs")
    for _ in range(2):
        before = settled_runs(page)
        page.get_by_role("button", name="rerun").click()
        runs.get_by_text(f"runs={before + 1}", exact=True).wait_for(timeout=30_000)
    time.sleep(1)
    assert len(model_requests) == 1, model_requests
    assert wait_result(page) == first


def test_the_model_is_fetched_whole_as_a_range_so_the_server_does_not_gzip_it(page: Page, probe_server: StreamlitServer) -> None:
    """Streamlit's server gzips `application/octet-stream` media on every request, but not a
    partial (206) response: the host asks for `bytes=0-` and gets the file as it is on disk."""
    responses = []
    page.on("response", lambda r: responses.append(r) if urlparse(r.url).path.startswith("/media/") else None)
    open_case(page, probe_server, "tensor")
    assert wait_result(page)["status"] == "ok"
    assert len(responses) == 1, [r.url for r in responses]
    response = responses[0]
    assert response.request.headers.get("range") == "bytes=0-"
    assert response.status == 206 and "content-encoding" not in response.headers, (response.status, response.headers)


def test_timeout_stops_the_engine_and_reports_it(page: Page, probe_server: StreamlitServer) -> None:
    workers: list[Worker] = []
    page.on("worker", lambda worker: workers.append(worker))
    open_case(page, probe_server, "slow")
    result = wait_result(page, timeout=90)
    assert result["status"] == "error"
    assert result["error"]["code"] == "timeout", result
    # The Worker that ran past the limit is gone, not left computing (a busy one would answer
    # once its run ended).
    with pytest.raises(Error, match="closed"):
        workers[0].evaluate("1 + 1")
    summary = sandbox_frame(page).locator("#summary")
    assert "timeout" in summary.inner_text()
    # The engine restarts (a fresh Worker reloads the model) but does not re-run the same
    # request by itself: that would time out again, forever.
    sandbox_frame(page).locator("#status[data-kind=ready]").wait_for(timeout=60_000)
    time.sleep(1.5)
    assert "timeout" in summary.inner_text()
    assert [w for w in page.workers if w.url.startswith("blob:null/")], "no engine worker after restart"


def test_dicom_studies_give_the_model_input_pydicom_computes(page: Page, probe_server: StreamlitServer) -> None:
    """The engine's DICOM pipeline in the browser, on the studies of crates/engine/tests/dicom.rs:
    the same numbers as natively, for each transfer syntax the default request reads."""
    expected = {c["name"]: c for c in json.loads((DICOM / "expected.json").read_text())["cases"]}
    open_case(page, probe_server, "dicom")
    previous = "null"
    for name in ["ct_implicit", "ct_deflated", "ct_rle", "mr_jpeg_lossless", "mr_mono1", "rgb_gray"]:
        case = expected[name]
        assert case["preprocess"] == {"kind": "dicom"}, name
        pick_file(page, DICOM / case["file"])
        result = wait_result(page, previous)
        previous = json.dumps(result)
        assert result["status"] == "ok", (name, result)
        # The two header attributes the policy allows, and nothing else of the header.
        modality = {"ct": "CT", "mr": "MR", "rgb": "XC"}[name.split("_")[0]]
        assert result["dicom_attributes"] == {"Modality": modality, "BodyPartExamined": "CHEST"}, name
        # The person's line names every field that left, the header attributes included.
        line = sandbox_frame(page).locator("#receipt").inner_text()
        assert line.startswith("Sent to server: 3072 values of y, 2 DICOM header attributes ("), line
        got = np.asarray(result["outputs"]["y"]["data"])
        np.testing.assert_allclose(got, np.asarray(case["expected"]), atol=case["tolerance"], err_msg=name)


def test_demo_app_answers_a_picked_image(page: Page, demo_server: StreamlitServer) -> None:
    """The README's demo, as a newcomer uses it: pick digit_3.png in section 2."""
    page.goto(demo_server.url)
    page.get_by_text("Predicted digit: 7").wait_for(timeout=60_000)  # section 1, the Python tensor
    image_component = page.locator(COMPONENT_IFRAME).nth(1).content_frame.frame_locator("#sandbox")
    image_component.locator("#pick").wait_for(state="visible", timeout=30_000)
    image_component.locator("#file").set_input_files(str(DATA / "digit_3.png"))
    page.locator(".st-key-image_result").get_by_text("Predicted digit: 3").wait_for(timeout=60_000)
