"""Security headers for a whole Streamlit app, as ASGI middleware for ``st.App``.

A plain Streamlit server sends no CSP, no cross-origin isolation and no HSTS, and meta tags
cannot set COOP or COEP. Streamlit 1.67 runs on Starlette, and ``st.App(..., middleware=[...])``
wraps every response, including the ``/component/*`` assets this package serves::

    # serve.py, started with `streamlit run serve.py`
    import streamlit as st
    from streamlit_secure_context import security_middleware

    app = st.App("app.py", middleware=[security_middleware()])

Every header is a keyword argument; ``None`` leaves that header out. The defaults make the
page, the component frame and the engine's Worker cross-origin isolated.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

from ._versions import APP_MIDDLEWARE_STREAMLIT, require_streamlit

# `require-corp`, not `credentialless`: every browser that supports COEP supports it (Safari
# has no `credentialless`), and this package loads nothing cross-origin (no CDN), so
# requiring CORP costs nothing. An app that embeds third-party images can pass
# `cross_origin_embedder_policy="credentialless"`.
DEFAULT_COEP = "require-corp"

# Two years, the value the HSTS preload list recommends; no `preload`, since joining that
# list is a decision for the domain's owner.
DEFAULT_HSTS = "max-age=63072000; includeSubDomains"

# Features this app never uses, denied for the page and every frame in it. Not listed:
# `cross-origin-isolated`. A header allowlist caps every frame below the page, and the
# sandbox frame's opaque origin cannot be named in one: even `(self)` keeps the engine's
# Worker unisolated (tests/e2e/test_isolation.py). Only features Chromium recognizes: it
# warns about every unknown name on every page load.
DENIED_FEATURES = (
    "accelerometer", "autoplay", "camera", "display-capture",
    "encrypted-media", "gamepad", "geolocation", "gyroscope", "hid", "idle-detection", "magnetometer",
    "microphone", "midi", "payment", "publickey-credentials-get", "screen-wake-lock", "serial",
    "usb", "xr-spatial-tracking",
)
DEFAULT_PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in DENIED_FEATURES)

# Paths under which Streamlit serves custom components. Their documents carry their own
# meta CSP (this package's is hash-only); the header adds only what a meta tag cannot say.
COMPONENT_PATH_PREFIXES = ("/component/", "/_stcore/bidi-components/")


def inline_script_hashes(html: str) -> list[str]:
    """CSP source expressions (`'sha256-…'`) for the inline scripts of an HTML page."""
    scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, flags=re.S)
    return [f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in scripts]


def default_page_csp() -> str:
    """The page CSP, tested against Streamlit 1.67 in Chromium (tests/e2e/test_isolation.py).

    - styles need 'unsafe-inline': Streamlit styles its widgets with emotion, which injects
      `<style>` elements at run time;
    - `connect-src 'self'` covers Streamlit's own WebSocket (same host, ws: or wss:);
    - `frame-src 'self'`: components are same-origin frames;
    - nothing is allowed from another origin: no CDN, no analytics.
    """
    import streamlit

    # From the installed Streamlit's page, so scripts need no 'unsafe-inline' and the policy
    # follows Streamlit upgrades.
    index_html = (Path(streamlit.__file__).parent / "static" / "index.html").read_text(encoding="utf-8")
    hashes = " ".join(inline_script_hashes(index_html))
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self'{' ' + hashes if hashes else ''}",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "media-src 'self' data: blob:",
        "connect-src 'self'",
        "frame-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ])


class SecurityHeadersMiddleware:
    """Pure ASGI middleware adding security headers to every HTTP response.

    Pure ASGI rather than Starlette's BaseHTTPMiddleware: it neither buffers bodies (file
    uploads and media streams pass through untouched) nor touches WebSocket traffic.

    Each option is a header value; ``None`` omits the header.

    Parameters
    ----------
    app
        The ASGI application to wrap (`security_middleware` passes it for you).
    cross_origin_opener_policy
        COOP, default ``"same-origin"``.
    cross_origin_embedder_policy
        COEP, default ``"require-corp"`` (see `DEFAULT_COEP`).
    cross_origin_resource_policy
        CORP, default ``"same-origin"``.
    strict_transport_security
        HSTS, sent only on requests that arrived over HTTPS (a browser ignores it over HTTP,
        and a stray one on a plain-HTTP test server would pin the host to HTTPS).
    trust_forwarded_proto
        Count ``X-Forwarded-Proto: https`` as HTTPS, for a TLS-terminating proxy in front.
        Off by default: a client can send that header itself.
    x_content_type_options
        Default ``"nosniff"``.
    referrer_policy
        Default ``"no-referrer"``: URLs can carry identifiers, and no other site needs them.
    permissions_policy
        Default denies every feature in `DENIED_FEATURES`.
    content_security_policy
        The page CSP; ``None`` (the default) means `default_page_csp()`, ``""`` sends none
        (other than the `frame_ancestors` directive).
    frame_ancestors
        Appended to the page CSP; default ``"'none'"`` (no other page may frame the app).
    component_frame_ancestors
        The CSP sent with component assets; default ``"'self'"``, since the app page frames them.
    """

    def __init__(
        self,
        app: Any,
        *,
        cross_origin_opener_policy: str | None = "same-origin",
        cross_origin_embedder_policy: str | None = DEFAULT_COEP,
        cross_origin_resource_policy: str | None = "same-origin",
        strict_transport_security: str | None = DEFAULT_HSTS,
        trust_forwarded_proto: bool = False,
        x_content_type_options: str | None = "nosniff",
        referrer_policy: str | None = "no-referrer",
        permissions_policy: str | None = DEFAULT_PERMISSIONS_POLICY,
        content_security_policy: str | None = None,
        frame_ancestors: str | None = "'none'",
        component_frame_ancestors: str | None = "'self'",
    ) -> None:
        self.app = app
        if not isinstance(trust_forwarded_proto, bool):
            raise TypeError("trust_forwarded_proto must be True or False")
        self.trust_forwarded_proto = trust_forwarded_proto
        common = {
            "cross-origin-opener-policy": cross_origin_opener_policy,
            "cross-origin-embedder-policy": cross_origin_embedder_policy,
            "cross-origin-resource-policy": cross_origin_resource_policy,
            "x-content-type-options": x_content_type_options,
            "referrer-policy": referrer_policy,
            "permissions-policy": permissions_policy,
        }
        others = {
            "strict-transport-security": strict_transport_security,
            "content-security-policy": content_security_policy,
            "frame-ancestors": frame_ancestors,
            "component-frame-ancestors": component_frame_ancestors,
        }
        for header, value in {**common, **others}.items():
            _check_value(header.replace("-", "_"), value)  # named as the keyword argument
        page_csp = default_page_csp() if content_security_policy is None else content_security_policy
        if frame_ancestors is not None:
            page_csp = f"{page_csp}; frame-ancestors {frame_ancestors}" if page_csp else f"frame-ancestors {frame_ancestors}"
        component_csp = None if component_frame_ancestors is None else f"frame-ancestors {component_frame_ancestors}"
        self.page_headers = _encode({**common, "content-security-policy": page_csp or None})
        self.component_headers = _encode({**common, "content-security-policy": component_csp})
        self.hsts_header = _encode({"strict-transport-security": strict_transport_security})

    def _is_https(self, scope: dict[str, Any]) -> bool:
        if scope.get("scheme") == "https":
            return True
        if self.trust_forwarded_proto:
            headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
            for name, value in headers:
                if name == b"x-forwarded-proto":
                    return value.split(b",")[0].strip().lower() == b"https"
        return False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        extra = self.component_headers if path.startswith(COMPONENT_PATH_PREFIXES) else self.page_headers
        if self._is_https(scope):
            extra = extra + self.hsts_header
        names = {name for name, _ in extra}

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                kept = [(n, v) for n, v in message.get("headers", []) if n.lower() not in names]
                message = {**message, "headers": kept + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _encode(headers: dict[str, str | None]) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items() if value is not None]


def security_middleware(**options: Any) -> Any:
    """`SecurityHeadersMiddleware` wrapped for ``st.App(..., middleware=[...])``.

    Adds COOP/COEP (cross-origin isolation, which the browser engine needs for its
    strongest sandboxing), a page Content-Security-Policy and the other security headers to
    every response of the app, the component's assets included. See docs/deployment.md for
    each header and why it is set.

    Parameters
    ----------
    **options : str, bool or None
        The keyword arguments of `SecurityHeadersMiddleware`, each a header value (``None``
        leaves the header out): ``cross_origin_opener_policy``,
        ``cross_origin_embedder_policy``, ``cross_origin_resource_policy``,
        ``strict_transport_security``, ``trust_forwarded_proto`` (bool),
        ``x_content_type_options``, ``referrer_policy``, ``permissions_policy``,
        ``content_security_policy``, ``frame_ancestors``, ``component_frame_ancestors``.

    Returns
    -------
    starlette.middleware.Middleware
        For the ``middleware=`` list of ``st.App``.

    Raises
    ------
    TypeError, ValueError
        An unknown option, or a value that is not a single-line header value: raised here,
        at startup, rather than on the first request.
    StreamlitTooOldError
        The installed Streamlit predates ``st.App`` (1.57). The component itself works there;
        serve it behind a proxy that sets these headers instead (docs/deployment.md).

    Examples
    --------
    A launcher next to ``app.py``, started with ``streamlit run serve.py``:

    >>> import streamlit as st
    >>> from streamlit_secure_context import security_middleware
    >>> app = st.App("app.py", middleware=[security_middleware()])

    Letting one portal frame the app, with no Permissions-Policy header:

    >>> app = st.App("app.py", middleware=[
    ...     security_middleware(frame_ancestors="https://portal.example.org", permissions_policy=None)])
    """
    require_streamlit(APP_MIDDLEWARE_STREAMLIT, "security_middleware() (for st.App)")
    from starlette.middleware import Middleware

    SecurityHeadersMiddleware(None, **options)  # validates the options now
    return Middleware(SecurityHeadersMiddleware, **options)


def _check_value(name: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a header value (str) or None to omit the header, got {type(value).__name__}")
    if "\r" in value or "\n" in value:
        raise ValueError(f"{name} must be a single-line header value")
