"""The disclosure policy and the privacy receipt in a real browser: the engine in the sandbox's
Worker enforces what Python declared, and every result reaches Python with its receipt."""

from __future__ import annotations

import hashlib
import json
import math
import re
import time

from playwright.sync_api import Page

from helpers import COMPONENT_IFRAME, DATA, MODELS, StreamlitServer, open_case, pick_file, sandbox_frame, wait_result


DIGITS_SHA = hashlib.sha256((MODELS / "digits_mlp.onnx").read_bytes()).hexdigest()
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def test_top_k_only_policy_is_enforced_and_the_receipt_says_what_left(page: Page, probe_server: StreamlitServer) -> None:
    # security_config={"disclosure": {"top_k_only": True, "decimals": 2}} on the digits model.
    open_case(page, probe_server, "policy")
    pick_file(page, DATA / "digit_3.png")
    result = wait_result(page)
    assert result["status"] == "ok", result
    assert set(result) == {"status", "model_sha256", "outputs", "top_k", "timings_ms", "cross_origin_isolated", "receipt"}
    # No raw tensor left the browser, only the three ranked scores, rounded to 2 decimals.
    assert result["outputs"] == {}
    assert [t["label"] for t in result["top_k"]][0] == "digit 3"
    assert len(result["top_k"]) == 3
    for t in result["top_k"]:
        assert t["score"] == round(t["score"], 2), t
    receipt = result["receipt"]
    assert receipt["model_sha256"] == DIGITS_SHA == result["model_sha256"]
    assert receipt["input_kind"] == "file"
    assert HEX64.match(receipt["input_hmac_sha256"])
    assert [(f["field"], f["name"], f["elements"]) for f in receipt["sent"]] == [("top_k", None, 3), ("timings_ms", None, 4)]
    assert all(f["bytes"] > 0 for f in receipt["sent"])
    assert receipt["withheld"] == [
        {"output": "logits", "elements": 10, "reason": "top_k_only"},
        {"output": "probabilities", "elements": 10, "reason": "top_k_only"},
    ]
    # The input hash is keyed: it is not the file's plain sha256, which anyone could compute.
    assert receipt["input_hmac_sha256"] != hashlib.sha256((DATA / "digit_3.png").read_bytes()).hexdigest()

    # The person sees the one-line summary of the receipt in the sandbox.
    line = sandbox_frame(page).locator("#receipt").inner_text()
    sent_bytes = sum(f["bytes"] for f in receipt["sent"])
    # The bound: 3 entries × (log2 of 10 classes + a raw score's 32 bits) + log2(3 + 1) entries.
    assert receipt["bits"] == math.ceil(3 * (math.log2(10) + 32) + 2)
    assert line == (
        f"Sent to server: 3 scores ({sent_bytes} bytes); your file: 0 bytes; at most {receipt['bits']} bits derived "
        "from your file were sent; kept in this browser: logits, probabilities"
    )

    # Within the session the same file hashes the same, another file differently.
    pick_file(page, DATA / "digit_7.png")
    seven = wait_result(page, previous=json.dumps(result))
    assert seven["receipt"]["input_hmac_sha256"] != receipt["input_hmac_sha256"]
    pick_file(page, DATA / "digit_3.png")
    again = wait_result(page, previous=json.dumps(seven))
    assert again["receipt"]["input_hmac_sha256"] == receipt["input_hmac_sha256"]


def test_the_input_hash_key_is_per_session(page: Page, probe_server: StreamlitServer) -> None:
    hashes = []
    for _ in range(2):
        open_case(page, probe_server, "policy")
        pick_file(page, DATA / "digit_3.png")
        hashes.append(wait_result(page)["receipt"]["input_hmac_sha256"])
    # A reload starts a new Worker and session: a new random key, so the hashes cannot be linked.
    assert hashes[0] != hashes[1]


def test_a_violating_output_fails_the_run_when_the_policy_says_error(page: Page, probe_server: StreamlitServer) -> None:
    # max_output_elements=5 with on_violation="error"; both digits outputs have 10 elements.
    open_case(page, probe_server, "policy_violation")
    result = wait_result(page)
    assert result == {"status": "error", "error": {"code": "disclosure_violation", "message": result["error"]["message"]}}
    assert "has 10 elements, over disclosure.max_output_elements = 5" in result["error"]["message"]
    assert "disclosure_violation" in sandbox_frame(page).locator("#summary").inner_text()
    assert sandbox_frame(page).locator("#receipt").inner_text() == ""


def test_without_a_policy_the_receipt_lists_every_output(page: Page, probe_server: StreamlitServer) -> None:
    open_case(page, probe_server, "tensor")
    result = wait_result(page)
    receipt = result["receipt"]
    assert receipt["input_kind"] == "tensor"
    assert receipt["withheld"] == []
    assert [(f["field"], f["name"], f["elements"]) for f in receipt["sent"]] == [
        ("outputs", "logits", 10), ("outputs", "probabilities", 10), ("top_k", None, 3), ("timings_ms", None, 4),
    ]
    line = sandbox_frame(page).locator("#receipt").inner_text()
    assert line.startswith("Sent to server: 10 values of logits, 10 values of probabilities, 3 scores (")
    assert line.endswith("; input: numbers the app supplied")


POST_TO_HOST = "(message) => window.parent.postMessage(message, '*')"


def test_host_drops_results_with_anything_the_receipt_does_not_declare(page: Page, probe_server: StreamlitServer) -> None:
    open_case(page, probe_server, "tensor")
    result = wait_result(page)
    sandbox = page.locator(COMPONENT_IFRAME).element_handle().content_frame().locator("#sandbox").element_handle().content_frame()
    first_run = 1  # the host numbers its configure messages from 1

    def post(res: dict) -> None:
        sandbox.evaluate(POST_TO_HOST, {"v": 1, "type": "result", "runId": first_run, "result": res})

    undeclared = [
        {**result, "file_name": "scan.png"},
        {**result, "receipt": {**result["receipt"], "input_bytes": 1234}},
        # An output that travels without being listed in the receipt.
        {**result, "outputs": {**result["outputs"], "pixels": {"shape": [1], "dtype": "float32", "data": [1.0]}}},
        # A receipt that lists fewer values than travel.
        {**result, "top_k": result["top_k"] + [result["top_k"][0]]},
        # A label the request never listed: data riding out in a label field.
        {**result, "top_k": [{**result["top_k"][0], "label": "PHI 1234"}, *result["top_k"][1:]]},
        # A timings key the engine never writes: data riding out in a key.
        {**result, "timings_ms": {**result["timings_ms"], "PHI 1234": 1.0}},
        # A dtype no engine output has.
        {**result, "outputs": {**result["outputs"], "logits": {**result["outputs"]["logits"], "dtype": "PHI 1234"}}},
        # The bound in bits the receipt must carry.
        {**result, "receipt": {k: v for k, v in result["receipt"].items() if k != "bits"}},
    ]
    shown = json.dumps(result)
    for res in undeclared:
        post(res)
    time.sleep(2)
    assert wait_result(page, timeout=1) == result, "a result with undeclared content reached Python"
    # Control: the same path delivers a well-formed result, so the drops above are the validator's doing.
    control = {**result, "top_k": [{**result["top_k"][0], "score": 0.5}, *result["top_k"][1:]]}
    post(control)
    assert wait_result(page, previous=shown)["top_k"][0]["score"] == 0.5
