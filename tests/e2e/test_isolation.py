"""Security headers and cross-origin isolation, on a real st.App server, in real Chromium.

`secure_server` serves the probe app through `st.App(..., middleware=[security_middleware()])`;
`probe_server` serves the same app without it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from helpers import COMPONENT_IFRAME, ROOT, StreamlitServer, host_frame


COMPONENT_BASE = "/component/streamlit_secure_context._component.streamlit_secure_context"
EXPECTED = {
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-embedder-policy": "require-corp",
    "cross-origin-resource-policy": "same-origin",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def custom_server(**options) -> StreamlitServer:
    """The probe app behind security_middleware(**options)."""
    env = {**os.environ, "SSC_PROBE_MIDDLEWARE": json.dumps(options)}
    return StreamlitServer(ROOT / "tests" / "e2e" / "custom_probe_app.py", env=env)


@pytest.fixture(scope="module")
def partly_isolated_server() -> Iterator[StreamlitServer]:
    """COOP/COEP sent, but `cross-origin-isolated=(self)` caps isolation at same-origin frames,
    which the sandbox (an opaque origin) is not."""
    server = custom_server(permissions_policy="cross-origin-isolated=(self)")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def secure_server() -> Iterator[StreamlitServer]:
    server = StreamlitServer(ROOT / "tests" / "e2e" / "secure_probe_app.py")
    yield server
    server.stop()


def open_case(page: Page, server: StreamlitServer, case: str) -> list[str]:
    """Opens the probe app; returns the list the page's console messages will be collected in."""
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.goto(f"{server.url}/?case={case}")
    page.locator(COMPONENT_IFRAME).wait_for(timeout=30_000)
    return console


def wait_result(page: Page, timeout: float = 60) -> dict:
    code = page.locator(".st-key-result code")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = code.inner_text() if code.count() else "null"
        if text.strip() != "null":
            return json.loads(text)
        time.sleep(0.2)
    raise AssertionError(f"no result reached Python within {timeout}s")


def engine_worker(page: Page):
    workers = [w for w in page.workers if w.url.startswith("blob:null/")]
    assert len(workers) == 1, [w.url for w in page.workers]
    return workers[0]


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()


def csp_errors(console: list[str]) -> list[str]:
    return [m for m in console if "Content Security Policy" in m or "Content-Security-Policy" in m]


def test_headers_on_page_static_assets_component_and_wasm(page: Page, secure_server: StreamlitServer) -> None:
    # The component's assets exist once a session has rendered it.
    open_case(page, secure_server, "tensor")
    wait_result(page)
    status, page_headers, html = get(f"{secure_server.url}/")
    assert status == 200
    for name, value in EXPECTED.items():
        assert page_headers.get(name) == value, (name, page_headers)
    assert "camera=()" in page_headers["permissions-policy"]
    csp = page_headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "'unsafe-eval'" not in csp
    # Plain HTTP: no HSTS (it is sent only over HTTPS, see the TLS test below).
    assert "strict-transport-security" not in page_headers

    script = html.decode().split('type="module" crossorigin src="./', 1)[1].split('"', 1)[0]
    _, js_headers, _ = get(f"{secure_server.url}/{script}")
    assert js_headers["cross-origin-resource-policy"] == "same-origin"
    assert js_headers["x-content-type-options"] == "nosniff"

    _, index_headers, _ = get(f"{secure_server.url}{COMPONENT_BASE}/index.html")
    for name, value in EXPECTED.items():
        assert index_headers.get(name) == value, (name, index_headers)
    # Component documents keep their own (stricter, hash-only) meta CSP; the header adds
    # what a meta tag cannot: who may frame them.
    assert index_headers["content-security-policy"] == "frame-ancestors 'self'"

    _, wasm_headers, wasm = get(f"{secure_server.url}{COMPONENT_BASE}/engine/engine.wasm")
    assert wasm_headers["content-type"] == "application/wasm"
    assert wasm[:4] == b"\0asm"
    assert wasm_headers["cross-origin-resource-policy"] == "same-origin"


def test_worker_is_cross_origin_isolated_under_the_middleware(page: Page, secure_server: StreamlitServer) -> None:
    console = open_case(page, secure_server, "tensor")
    result = wait_result(page)
    assert result["status"] == "ok", result
    assert result["top_k"][0]["label"] == "digit 7"
    assert result["cross_origin_isolated"] is True
    assert page.evaluate("self.crossOriginIsolated") is True
    assert engine_worker(page).evaluate("[self.crossOriginIsolated, typeof SharedArrayBuffer]") == [True, "function"]
    # The page CSP let Streamlit and the component run without a single violation.
    assert csp_errors(console) == []


