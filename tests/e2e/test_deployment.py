"""docs/deployment.md, followed end to end: TLS, headers, an app with a pinned model, doctor.

- nginx (Debian's, on 127.0.0.1) with the shipped snippet, docs/nginx/streamlit-secure-context.conf,
  in front of a plain `streamlit run` configured by docs/streamlit-config.toml;
- Streamlit's own TLS with `security_middleware()` (HSTS over HTTPS).

Both are opened in Chromium and checked with `doctor --url ... --strict`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from helpers import COMPONENT_IFRAME, ROOT, free_port


NGINX = "/usr/sbin/nginx"
DOCS = ROOT / "docs"
MODEL = ROOT / "examples" / "models" / "digits_mlp.onnx"
MODEL_SHA = hashlib.sha256(MODEL.read_bytes()).hexdigest()

# The guide's example app: a pinned model that needs cross-origin isolation.
APP = f'''
import json
import streamlit as st
from streamlit_secure_context import streamlit_secure_context

result = streamlit_secure_context(
    "models/digits.onnx",
    sha256="{MODEL_SHA}",
    security_config={{"require_isolation": True}},
    inference_params={{"input": [[0.0] * 64], "inputName": "pixels"}},
    key="digits",
)
with st.container(key="result"):
    st.code(json.dumps(result), language="json")
'''


def replace_once(text: str, old: str, new: str) -> str:
    """Edits one marked line of a shipped file; fails if the file no longer has it."""
    assert text.count(old) == 1, f"expected exactly one {old!r}"
    return text.replace(old, new)


def wait_http(url: str, context: ssl.SSLContext | None, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer:\n{log.read_text()}")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1; the tests trust it explicitly (doctor --cafile)."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def start_streamlit(script: str, cwd: Path, args: list[str], url: str, context: ssl.SSLContext | None):
    log = ROOT / "test-results" / f"streamlit-deploy-{Path(script).stem}-{free_port()}.log"
    log.parent.mkdir(exist_ok=True)
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", script, *args], cwd=cwd,
                               stdout=log.open("w"), stderr=subprocess.STDOUT, env={**os.environ})
    try:
        wait_http(f"{url}/_stcore/health", context, process, log)
    except RuntimeError:
        stop(process)
        raise
    return process


@pytest.fixture(scope="module")
def guide_app(tmp_path_factory) -> Iterator[tuple[Path, int]]:
    """The app directory as the guide lays it out, served by `streamlit run app.py` on loopback."""
    d = tmp_path_factory.mktemp("app")
    port = free_port()
    (d / ".streamlit").mkdir()
    config = (DOCS / "streamlit-config.toml").read_text()
    config = replace_once(config, "port = 8501", f"port = {port}")
    # The test reaches the app as 127.0.0.1, not under a public host name.
    config = replace_once(config, 'allowedHosts = ["app.example.org"]', 'allowedHosts = ["127.0.0.1"]')
    (d / ".streamlit" / "config.toml").write_text(config)
    (d / "models").mkdir()
    shutil.copy(MODEL, d / "models" / "digits.onnx")
    (d / "app.py").write_text(APP)
    process = start_streamlit("app.py", d, [], f"http://127.0.0.1:{port}", None)
    yield d, port
    stop(process)


@pytest.fixture(scope="module")
def nginx(guide_app, tls) -> Iterator[tuple[str, Path]]:
    """Debian's nginx with the shipped snippet; returns its URL and its access log."""
    if not os.access(NGINX, os.X_OK):
        pytest.fail(f"{NGINX} is missing: run scripts/setup")
    _, app_port = guide_app
    cert, key = tls
    # Not under pytest's private (0700) temp dir: nginx's workers run as another user when
    # the tests run as root, and need the temp paths.
    d = Path(tempfile.mkdtemp(prefix="ssc-nginx-"))
    d.chmod(0o755)
    (d / "tmp").mkdir(mode=0o777)
    (d / "tmp").chmod(0o777)
    port = free_port()
    snippet = (DOCS / "nginx" / "streamlit-secure-context.conf").read_text()
    snippet = replace_once(snippet, "server 127.0.0.1:8501;", f"server 127.0.0.1:{app_port};")
    snippet = replace_once(snippet, "listen 443 ssl http2;", f"listen 127.0.0.1:{port} ssl http2;")
    snippet = replace_once(snippet, "/etc/ssl/certs/app.example.org.pem;", f"{cert};")
    snippet = replace_once(snippet, "/etc/ssl/private/app.example.org.key;", f"{key};")
    snippet = replace_once(snippet, "/var/log/nginx/streamlit-secure-context.log", str(d / "access.log"))
    (d / "streamlit-secure-context.conf").write_text(snippet)
    temp_paths = "".join(f"    {kind}_temp_path {d}/tmp/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (d / "nginx.conf").write_text(f"""
worker_processes 1;
pid {d}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
{temp_paths}
    # What Debian's /etc/nginx/nginx.conf does for conf.d/*.conf:
    include {d}/streamlit-secure-context.conf;
}}
""")
    log = d / "error.log"
    process = subprocess.Popen([NGINX, "-p", str(d), "-e", str(log), "-c", str(d / "nginx.conf"), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"https://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/_stcore/health", ssl.create_default_context(cafile=str(cert)), process, log)
        yield url, d / "access.log"
    finally:
        stop(process)
        shutil.rmtree(d, ignore_errors=True)


def open_and_wait(browser: Browser, url: str) -> tuple[dict, list[str], object]:
    context = browser.new_context(ignore_https_errors=True)  # the self-signed test certificate
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.goto(url)
    page.locator(COMPONENT_IFRAME).wait_for(timeout=30_000)
    code = page.locator(".st-key-result code")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = code.inner_text() if code.count() else "null"
        if text.strip() != "null":
            return json.loads(text), console, page
        time.sleep(0.2)
    raise AssertionError(f"no result at {url}:\n" + "\n".join(console))


def doctor(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streamlit_secure_context", "doctor", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_guide_end_to_end_behind_nginx(browser: Browser, guide_app, nginx, tls) -> None:
    app_dir, _ = guide_app
    url, access_log = nginx
    cert, _ = tls
    # A query string, as an identifier in a link might be: the guide's log format drops it.
    result, console, page = open_and_wait(browser, f"{url}/?patient=12345")
    assert result["status"] == "ok", result
    assert result["model_sha256"] == MODEL_SHA
    # require_isolation is set in the app: an ok result already means the Worker was isolated.
    assert result["cross_origin_isolated"] is True
    workers = [w for w in page.workers if w.url.startswith("blob:null/")]
    assert [w.evaluate("[self.crossOriginIsolated, typeof SharedArrayBuffer]") for w in workers] == [[True, "function"]]
    assert [m for m in console if "Content Security Policy" in m] == []
    page.context.close()

    report = doctor("--url", url, "--cafile", str(cert), "--app", "app.py", "--strict", "--json", cwd=app_dir)
    checks = json.loads(report.stdout)["checks"]
    assert [c for c in checks if c["status"] != "PASS"] == [], report.stdout
    assert report.returncode == 0
    assert {"page.hsts", "page.coep", "wasm.mime", "wasm.sha256", "model_pins", "tls", "allowed_hosts"} <= {c["id"] for c in checks}

    logged = access_log.read_text()
    assert "GET / 200" in logged and "_stcore/health" in logged
    assert "12345" not in logged and "patient" not in logged


def test_streamlit_tls_with_middleware_sends_hsts_and_passes_doctor(browser: Browser, tls, tmp_path: Path) -> None:
    cert, key = tls
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    process = start_streamlit(
        str(ROOT / "tests" / "e2e" / "secure_probe_app.py"), ROOT,
        ["--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.sslCertFile", str(cert), "--server.sslKeyFile", str(key)],
        url, ssl.create_default_context(cafile=str(cert)))
    try:
        result, console, page = open_and_wait(browser, f"{url}/?case=tensor")
        assert result["status"] == "ok" and result["cross_origin_isolated"] is True, result
        page.context.close()
        with urllib.request.urlopen(url, context=ssl.create_default_context(cafile=str(cert))) as r:
            assert r.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
        report = doctor("--url", url, "--cafile", str(cert), "--json", cwd=tmp_path)
        checks = {c["id"]: c["status"] for c in json.loads(report.stdout)["checks"] if c["id"].split(".")[0] in
                  ("page", "component", "wasm")}
        assert set(checks.values()) == {"PASS"}, report.stdout
        assert checks["page.hsts"] == "PASS"
    finally:
        stop(process)
