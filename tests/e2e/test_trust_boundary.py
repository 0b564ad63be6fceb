"""Who may drive the host frame: only its own app.

Without the security middleware nothing stops another site from framing the component's
`index.html`; the host itself then refuses to run (`not_embedded`), so a foreign page can
neither boot the engine nor drive a picker with forged render messages.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page

from helpers import StreamlitServer, free_port, host_frame, open_case, sandbox_frame


COMPONENT = "/component/streamlit_secure_context._component.streamlit_secure_context/index.html"


@pytest.fixture()
def framer(probe_server: StreamlitServer) -> Iterator[str]:
    """A page on another origin (localhost, not 127.0.0.1) that frames the host and sends it a render."""
    port = free_port()
    origin = f"http://localhost:{port}"
    page = f"""<!doctype html><iframe id="c" title="streamlit_secure_context._component.streamlit_secure_context"
      src="{probe_server.url}{COMPONENT}?streamlitUrl={origin}/"></iframe>
      <script>
        addEventListener("message", (e) => {{ document.body.dataset.heard = (document.body.dataset.heard || "") + " " + e.data.type; }});
        document.getElementById("c").addEventListener("load", () => {{
          document.getElementById("c").contentWindow.postMessage({{isStreamlitMessage: true, type: "streamlit:render", args: {{}}}}, "*");
        }});
      </script>"""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield origin
    server.shutdown()


def test_a_foreign_page_framing_the_host_gets_nothing_to_drive(page: Page, probe_server: StreamlitServer, framer: str) -> None:
    # Streamlit serves a component's files once a session has declared it.
    open_case(page, probe_server, "image")
    page.goto(framer)
    host = page.frame_locator("#c")
    status = host.locator("#host-status")
    status.filter(has_text="not_embedded").wait_for(timeout=30_000)
    assert host.locator("#sandbox").count() == 0
    # Not even the component handshake reached the foreign page.
    page.wait_for_timeout(1000)
    assert "streamlit:componentReady" not in (page.locator("body").get_attribute("data-heard") or "")


def test_inside_its_own_app_the_host_runs(page: Page, probe_server: StreamlitServer) -> None:
    open_case(page, probe_server, "image")
    sandbox_frame(page).locator("#pick").wait_for(state="visible", timeout=60_000)
    assert "not_embedded" not in host_frame(page).locator("#host-status").inner_text()


def test_same_origin_code_can_reach_the_host_frame_the_documented_limit(page: Page, probe_server: StreamlitServer) -> None:
    """What docs/security.md says, shown: any script in the app's origin (another component,
    components.html, unsafe HTML) reaches into the host frame and could swap the sandbox for a
    look-alike picker. It still cannot read the real sandbox, an opaque origin. If this test
    starts failing, the boundary moved: update docs/security.md ("The trust boundary")."""
    open_case(page, probe_server, "image")
    sandbox_frame(page).locator("#pick").wait_for(state="visible", timeout=60_000)
    reach = page.evaluate("""() => {
        const host = document.querySelector('iframe[title="streamlit_secure_context._component.streamlit_secure_context"]');
        const doc = host.contentWindow.document;              // same origin: allowed
        const sandbox = doc.getElementById("sandbox");
        let sandboxDoc;
        try { sandboxDoc = sandbox.contentWindow.document ? "readable" : "none"; } catch (e) { sandboxDoc = "blocked"; }
        const fake = doc.createElement("input");              // a look-alike picker could go here
        fake.type = "file"; fake.id = "look-alike"; doc.body.appendChild(fake);
        return { hostReadable: doc.getElementById("host-status") !== null, sandboxDoc,
                 injected: doc.getElementById("look-alike") !== null };
    }""")
    assert reach == {"hostReadable": True, "sandboxDoc": "blocked", "injected": True}
