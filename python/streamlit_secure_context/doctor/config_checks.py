"""Checks of the Streamlit server's settings in ``.streamlit/config.toml`` (Streamlit 1.67 names).

An option missing from the file has Streamlit's default, so a missing file is checked too.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# tomllib is 3.11's; tomli is the same module for 3.10 (a dependency there, see pyproject.toml).
if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

from .report import Check, fail, passed, warn

# The component never uploads a file to the server (files are read in the browser), so
# Streamlit's uploader needs no more than the app's own, non-PHI uses.
MAX_UPLOAD_MB = 10
MIN_COOKIE_SECRET_CHARS = 32


class ConfigError(Exception):
    """The config file exists but cannot be read as TOML."""


def load(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from e


def check_config(path: Path, https_url: bool) -> list[Check]:
    """`https_url`: the app is probed over HTTPS, so TLS may be terminated by a proxy."""
    try:
        config = load(path)
    except ConfigError as e:
        return [fail("config", str(e), "fix the TOML syntax; Streamlit refuses to start with it too")]
    server = config.get("server", {})
    browser = config.get("browser", {})
    client = config.get("client", {})
    checks = [passed("config", f"read {path}") if path.is_file() else
              warn("config", f"{path} does not exist: every option has Streamlit's default",
                   "create .streamlit/config.toml next to the app (docs/deployment.md has one)")]
    checks += [
        _xsrf(server), _cors(server), _tls(server, https_url), _upload(server),
        _static(server), _hosts(server), _cookies(server), _agent_api(server), _usage_stats(browser),
        _error_details(client),
    ]
    return checks


def _xsrf(server: dict[str, Any]) -> Check:
    if server.get("enableXsrfProtection", True) is not True:
        return fail("xsrf", "server.enableXsrfProtection is off",
                    "set server.enableXsrfProtection = true (Streamlit's default)")
    return passed("xsrf", "XSRF protection is on")


def _cors(server: dict[str, Any]) -> Check:
    if server.get("enableCORS", True) is not True:
        return fail("cors", "server.enableCORS is off: Streamlit answers every origin with Access-Control-Allow-Origin: *",
                    "set server.enableCORS = true")
    origins = server.get("corsAllowedOrigins", [])
    if "*" in origins or any("*" in o for o in origins):
        return fail("cors", f"server.corsAllowedOrigins has a wildcard: {origins}",
                    "list exact origins in server.corsAllowedOrigins, e.g. [\"https://app.example.org\"]")
    return passed("cors", "CORS protection is on, with no wildcard origin")


def _tls(server: dict[str, Any], https_url: bool) -> Check:
    cert, key = server.get("sslCertFile"), server.get("sslKeyFile")
    if bool(cert) != bool(key):
        return fail("tls", "only one of server.sslCertFile and server.sslKeyFile is set",
                    "set both, or neither when a proxy terminates TLS")
    if cert and key:
        # Relative to the working directory, as Streamlit opens them.
        missing = [p for p in (cert, key) if not Path(p).expanduser().is_file()]
        if missing:
            return fail("tls", f"TLS file(s) not found: {missing}", "point server.sslCertFile/sslKeyFile at existing files")
        return passed("tls", "Streamlit serves HTTPS itself (server.sslCertFile and server.sslKeyFile); "
                      "Streamlit recommends a TLS-terminating proxy for production")
    if https_url:
        return passed("tls", "no TLS in Streamlit, but the probed URL is HTTPS: a proxy terminates TLS")
    return warn("tls", "no TLS configured: server.sslCertFile/sslKeyFile unset, and no HTTPS URL was probed",
                "terminate TLS at a proxy (docs/deployment.md) and run doctor --url https://..., "
                "or set server.sslCertFile and server.sslKeyFile")


def _upload(server: dict[str, Any]) -> Check:
    size = server.get("maxUploadSize", 200)
    if not isinstance(size, int) or isinstance(size, bool) or size > MAX_UPLOAD_MB:
        where = "Streamlit's default" if "maxUploadSize" not in server else "set"
        return warn("max_upload_size", f"server.maxUploadSize is {size} MB ({where})",
                    f"set server.maxUploadSize to the least the app needs (at most {MAX_UPLOAD_MB}); "
                    "this component uploads nothing, files stay in the browser")
    return passed("max_upload_size", f"server.maxUploadSize is {size} MB")


def _static(server: dict[str, Any]) -> Check:
    if server.get("enableStaticServing", False):
        return warn("static_serving", "server.enableStaticServing is on: ./static is served to anyone who can reach the app",
                    "set server.enableStaticServing = false unless the app needs it, and never put PHI in ./static")
    return passed("static_serving", "static file serving is off")


def _hosts(server: dict[str, Any]) -> Check:
    hosts = server.get("allowedHosts", [])
    if not hosts or "*" in hosts:
        return warn("allowed_hosts", f"server.allowedHosts is {hosts or 'empty'}: any Host header is accepted (DNS rebinding)",
                    "set server.allowedHosts to the host names the app is served under, e.g. [\"app.example.org\"]")
    return passed("allowed_hosts", f"server.allowedHosts is {hosts}")


def _cookies(server: dict[str, Any]) -> Check:
    same_site = str(server.get("xsrfCookieSameSite", "lax")).lower()
    if same_site not in ("lax", "strict"):
        return warn("cookies", f"server.xsrfCookieSameSite is {same_site!r}: the XSRF cookie is sent on cross-site requests",
                    "set server.xsrfCookieSameSite = \"strict\" (or \"lax\") unless the app must be framed cross-site")
    secret = server.get("cookieSecret")
    if secret is not None and len(str(secret)) < MIN_COOKIE_SECRET_CHARS:
        return fail("cookies", f"server.cookieSecret is only {len(str(secret))} characters",
                    f"use at least {MIN_COOKIE_SECRET_CHARS} random characters (python -c 'import secrets; "
                    "print(secrets.token_hex())'), from an environment variable rather than a committed file")
    return passed("cookies", f"XSRF cookie SameSite={same_site}; cookie secret "
                  + ("set and long enough" if secret is not None else "random per process (set one for replicas)"))


def _agent_api(server: dict[str, Any]) -> Check:
    if server.get("enableAgentApi", False):
        return warn("agent_api", "server.enableAgentApi is on: programs can drive the app over HTTP",
                    "set server.enableAgentApi = false unless you need it and authenticate its callers")
    return passed("agent_api", "the agent API is off")


def _usage_stats(browser: dict[str, Any]) -> Check:
    if browser.get("gatherUsageStats", True):
        return warn("usage_stats", "browser.gatherUsageStats is on (Streamlit's default): usage metrics leave the browser",
                    "set browser.gatherUsageStats = false")
    return passed("usage_stats", "usage statistics are off")


def _error_details(client: dict[str, Any]) -> Check:
    # Exception messages can quote the data the app was handling.
    shown = client.get("showErrorDetails", "full")
    if shown not in ("none", "type"):
        return warn("error_details", f"client.showErrorDetails is {shown!r}: exception messages and tracebacks are "
                    "shown in the browser", 'set client.showErrorDetails = "none" (they still go to the server log)')
    return passed("error_details", f"client.showErrorDetails is {shown!r}")
