"""The security middleware as an ASGI app (the real-server tests are in tests/e2e/test_isolation.py)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import subprocess
import sys
from pathlib import Path

import pytest
import streamlit

from streamlit_secure_context import SecurityHeadersMiddleware, security_middleware
from streamlit_secure_context._versions import APP_MIDDLEWARE_STREAMLIT, StreamlitTooOldError, at_least
from streamlit_secure_context.security_headers import DEFAULT_PERMISSIONS_POLICY, default_page_csp

# The middleware is for st.App; on an older Streamlit (a corner of tests/e2e/test_compat.py)
# only its refusal is tested, below.
needs_st_app = pytest.mark.skipif(not at_least(streamlit.__version__, APP_MIDDLEWARE_STREAMLIT),
                                  reason=f"security_middleware() needs Streamlit {APP_MIDDLEWARE_STREAMLIT}")

ROOT = Path(__file__).resolve().parents[2]


async def _app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"referrer-policy", b"unsafe-url")]})
    await send({"type": "http.response.body", "body": b"ok"})



def run(coroutine) -> None:
    """Runs the middleware in a thread of its own: a browser test in the same pytest worker may
    have left Playwright's event loop running in this one, where asyncio.run refuses to start."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()

def respond(middleware: SecurityHeadersMiddleware, path: str = "/", scheme: str = "http",
            headers: list[tuple[bytes, bytes]] | None = None, root_path: str = "") -> dict[str, str]:
    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": path, "scheme": scheme, "headers": headers or [], "root_path": root_path}
    run(middleware(scope, None, send))
    start = sent[0]
    names = [n for n, _ in start["headers"]]
    assert len(names) == len(set(names)), f"duplicate headers: {names}"
    assert sent[1]["body"] == b"ok"
    return {n.decode(): v.decode() for n, v in start["headers"]}


def test_defaults_on_a_page() -> None:
    h = respond(SecurityHeadersMiddleware(_app))
    assert h["cross-origin-opener-policy"] == "same-origin"
    assert h["cross-origin-embedder-policy"] == "require-corp"
    assert h["cross-origin-resource-policy"] == "same-origin"
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"  # replaces the app's own value
    assert h["permissions-policy"] == DEFAULT_PERMISSIONS_POLICY
    assert h["content-security-policy"] == default_page_csp() + "; frame-ancestors 'none'"
    assert h["content-type"] == "text/plain"
    assert "strict-transport-security" not in h


def test_component_assets_get_frame_ancestors_self_only() -> None:
    h = respond(SecurityHeadersMiddleware(_app), "/component/x.y/index.html")
    assert h["content-security-policy"] == "frame-ancestors 'self'"
    assert h["cross-origin-embedder-policy"] == "require-corp"
    # Under a base URL path, the component prefix is matched after it.
    h = respond(SecurityHeadersMiddleware(_app), "/base/component/x.y/index.html", root_path="/base")
    assert h["content-security-policy"] == "frame-ancestors 'self'"


def test_hsts_only_over_https() -> None:
    assert "strict-transport-security" in respond(SecurityHeadersMiddleware(_app), scheme="https")
    forwarded = [(b"x-forwarded-proto", b"https")]
    assert "strict-transport-security" not in respond(SecurityHeadersMiddleware(_app), headers=forwarded)
    trusting = SecurityHeadersMiddleware(_app, trust_forwarded_proto=True)
    assert respond(trusting, headers=forwarded)["strict-transport-security"].startswith("max-age=63072000")
    assert "strict-transport-security" not in respond(trusting, headers=[(b"x-forwarded-proto", b"http")])


def test_every_value_is_configurable_and_none_omits_it() -> None:
    m = SecurityHeadersMiddleware(
        _app, cross_origin_embedder_policy="credentialless", referrer_policy=None, permissions_policy="camera=()",
        content_security_policy="default-src 'none'", frame_ancestors="'self'", component_frame_ancestors=None,
        cross_origin_opener_policy=None, cross_origin_resource_policy="same-site", x_content_type_options=None,
        strict_transport_security="max-age=1",
    )
    h = respond(m, scheme="https")
    assert h["cross-origin-embedder-policy"] == "credentialless"
    assert h["referrer-policy"] == "unsafe-url"  # the app's own, no longer replaced
    assert h["content-security-policy"] == "default-src 'none'; frame-ancestors 'self'"
    assert h["strict-transport-security"] == "max-age=1"
    assert h["cross-origin-resource-policy"] == "same-site"
    assert "cross-origin-opener-policy" not in h and "x-content-type-options" not in h
    assert "content-security-policy" not in respond(m, "/component/x/index.html")


def test_websocket_and_lifespan_pass_through_untouched() -> None:
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])
        await send({"type": "websocket.accept", "headers": []})

    sent = []

    async def send(message):
        sent.append(message)

    run(SecurityHeadersMiddleware(app)({"type": "websocket", "path": "/_stcore/stream"}, None, send))
    assert seen == ["websocket"] and sent == [{"type": "websocket.accept", "headers": []}]


@needs_st_app
def test_bad_options_fail_at_startup() -> None:
    from starlette.middleware import Middleware

    assert isinstance(security_middleware(), Middleware)
    with pytest.raises(TypeError, match="coep"):
        security_middleware(coep="require-corp")
    with pytest.raises(TypeError, match="referrer_policy must be a header value"):
        security_middleware(referrer_policy=0)
    with pytest.raises(ValueError, match="single-line"):
        security_middleware(content_security_policy="default-src 'self'\r\nX-Evil: 1")
    with pytest.raises(TypeError, match="trust_forwarded_proto"):
        security_middleware(trust_forwarded_proto="yes")


def test_middleware_on_a_streamlit_without_st_app_names_the_release_it_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streamlit, "__version__", "1.56.0")
    with pytest.raises(StreamlitTooOldError, match=r"needs Streamlit 1\.57 or newer; this environment has Streamlit 1\.56\.0"):
        security_middleware()


@needs_st_app
def test_page_csp_allows_streamlits_inline_script_by_hash_only() -> None:
    csp = default_page_csp()
    index = (Path(streamlit.__file__).parent / "static" / "index.html").read_text()
    assert index.count("<script>") == 1  # the one inline script; a new one would need its hash too
    assert re.search(r"script-src 'self' 'sha256-[A-Za-z0-9+/]{43}='(;|$)", csp), csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]


@needs_st_app
def test_nginx_snippet_sends_what_the_middleware_sends() -> None:
    """The shipped nginx config and the middleware must not drift apart."""
    snippet = (ROOT / "docs" / "nginx" / "streamlit-secure-context.conf").read_text()
    page_csp = re.search(r'default\s+"([^"]+)";', snippet).group(1)
    assert page_csp == default_page_csp() + "; frame-ancestors 'none'"
    assert f'add_header Permissions-Policy "{DEFAULT_PERMISSIONS_POLICY}" always;' in snippet
    assert '~^/component/  "frame-ancestors \'self\'";' in snippet


@needs_st_app
def test_csp_command_prints_the_page_policy() -> None:
    out = subprocess.run([sys.executable, "-m", "streamlit_secure_context", "csp"], capture_output=True, text=True,
                         check=True, timeout=60).stdout.strip()
    assert out == default_page_csp() + "; frame-ancestors 'none'"
