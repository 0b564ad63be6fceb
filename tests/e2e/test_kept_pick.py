"""The person's pick behaves like a widget's value: never lost, kept across reruns, cleared on request.

Each test failed before the sandbox kept the pick: an early pick was dropped while the
configuration was still on its way, and a rerun that changed the request or the limits left
Python with None (or ran under the old limits) until the same file was picked again.
"""

from __future__ import annotations

import json

from playwright.sync_api import Page

from helpers import DATA, StreamlitServer, open_case, pick_file, sandbox_frame, wait_result


EARLY_PICKS = 20


def test_a_file_picked_the_moment_the_input_exists_always_runs(page: Page, probe_server: StreamlitServer) -> None:
    results = []
    for _ in range(EARLY_PICKS):
        open_case(page, probe_server, "image")
        # Not waiting for the picker to show: the configuration and the model may still be on their way.
        file_input = sandbox_frame(page).locator("#file")
        file_input.wait_for(state="attached", timeout=30_000)
        file_input.set_input_files(str(DATA / "digit_3.png"))
        results.append(wait_result(page))
    assert [r["status"] for r in results] == ["ok"] * EARLY_PICKS, results
    assert all(r["top_k"][0]["label"] == "digit 3" for r in results)


def choose(page: Page, label: str) -> None:
    page.get_by_test_id("stRadioGroup").get_by_text(label, exact=True).click()


def test_a_rerun_that_changes_the_request_reruns_the_kept_file(page: Page, probe_server: StreamlitServer) -> None:
    open_case(page, probe_server, "rerun")
    pick_file(page, DATA / "digit_3.png")
    first = wait_result(page)
    assert first["status"] == "ok" and len(first["top_k"]) == 2
    choose(page, "3")
    second = wait_result(page, previous=json.dumps(first))
    assert second["status"] == "ok", second
    assert second["top_k"][0]["label"] == "digit 3"
    assert len(second["top_k"]) == 3
    assert second["receipt"]["input_hmac_sha256"] == first["receipt"]["input_hmac_sha256"]  # the same file, not a new pick


def test_changed_limits_take_effect_on_the_next_run(page: Page, probe_server: StreamlitServer) -> None:
    open_case(page, probe_server, "rerun")
    pick_file(page, DATA / "digit_3.png")
    ok = wait_result(page)
    assert ok["status"] == "ok"
    page.get_by_text("tight input limit").click()
    refused = wait_result(page, previous=json.dumps(ok))
    assert refused["status"] == "error" and refused["error"]["code"] == "input_too_large", refused
    page.get_by_text("tight input limit").click()
    again = wait_result(page, previous=json.dumps(refused))
    assert again["status"] == "ok" and again["top_k"] == ok["top_k"]


def test_clear_forgets_the_file_and_python_gets_none(page: Page, probe_server: StreamlitServer) -> None:
    open_case(page, probe_server, "rerun")
    pick_file(page, DATA / "digit_3.png")
    first = wait_result(page)
    clear = sandbox_frame(page).get_by_role("button", name="Clear file")
    clear.click()
    code = page.locator(".st-key-result code")
    code.filter(has_text="null").wait_for(timeout=30_000)
    assert clear.is_hidden()
    # A rerun with a new request no longer runs anything: the file is forgotten.
    choose(page, "3")
    page.wait_for_timeout(2000)
    assert code.inner_text().strip() == "null"
    pick_file(page, DATA / "digit_3.png")
    again = wait_result(page)
    assert again["status"] == "ok" and len(again["top_k"]) == 3 and again["top_k"][0]["label"] == first["top_k"][0]["label"]