def test_component_works_without_the_middleware_and_reports_no_isolation(page: Page, probe_server: StreamlitServer) -> None:
    open_case(page, probe_server, "tensor")
    result = wait_result(page)
    assert result["status"] == "ok", result
    assert result["top_k"][0]["label"] == "digit 7"
    assert result["cross_origin_isolated"] is False
    assert engine_worker(page).evaluate("[self.crossOriginIsolated, typeof SharedArrayBuffer]") == [False, "undefined"]


def test_require_isolation_is_an_error_naming_the_fix_without_the_middleware(page: Page, probe_server: StreamlitServer) -> None:
    open_case(page, probe_server, "strict")
    result = wait_result(page)
    assert result["status"] == "error", result
    assert result["error"]["code"] == "not_isolated"
    assert "security_middleware()" in result["error"]["message"]
    assert "not_isolated" in host_frame(page).locator("#host-status").inner_text()


def test_require_isolation_runs_under_the_middleware(page: Page, secure_server: StreamlitServer) -> None:
    open_case(page, secure_server, "strict")
    result = wait_result(page)
    assert result["status"] == "ok", result
    assert result["cross_origin_isolated"] is True


def test_require_isolation_checks_the_worker_not_only_the_page(page: Page,
                                                               partly_isolated_server: StreamlitServer) -> None:
    """COOP/COEP sent, but Permissions-Policy keeps isolation from the opaque-origin sandbox."""
    open_case(page, partly_isolated_server, "strict")
    result = wait_result(page)
    assert page.evaluate("self.crossOriginIsolated") is True
    assert engine_worker(page).evaluate("self.crossOriginIsolated") is False
    assert result["status"] == "error" and result["error"]["code"] == "not_isolated", result
    assert "the engine's Worker is not" in result["error"]["message"]


def test_coep_credentialless_isolates_too(page: Page) -> None:
    server = custom_server(cross_origin_embedder_policy="credentialless")
    try:
        open_case(page, server, "strict")
        result = wait_result(page)
        assert result["status"] == "ok" and result["cross_origin_isolated"] is True, result
        assert engine_worker(page).evaluate("typeof SharedArrayBuffer") == "function"
    finally:
        server.stop()


def test_streamlit_upload_with_xsrf_works_under_the_middleware(page: Page, secure_server: StreamlitServer, tmp_path) -> None:
    page.goto(f"{secure_server.url}/?case=upload")
    upload = tmp_path / "notes.txt"
    upload.write_bytes(b"x" * 1234)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload))
    assert wait_result(page) == {"name": "notes.txt", "size": 1234}
    # The upload went through Streamlit's XSRF check: its cookie was set for this page.
    assert any(c["name"] == "_streamlit_xsrf" for c in page.context.cookies())


def test_page_csp_blocks_other_origins(page: Page, secure_server: StreamlitServer, probe_server: StreamlitServer) -> None:
    """The CSP is enforced, not just sent: the page cannot reach another origin."""
    console = open_case(page, secure_server, "tensor")
    wait_result(page)
    outcome = page.evaluate(
        "async (u) => { try { await fetch(u); return 'fetched'; } catch (e) { return 'blocked'; } }",
        f"{probe_server.url}/_stcore/health",
    )
    assert outcome == "blocked"
    assert any("connect-src" in m for m in csp_errors(console)), console


def doctor_url(url: str) -> tuple[int, dict[str, str]]:
    run = subprocess.run([sys.executable, "-m", "streamlit_secure_context", "doctor", "--url", url, "--json"],
                         capture_output=True, text=True, timeout=120)
    checks = json.loads(run.stdout)["checks"]
    return run.returncode, {c["id"]: c["status"] for c in checks if c["id"].split(".")[0] in ("page", "component", "wasm")}


def test_doctor_probes_real_servers_with_and_without_the_middleware(page: Page, secure_server: StreamlitServer,
                                                                    probe_server: StreamlitServer) -> None:
    for server in (secure_server, probe_server):
        open_case(page, server, "tensor")  # registers the component, so its assets are served
        wait_result(page)
    _, secure = doctor_url(secure_server.url)
    assert {k: v for k, v in secure.items() if v != "PASS"} == {"page.hsts": "WARN"}  # plain HTTP here
    code, plain = doctor_url(probe_server.url)
    assert code == 1
    for check in ("page.coop", "page.coep", "page.corp", "page.csp", "page.frame_ancestors", "component.coep"):
        assert plain[check] == "FAIL", (check, plain)
    # Streamlit itself serves the engine with the right type, middleware or not.
    assert plain["wasm.mime"] == "PASS" and plain["wasm.sha256"] == "PASS"
