"""`doctor`: every check passes on a good deployment and fails (or warns) on a bad one.

The HTTP probes run against a real server on 127.0.0.1 whose headers each test chooses;
tests/e2e/test_deployment.py probes real Streamlit and nginx servers.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import streamlit

from streamlit_secure_context.doctor import main as doctor_main
from streamlit_secure_context.doctor import run_checks
from streamlit_secure_context.doctor.asset_checks import check_assets, load_manifest
from streamlit_secure_context.doctor.config_checks import check_config
from streamlit_secure_context.doctor.http_checks import COMPONENT_PATH, check_url
from streamlit_secure_context.doctor.model_checks import check_models
from streamlit_secure_context.doctor.version_checks import check_streamlit
from streamlit_secure_context.security_headers import SecurityHeadersMiddleware

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "examples" / "models" / "digits_mlp.onnx"
MODEL_SHA = hashlib.sha256(MODEL.read_bytes()).hexdigest()

GOOD_CONFIG = """
[server]
enableXsrfProtection = true
enableCORS = true
maxUploadSize = 1
enableStaticServing = false
allowedHosts = ["app.example.org"]
xsrfCookieSameSite = "strict"
sslCertFile = "cert.pem"
sslKeyFile = "key.pem"

[browser]
gatherUsageStats = false

