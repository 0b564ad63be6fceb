"""Probes of a running app: the page, a component asset and the engine's .wasm.

Whatever sets the headers (`security_middleware()` or a proxy), this is what browsers get.
"""

from __future__ import annotations

import hashlib
import re
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..security_headers import DEFAULT_HSTS, DEFAULT_PERMISSIONS_POLICY, inline_script_hashes
from .report import Check, fail, passed, warn

COMPONENT_PATH = "component/streamlit_secure_context._component.streamlit_secure_context/"
MIN_HSTS_SECONDS = 31_536_000  # one year
MIDDLEWARE = "serve the app with st.App(..., middleware=[streamlit_secure_context.security_middleware()])"


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def fetch(url: str, context: ssl.SSLContext | None) -> Response:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": "ssc-doctor"}),
                                    timeout=15, context=context) as r:
            return Response(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())


def _fix(header: str, value: str) -> str:
    return f"{MIDDLEWARE}, or have the proxy send `{header}: {value}` on every response"


def _isolation_headers(where: str, h: dict[str, str]) -> list[Check]:
    checks = []
    coop = h.get("cross-origin-opener-policy", "")
    checks.append(passed(f"{where}.coop", f"COOP {coop}") if coop == "same-origin" else
                  fail(f"{where}.coop", f"Cross-Origin-Opener-Policy is {coop or 'missing'}: no cross-origin isolation",
                       _fix("Cross-Origin-Opener-Policy", "same-origin")))
    coep = h.get("cross-origin-embedder-policy", "")
    checks.append(passed(f"{where}.coep", f"COEP {coep}") if coep in ("require-corp", "credentialless") else
                  fail(f"{where}.coep", f"Cross-Origin-Embedder-Policy is {coep or 'missing'}: no cross-origin isolation",
                       _fix("Cross-Origin-Embedder-Policy", "require-corp")))
    corp = h.get("cross-origin-resource-policy", "")
    if corp == "same-origin":
        checks.append(passed(f"{where}.corp", "CORP same-origin"))
    elif corp == "same-site":
        checks.append(warn(f"{where}.corp", "CORP same-site: sibling subdomains may embed this response",
                           _fix("Cross-Origin-Resource-Policy", "same-origin")))
    else:
        checks.append(fail(f"{where}.corp", f"Cross-Origin-Resource-Policy is {corp or 'missing'}",
                           _fix("Cross-Origin-Resource-Policy", "same-origin")))
    nosniff = h.get("x-content-type-options", "").lower()
    checks.append(passed(f"{where}.nosniff", "X-Content-Type-Options nosniff") if nosniff == "nosniff" else
                  fail(f"{where}.nosniff", "X-Content-Type-Options nosniff is missing",
                       _fix("X-Content-Type-Options", "nosniff")))
    return checks