[client]
showErrorDetails = "none"
"""


def statuses(checks, prefix: str) -> set[str]:
    return {c.status for c in checks if c.id == prefix}


@pytest.fixture()
def project(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / "cert.pem").write_text("cert")
    (tmp_path / "key.pem").write_text("key")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_config(project: Path, text: str) -> Path:
    path = project / ".streamlit" / "config.toml"
    path.write_text(text)
    return path


def test_good_config_passes_every_check(project: Path) -> None:
    checks = check_config(write_config(project, GOOD_CONFIG), https_url=False)
    assert [c.id for c in checks if c.status != "PASS"] == []
    assert {c.id for c in checks} == {"config", "xsrf", "cors", "tls", "max_upload_size", "static_serving",
                                      "allowed_hosts", "cookies", "agent_api", "usage_stats", "error_details"}


@pytest.mark.parametrize(
    ("old", "new", "check", "status"),
    [
        ("enableXsrfProtection = true", "enableXsrfProtection = false", "xsrf", "FAIL"),
        ("enableCORS = true", "enableCORS = false", "cors", "FAIL"),
        ("enableCORS = true", 'enableCORS = true\ncorsAllowedOrigins = ["*"]', "cors", "FAIL"),
        ('sslKeyFile = "key.pem"', "", "tls", "FAIL"),
        ('sslCertFile = "cert.pem"\nsslKeyFile = "key.pem"', "", "tls", "WARN"),
        ('sslKeyFile = "key.pem"', 'sslKeyFile = "missing.pem"', "tls", "FAIL"),
        ("maxUploadSize = 1", "", "max_upload_size", "WARN"),
        ("maxUploadSize = 1", "maxUploadSize = 500", "max_upload_size", "WARN"),
        ("enableStaticServing = false", "enableStaticServing = true", "static_serving", "WARN"),
        ('allowedHosts = ["app.example.org"]', "", "allowed_hosts", "WARN"),
        ('allowedHosts = ["app.example.org"]', 'allowedHosts = ["*"]', "allowed_hosts", "WARN"),
        ('xsrfCookieSameSite = "strict"', 'xsrfCookieSameSite = "none"', "cookies", "WARN"),
        ('xsrfCookieSameSite = "strict"', 'cookieSecret = "short"', "cookies", "FAIL"),
        ("maxUploadSize = 1", "maxUploadSize = 1\nenableAgentApi = true", "agent_api", "WARN"),
        ("gatherUsageStats = false", "", "usage_stats", "WARN"),
        ('showErrorDetails = "none"', "", "error_details", "WARN"),
        ('showErrorDetails = "none"', 'showErrorDetails = "stacktrace"', "error_details", "WARN"),
        ("[server]", "[server", "config", "FAIL"),
    ],
)
def test_each_config_check_can_fail(project: Path, old: str, new: str, check: str, status: str) -> None:
    assert old in GOOD_CONFIG
    checks = check_config(write_config(project, GOOD_CONFIG.replace(old, new)), https_url=False)
    assert statuses(checks, check) == {status}, checks
    bad = [c for c in checks if c.status != "PASS"]
    assert all(c.fix for c in bad)


def test_tls_at_a_proxy_passes_when_the_probed_url_is_https(project: Path) -> None:
    path = write_config(project, GOOD_CONFIG.replace('sslCertFile = "cert.pem"\nsslKeyFile = "key.pem"', ""))
    assert statuses(check_config(path, https_url=True), "tls") == {"PASS"}


def test_assets_match_their_manifest_and_tampering_fails(tmp_path: Path) -> None:
    from streamlit_secure_context._component import FRONTEND

    assert statuses(check_assets(FRONTEND, load_manifest(FRONTEND)), "assets") == {"PASS"}
    copy = tmp_path / "frontend"
    shutil.copytree(FRONTEND, copy)
    with (copy / "host.js").open("a") as f:
        f.write("\n// tampered\n")
    [check] = check_assets(copy, load_manifest(copy))
    assert check.status == "FAIL" and "host.js: sha256 differs" in check.message
    (copy / "extra.js").write_text("")
    (copy / "engine" / "engine.wasm").unlink()
    [check] = check_assets(copy, load_manifest(copy))
    assert "engine/engine.wasm: missing" in check.message and "extra.js: not in the manifest" in check.message
    (copy / "manifest.json").unlink()
    assert statuses(check_assets(copy, load_manifest(copy)), "assets") == {"FAIL"}


def write_app(tmp_path: Path, call: str) -> Path:
    shutil.copy(MODEL, tmp_path / "model.onnx")
    app = tmp_path / "app.py"
    app.write_text(f"from streamlit_secure_context import streamlit_secure_context as ssc\n{call}\n")
    return app


@pytest.mark.parametrize(
    ("call", "status", "words"),
    [
        (f'ssc("model.onnx", sha256="{MODEL_SHA}")', "PASS", "matches its pin"),
        ('ssc("model.onnx")', "WARN", "not pinned"),
        (f'ssc("model.onnx", sha256="{"0" * 64}")', "FAIL", "but the pin is"),
        ('ssc("model.onnx", sha256=PIN)', "WARN", "cannot be checked"),
        (f'ssc("gone.onnx", sha256="{MODEL_SHA}")', "FAIL", "not found"),
        ("print('no component here')", "WARN", "no streamlit_secure_context() call"),
    ],
)
def test_model_pins(tmp_path: Path, call: str, status: str, words: str) -> None:
    [check] = check_models([write_app(tmp_path, call)])
    assert check.status == status and words in check.message, check


def test_model_pins_followed_through_an_st_app_launcher(tmp_path: Path) -> None:
    write_app(tmp_path, 'ssc("model.onnx")')
    launcher = tmp_path / "serve.py"
    launcher.write_text('import streamlit as st\napp = st.App("app.py")\n')
    [check] = check_models([launcher])
    assert check.status == "WARN" and "app.py:2" in check.message


def test_no_app_given_is_a_warning() -> None:
    assert statuses(check_models([]), "model_pins") == {"WARN"}


# --- HTTP probes -----------------------------------------------------------------------

# Streamlit's own page, inline script included, as a Streamlit server sends it.
INDEX_HTML = (Path(streamlit.__file__).parent / "static" / "index.html").read_bytes()
WASM = b"\0asm\1\0\0\0"


def good_headers() -> dict[str, dict[str, str]]:
    """What security_middleware() sends, per resource (minus HSTS: this server is HTTP)."""
    middleware = SecurityHeadersMiddleware(None)
    page = {k.decode(): v.decode() for k, v in middleware.page_headers}
    component = {k.decode(): v.decode() for k, v in middleware.component_headers}
    return {"page": page, "index": dict(component), "wasm": {**component, "content-type": "application/wasm"}}


class FakeApp:
    """A real HTTP server on 127.0.0.1 that answers with the headers a test sets."""

    def __init__(self) -> None:
        self.headers = good_headers()
        self.wasm = WASM
        self.component_status = 200
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/":
                    kind, body = "page", INDEX_HTML
                elif self.path == f"/{COMPONENT_PATH}index.html":
                    kind, body = "index", b"<!doctype html>"
                elif self.path == f"/{COMPONENT_PATH}engine/engine.wasm":
                    kind, body = "wasm", fake.wasm
                else:
                    kind, body = "", b""
                self.send_response(fake.component_status if kind in ("index", "wasm") else 200 if kind else 404)
                for name, value in fake.headers.get(kind, {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


@pytest.fixture()
def fake_app() -> Iterator[FakeApp]:
    app = FakeApp()
    yield app
    app.server.shutdown()


MANIFEST = {"engine/engine.wasm": hashlib.sha256(WASM).hexdigest()}


def test_good_responses_pass_every_probe(fake_app: FakeApp) -> None:
    checks = check_url(fake_app.url, MANIFEST, None)
    assert [(c.id, c.status) for c in checks if c.status != "PASS"] == [("page.hsts", "WARN")]  # plain HTTP
    ids = {c.id for c in checks}
    assert {"page.coop", "page.coep", "page.corp", "page.nosniff", "page.referrer_policy", "page.permissions_policy",
            "page.frame_ancestors", "page.csp", "component.coop", "component.coep", "component.frame_ancestors",
            "wasm.mime", "wasm.corp", "wasm.sha256"} <= ids


@pytest.mark.parametrize(
    ("resource", "header", "value", "check", "status"),
    [
        ("page", "cross-origin-opener-policy", None, "page.coop", "FAIL"),
        ("page", "cross-origin-embedder-policy", "unsafe-none", "page.coep", "FAIL"),
        ("page", "cross-origin-resource-policy", "cross-origin", "page.corp", "FAIL"),
        ("page", "cross-origin-resource-policy", "same-site", "page.corp", "WARN"),
        ("page", "x-content-type-options", None, "page.nosniff", "FAIL"),
        ("page", "referrer-policy", "unsafe-url", "page.referrer_policy", "FAIL"),
        ("page", "permissions-policy", None, "page.permissions_policy", "FAIL"),
        ("page", "permissions-policy", "camera=()", "page.permissions_policy", "WARN"),
        ("page", "permissions-policy", "cross-origin-isolated=(self), camera=(), microphone=(), geolocation=()",
         "page.permissions_policy", "FAIL"),
        ("page", "content-security-policy", None, "page.csp", "FAIL"),
        ("page", "content-security-policy", "default-src 'self'", "page.frame_ancestors", "FAIL"),
        # Streamlit's inline script blocked:
        ("page", "content-security-policy", "script-src 'self'; frame-ancestors 'none'", "page.csp", "WARN"),
        ("page", "content-security-policy", "script-src * 'unsafe-inline'; frame-ancestors 'none'", "page.csp", "WARN"),
        ("index", "cross-origin-embedder-policy", None, "component.coep", "FAIL"),
        ("index", "content-security-policy", None, "component.frame_ancestors", "FAIL"),
        ("wasm", "content-type", "application/octet-stream", "wasm.mime", "FAIL"),
        ("wasm", "cross-origin-resource-policy", None, "wasm.corp", "FAIL"),
    ],
)
def test_each_probe_can_fail(fake_app: FakeApp, resource: str, header: str, value: str | None, check: str,
                             status: str) -> None:
    if value is None:
        del fake_app.headers[resource][header]
    else:
        fake_app.headers[resource][header] = value
    checks = check_url(fake_app.url, MANIFEST, None)
    assert statuses(checks, check) == {status}, checks


def test_a_served_engine_other_than_the_installed_one_fails(fake_app: FakeApp) -> None:
    fake_app.wasm = WASM + b"\0"
    assert statuses(check_url(fake_app.url, MANIFEST, None), "wasm.sha256") == {"FAIL"}


def test_an_unregistered_component_fails_with_the_fix(fake_app: FakeApp) -> None:
    fake_app.component_status = 404
    [check] = [c for c in check_url(fake_app.url, MANIFEST, None) if c.id == "component.reachable"]
    assert check.status == "FAIL" and "open the app once" in check.fix


def test_unreachable_app_fails() -> None:
    [check] = check_url("http://127.0.0.1:9/", MANIFEST, None)
    assert check.id == "page.reachable" and check.status == "FAIL"


def test_hsts_over_https_is_required() -> None:
    from streamlit_secure_context.doctor.http_checks import _page_headers

    headers = good_headers()["page"]
    assert statuses(_page_headers(headers, https=True), "page.hsts") == {"FAIL"}
    headers["strict-transport-security"] = "max-age=600"
    assert statuses(_page_headers(headers, https=True), "page.hsts") == {"FAIL"}
    headers["strict-transport-security"] = "max-age=63072000; includeSubDomains"
    assert statuses(_page_headers(headers, https=True), "page.hsts") == {"PASS"}


# --- the command line ------------------------------------------------------------------


def doctor(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streamlit_secure_context", "doctor", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def test_cli_exit_codes(project: Path) -> None:
    """As CI runs it: a real process, its exit code."""
    write_config(project, GOOD_CONFIG)
    app = write_app(project, f'ssc("model.onnx", sha256="{MODEL_SHA}")')
    clean = doctor("--app", str(app), cwd=project)
    assert clean.returncode == 0, clean.stdout
    assert clean.stdout.splitlines()[-1].startswith("OK: ") and "WARN" not in clean.stdout
    write_config(project, GOOD_CONFIG.replace("enableXsrfProtection = true", "enableXsrfProtection = false"))
    assert doctor("--app", str(app), cwd=project).returncode == 1
    assert doctor("--no-such-flag", cwd=project).returncode == 2


def test_cli_strict_json_and_fix_lines(project: Path, fake_app: FakeApp, capsys) -> None:
    """The same entry point in-process (`project` is the working directory)."""

    def run(*args: str) -> tuple[int, str]:
        code = doctor_main(list(args))
        return code, capsys.readouterr().out

    write_config(project, GOOD_CONFIG)
    app = str(write_app(project, 'ssc("model.onnx")'))
    # A warning (an unpinned model) passes normally, fails with --strict.
    assert run("--app", app)[0] == 0
    code, out = run("--app", app, "--strict", "--json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False and report["strict"] is True and report["summary"]["warn"] == 1
    [pin] = [c for c in report["checks"] if c["id"] == "model_pins"]
    assert pin["status"] == "WARN" and "sha256=" in pin["fix"]

    # A failure fails without --strict; each FAIL line is followed by its fix.
    write_config(project, GOOD_CONFIG.replace("enableXsrfProtection = true", "enableXsrfProtection = false"))
    code, out = run("--app", app)
    assert code == 1
    lines = out.splitlines()
    i = lines.index("FAIL  xsrf: server.enableXsrfProtection is off")
    assert lines[i + 1].strip().startswith("fix: ")

    # --url probes a running server.
    fake_app.headers["wasm"]["content-type"] = "text/plain"
    write_config(project, GOOD_CONFIG)
    code, out = run("--app", app, "--url", fake_app.url)
    assert code == 1 and "FAIL  wasm.mime" in out


def test_run_checks_covers_config_assets_models_and_url(project: Path, fake_app: FakeApp) -> None:
    write_config(project, GOOD_CONFIG)
    ids = {c.id for c in run_checks(fake_app.url, project / ".streamlit" / "config.toml", [], None)}
    assert {"xsrf", "assets", "model_pins", "page.coop", "wasm.mime"} <= ids


@pytest.mark.parametrize(("version", "uses_middleware", "status", "says"), [
    ("1.35.0", False, "FAIL", "older than 1.36"),
    ("1.36.0", False, "PASS", "would need 1.57"),
    ("1.56.2", True, "FAIL", "needs Streamlit 1.57 or newer (st.App); this environment has 1.56.2"),
    ("1.57.0", True, "PASS", "security_middleware() are supported"),
    ("1.67.0", False, "PASS", "security_middleware() are supported"),
])
def test_streamlit_version_against_what_the_apps_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str,
                                                     uses_middleware: bool, status: str, says: str) -> None:
    monkeypatch.setattr(streamlit, "__version__", version)
    app = tmp_path / "serve.py"
    app.write_text("import streamlit as st\nfrom streamlit_secure_context import security_middleware\n"
                   "app = st.App('app.py', middleware=[security_middleware()])\n" if uses_middleware else "import streamlit\n")
    [check] = check_streamlit([app])
    assert (check.id, check.status) == ("streamlit_version", status)
    assert says in check.message
    assert bool(check.fix) == (status != "PASS")


def test_code_sharing_the_apps_origin_is_named(tmp_path: Path) -> None:
    from streamlit_secure_context.doctor.origin_checks import check_origin

    app = tmp_path / "app.py"
    app.write_text(
        "import streamlit as st\n"
        "import streamlit.components.v1 as components\n"
        "from streamlit_drawable_canvas import st_canvas\n"
        "from streamlit_secure_context import streamlit_secure_context\n"
        "components.html('<script>1</script>')\n"
        "st.markdown('<b>x</b>', unsafe_allow_html=True)\n"
        "st.markdown('plain', unsafe_allow_html=False)\n"
    )
    found = check_origin([app])
    assert [(c.status, c.message.split(":")[1]) for c in found] == [("WARN", "3"), ("WARN", "5"), ("WARN", "6")], found
    assert all("trusted base" in c.message and "docs/security.md" in c.fix for c in found)
    clean = tmp_path / "clean.py"
    clean.write_text("from streamlit_secure_context import streamlit_secure_context\n")
    assert [c.status for c in check_origin([clean])] == ["PASS"]