def _csp_directives(csp: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in csp.split(";"):
        tokens = part.split()
        if tokens:
            directives.setdefault(tokens[0].lower(), tokens[1:])
    return directives


def _page_csp(h: dict[str, str], html: str) -> list[Check]:
    csp = h.get("content-security-policy", "")
    d = _csp_directives(csp)
    checks = []
    ancestors = d.get("frame-ancestors")
    checks.append(passed("page.frame_ancestors", f"frame-ancestors {' '.join(ancestors)}") if ancestors else
                  fail("page.frame_ancestors", "the CSP has no frame-ancestors: other sites may frame the app (clickjacking)",
                       "add frame-ancestors 'none' to the Content-Security-Policy header"))
    if not csp:
        return checks + [fail("page.csp", "no Content-Security-Policy header", f"{MIDDLEWARE}, or send the policy "
                              "that `python -m streamlit_secure_context csp` prints")]
    scripts = d.get("script-src", d.get("default-src"))
    if scripts is None:
        checks.append(fail("page.csp", "the CSP restricts neither script-src nor default-src",
                           "use the policy `python -m streamlit_secure_context csp` prints"))
        return checks
    loose = [s for s in scripts if s in ("*", "'unsafe-eval'", "http:", "https:", "data:") or "://" in s]
    if loose:
        checks.append(warn("page.csp", f"script sources allow {loose}: scripts from elsewhere (a CDN) could run",
                           "allow scripts only from 'self' and by hash"))
    blocked = [x for x in inline_script_hashes(html) if x not in scripts and "'unsafe-inline'" not in scripts]
    if blocked:
        checks.append(warn("page.csp", f"the CSP blocks the page's own inline script(s) {blocked}",
                           "add the hash(es) to script-src (after a Streamlit upgrade: "
                           "`python -m streamlit_secure_context csp` prints the current policy)"))
    if not loose and not blocked:
        checks.append(passed("page.csp", "CSP restricts scripts to the app's own and allows Streamlit's inline script"))
    return checks


def _page_headers(h: dict[str, str], https: bool) -> list[Check]:
    checks = []
    referrer = h.get("referrer-policy", "").lower()
    checks.append(passed("page.referrer_policy", f"Referrer-Policy {referrer}") if referrer in ("no-referrer", "same-origin")
                  else fail("page.referrer_policy", f"Referrer-Policy is {referrer or 'missing'}: URLs can leak to other sites",
                            _fix("Referrer-Policy", "no-referrer")))
    permissions = h.get("permissions-policy", "")
    if not permissions:
        checks.append(fail("page.permissions_policy", "no Permissions-Policy header",
                           _fix("Permissions-Policy", DEFAULT_PERMISSIONS_POLICY)))
    elif re.search(r"cross-origin-isolated=(?!\*)", permissions.replace(" ", "")):
        checks.append(fail("page.permissions_policy",
                           "Permissions-Policy restricts cross-origin-isolated: the component's sandbox frame (an "
                           "opaque origin) and so the engine's Worker cannot be isolated",
                           "leave cross-origin-isolated out of Permissions-Policy"))
    else:
        allowed = [f for f in ("camera", "microphone", "geolocation") if f"{f}=()" not in permissions.replace(" ", "")]
        checks.append(passed("page.permissions_policy", "Permissions-Policy denies camera, microphone, geolocation")
                      if not allowed else
                      warn("page.permissions_policy", f"Permissions-Policy does not deny {allowed}",
                           f"add {', '.join(f + '=()' for f in allowed)} to Permissions-Policy"))
    hsts = h.get("strict-transport-security", "")
    if not https:
        checks.append(warn("page.hsts", "the app was probed over plain HTTP, so there is no HSTS",
                           "serve the app over HTTPS (docs/deployment.md) and probe the https:// URL"))
    else:
        age = re.search(r"max-age=(\d+)", hsts)
        checks.append(passed("page.hsts", f"HSTS {hsts}") if age and int(age.group(1)) >= MIN_HSTS_SECONDS else
                      fail("page.hsts", f"Strict-Transport-Security is {hsts or 'missing'} (need max-age >= {MIN_HSTS_SECONDS})",
                           _fix("Strict-Transport-Security", DEFAULT_HSTS)))
    return checks


def check_url(url: str, manifest: dict[str, str] | None, cafile: str | None) -> list[Check]:
    base = url if url.endswith("/") else url + "/"
    https = urlsplit(base).scheme == "https"
    context = ssl.create_default_context(cafile=cafile) if https else None
    try:
        page = fetch(base, context)
    except (OSError, ssl.SSLError) as e:
        return [fail("page.reachable", f"cannot fetch {base}: {e}", "start the app, check the URL (and --cafile for a private CA)")]
    if page.status != 200:
        return [fail("page.reachable", f"{base} answered HTTP {page.status}", "check the URL")]
    checks = [passed("page.reachable", f"{base} answered 200")]
    checks += _isolation_headers("page", page.headers)
    checks += _page_headers(page.headers, https)
    checks += _page_csp(page.headers, page.body.decode("utf-8", "replace"))

    index = fetch(base + COMPONENT_PATH + "index.html", context)
    if index.status != 200:
        return checks + [fail("component.reachable", f"the component's index.html answered HTTP {index.status}",
                              "open the app once in a browser (its script registers the component), then run doctor again")]
    checks += _isolation_headers("component", index.headers)
    ancestors = _csp_directives(index.headers.get("content-security-policy", "")).get("frame-ancestors")
    checks.append(passed("component.frame_ancestors", f"frame-ancestors {' '.join(ancestors)}") if ancestors else
                  fail("component.frame_ancestors", "component documents have no CSP frame-ancestors",
                       _fix("Content-Security-Policy", "frame-ancestors 'self'") + " (for /component/ paths)"))

    wasm = fetch(base + COMPONENT_PATH + "engine/engine.wasm", context)
    mime = wasm.headers.get("content-type", "").split(";")[0].strip()
    checks.append(passed("wasm.mime", "engine.wasm is served as application/wasm") if mime == "application/wasm" else
                  fail("wasm.mime", f"engine.wasm is served as {mime or 'no type'} (HTTP {wasm.status})",
                       "serve .wasm as application/wasm: Streamlit does; a proxy or CDN in between must not rewrite it"))
    corp = wasm.headers.get("cross-origin-resource-policy", "")
    checks.append(passed("wasm.corp", "engine.wasm has CORP same-origin") if corp == "same-origin" else
                  fail("wasm.corp", f"engine.wasm has Cross-Origin-Resource-Policy {corp or 'missing'}",
                       _fix("Cross-Origin-Resource-Policy", "same-origin")))
    expected = (manifest or {}).get("engine/engine.wasm")
    if expected is not None:
        served = hashlib.sha256(wasm.body).hexdigest()
        checks.append(passed("wasm.sha256", "the served engine.wasm matches the installed package's manifest")
                      if served == expected else
                      fail("wasm.sha256", f"the served engine.wasm has sha256 {served}, the manifest records {expected}",
                           "the server (or a proxy cache) serves another build than the one installed where doctor "
                           "runs: deploy the same package version, restart the app, purge caches"))
    return checks
