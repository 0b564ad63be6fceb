"""Sandbox attestation: from the sandbox frame and its Worker, every way out fails.

Each probe aims at a recording server on 127.0.0.1 (`collector.py`), so "blocked" means the
request never arrived, not merely that JavaScript saw an error. The control runs the same
probes in an ordinary frame of the same page and a Worker of that frame: there they reach
the server, which shows the probes work and the blocking is the sandbox's doing.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Frame, Page, Route, Worker

from collector import LOOPBACK_AS_PUBLIC, Collector
from helpers import (
    CHROMIUM, CHROMIUM_FLAGS, COMPONENT_IFRAME, DATA, StreamlitServer, open_case, pick_file, sandbox_frame,
    wait_result,
)


PROBE_HELPERS = """
const url = (name) => `${base}/probe/${ctx}/${name}`;
// A probe that neither succeeds nor fails within 1.5 s counts as not blocked by JavaScript;
// the recording server decides whether it got out.
const settle = (p) => Promise.race([p, new Promise((r) => setTimeout(() => r("no answer"), 1500))]);
const out = {};
const attempt = async (name, fn) => {
  try { out[name] = "ok: " + String(await settle(Promise.resolve().then(fn))); }
  catch (e) { out[name] = "blocked: " + ((e && (e.name || e.message)) || e); }
};
const event = (target, ok, bad) => new Promise((resolve, reject) => {
  target.addEventListener(ok, () => resolve(ok));
  target.addEventListener(bad, () => reject(new Error(bad)));
});
await attempt("fetch", async () => (await fetch(url("fetch"))).status);
await attempt("xhr", () => { const x = new XMLHttpRequest(); x.open("GET", url("xhr")); x.send(); return event(x, "load", "error"); });
await attempt("websocket", () => event(new WebSocket(url("websocket").replace("http:", "ws:")), "open", "error"));
await attempt("eventsource", () => event(new EventSource(url("eventsource")), "message", "error"));
await attempt("rtc", async () => {
  if (typeof RTCPeerConnection === "undefined") throw new Error("RTCPeerConnection is absent");
  const pc = new RTCPeerConnection({ iceServers: [{ urls: `stun:127.0.0.1:${udp}` }] });
  pc.createDataChannel("probe");
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => setTimeout(r, 1000));
  return pc.iceGatheringState;
});
"""

WINDOW_PROBES = """async ({ base, ctx, udp }) => {
""" + PROBE_HELPERS + """
const element = (tag, attrs, ok = "load", bad = "error") => {
  const el = document.createElement(tag);
  const done = event(el, ok, bad);
  Object.assign(el, attrs);
  document.body.appendChild(el);
  return done;
};
await attempt("script", () => element("script", { src: url("script") }));
await attempt("image", () => element("img", { src: url("image") }));
await attempt("style", () => element("link", { rel: "stylesheet", href: url("style") }));
await attempt("prefetch", () => element("link", { rel: "prefetch", href: url("prefetch") }));
await attempt("beacon", () => { if (!navigator.sendBeacon(url("beacon"), "x")) throw new Error("refused"); return "queued"; });
await attempt("popup", () => { const w = window.open(url("popup")); if (!w) throw new Error("no window"); return "opened"; });
await attempt("form", () => {
  const sink = document.createElement("iframe");
  sink.name = "probe-sink";
  document.body.appendChild(sink);
  const form = document.createElement("form");
  Object.assign(form, { action: url("form"), method: "post", target: "probe-sink" });
  document.body.appendChild(form);
  form.submit();
  return "submitted";
});
await attempt("parent-dom", () => parent.document.title.length);
await attempt("top-dom", () => top.document.title.length);
await attempt("cookie", () => { document.cookie = "probe=1"; return document.cookie; });
await attempt("localstorage", () => { localStorage.setItem("probe", "1"); return localStorage.getItem("probe"); });
return out;
}"""

WORKER_PROBES = """async ({ base, ctx, udp }) => {
""" + PROBE_HELPERS + """
await attempt("import", () => { importScripts(url("import")); return "imported"; });
await attempt("cookie", () => { if (typeof document === "undefined") throw new Error("no document"); return document.cookie; });
await attempt("localstorage", () => { if (typeof localStorage === "undefined") throw new Error("no localStorage"); return 1; });
return out;
}"""

NETWORK_WINDOW = {"fetch", "xhr", "websocket", "eventsource", "script", "image", "style", "prefetch", "beacon", "popup", "form"}
NETWORK_WORKER = {"fetch", "xhr", "websocket", "eventsource", "import"}
# In the control these work without a request: access to the parent's DOM and to storage.
LOCAL_WINDOW = {"parent-dom", "top-dom", "cookie", "localstorage"}

# Self-navigation, last: if it were allowed it would replace the document under test.
NAVIGATE = "(target) => { setTimeout(() => { location.href = target; }, 0); return true; }"


@pytest.fixture(scope="module")
def browser(browser: Browser) -> Iterator[Browser]:
    """This module's own Chromium, in which 127.0.0.1 counts as a public server (see collector.py)."""
    own = browser.browser_type.launch(executable_path=CHROMIUM, args=[*CHROMIUM_FLAGS, LOOPBACK_AS_PUBLIC], headless=True)
    yield own
    own.close()


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    c = Collector()
    yield c
    c.close()


def sandbox_contexts(page: Page) -> tuple[Frame, Worker]:
    host = page.locator(COMPONENT_IFRAME).element_handle().content_frame()
    sandbox = host.locator("#sandbox").element_handle().content_frame()
    workers = [w for w in page.workers if w.url.startswith("blob:null/")]
    assert len(workers) == 1, [w.url for w in page.workers]
    return sandbox, workers[0]


def control_contexts(page: Page) -> tuple[Frame, Worker]:
    """An ordinary iframe of the app page (same origin, no sandbox, no CSP) and its Worker."""
    page.evaluate("""() => {
      const f = document.createElement("iframe");
      f.name = "control";
      document.body.appendChild(f);
      f.contentWindow.worker = new f.contentWindow.Worker(
        URL.createObjectURL(new Blob(["/* control */"], { type: "text/javascript" })));
    }""")
    frame = page.frame(name="control")
    for _ in range(50):  # the Worker shows up asynchronously
        workers = [w for w in page.workers if w.url.startswith("blob:http")]
        if workers:
            break
        page.wait_for_timeout(100)
    (worker,) = workers
    return frame, worker


def probe(context: Frame | Worker, script: str, collector: Collector, name: str) -> dict[str, str]:
    return context.evaluate(script, {"base": collector.url, "ctx": name, "udp": collector.udp_port})


def test_every_way_out_is_blocked_in_the_sandbox_and_its_worker(page: Page, probe_server: StreamlitServer,
                                                                 collector: Collector) -> None:
    open_case(page, probe_server, "image")
    sandbox_frame(page).locator("#status[data-kind=ready]").wait_for(timeout=60_000)
    frame, worker = sandbox_contexts(page)
    udp_before = collector.udp_packets

    in_frame = probe(frame, WINDOW_PROBES, collector, "sandbox")
    in_worker = probe(worker, WORKER_PROBES, collector, "sandbox-worker")
    page.wait_for_timeout(500)

    assert collector.reached("sandbox") == set(), in_frame
    assert collector.reached("sandbox-worker") == set(), in_worker
    # JavaScript sees every refusal except these two, which fail silently: the server decides.
    for name in (NETWORK_WINDOW - {"form", "beacon"}) | LOCAL_WINDOW | {"rtc"}:
        assert in_frame[name].startswith("blocked"), (name, in_frame[name])
    for name in NETWORK_WORKER | {"rtc", "cookie", "localstorage"}:
        assert in_worker[name].startswith("blocked"), (name, in_worker[name])
    assert collector.udp_packets == udp_before, "a STUN packet left the sandbox"


def test_the_same_probes_get_out_of_an_ordinary_frame_and_worker(page: Page, probe_server: StreamlitServer,
                                                                 collector: Collector) -> None:
    """The control: without the sandbox, each probe reaches the recording server."""
    open_case(page, probe_server, "image")
    frame, worker = control_contexts(page)
    udp_before = collector.udp_packets

    in_frame = probe(frame, WINDOW_PROBES, collector, "control")
    in_worker = probe(worker, WORKER_PROBES, collector, "control-worker")
    page.wait_for_timeout(500)

    assert collector.reached("control") >= NETWORK_WINDOW, in_frame
    assert collector.reached("control-worker") >= NETWORK_WORKER, in_worker
    for name in LOCAL_WINDOW:
        assert in_frame[name].startswith("ok"), (name, in_frame[name])
    assert collector.udp_packets > udp_before, f"no STUN packet from the control frame: {in_frame['rtc']}"


RTC_VIA_CHILD_FRAME = """async (udp) => {
  const child = document.body.appendChild(document.createElement("iframe"));
  try {
    const pc = new child.contentWindow.RTCPeerConnection({ iceServers: [{ urls: `stun:127.0.0.1:${udp}` }] });
    pc.createDataChannel("probe");
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((r) => setTimeout(r, 1000));
    return "ok";
  } catch (e) { return "blocked: " + e.name; }
}"""


def test_a_child_frame_does_not_give_webrtc_back(page: Page, probe_server: StreamlitServer, collector: Collector) -> None:
    """The sandbox drops RTCPeerConnection; a child frame it creates gets an opaque origin of its own."""
    open_case(page, probe_server, "image")
    sandbox_frame(page).locator("#status[data-kind=ready]").wait_for(timeout=60_000)
    frame, _ = sandbox_contexts(page)
    before = collector.udp_packets
    assert frame.evaluate(RTC_VIA_CHILD_FRAME, collector.udp_port) == "blocked: SecurityError"
    assert collector.udp_packets == before


def navigate_sandbox(page: Page, server: StreamlitServer, target: str) -> None:
    open_case(page, server, "image")
    sandbox_frame(page).locator("#status[data-kind=ready]").wait_for(timeout=60_000)
    frame, _ = sandbox_contexts(page)
    frame.evaluate(NAVIGATE, target)
    page.wait_for_timeout(1500)


def test_sandbox_cannot_navigate_itself(page: Page, probe_server: StreamlitServer, collector: Collector) -> None:
    """The host's CSP (frame-src 'none') refuses any navigation of the sandbox frame to a URL."""
    navigate_sandbox(page, probe_server, f"{collector.url}/probe/navigate-sandbox/navigate")
    assert collector.reached("navigate-sandbox") == set()


def test_with_frame_src_opened_the_sandbox_could_navigate_itself(page: Page, probe_server: StreamlitServer,
                                                            collector: Collector) -> None:
    """The control: the same host document with frame-src opened up, and the navigation gets out.

    (Merely deleting frame-src would not do: it falls back to default-src 'none'.)
    """
    served: list[str] = []

    def open_frame_src(route: Route) -> None:
        response = route.fetch()
        html = response.text()
        served.append(html)
        route.fulfill(response=response, body=html.replace("frame-src 'none'", "frame-src http:"))

    page.route(lambda url: "/component/" in url and urlparse(url).path.endswith("/index.html"), open_frame_src)
    navigate_sandbox(page, probe_server, f"{collector.url}/probe/navigate-uncsp/navigate")
    assert served and "frame-src 'none'" in served[0]
    assert collector.reached("navigate-uncsp") == {"navigate"}


# Counts, in the sandbox's main thread, every way of reading a Blob's bytes. Playwright runs it
# in every frame before the page's own scripts; it acts only in the opaque-origin sandbox.
COUNT_READS = """
if (self.origin === "null") {
  window.__fileReads = [];
  const wrap = (proto, names) => names.forEach((name) => {
    const original = proto[name];
    if (typeof original !== "function") return;
    proto[name] = function (...args) { window.__fileReads.push(name); return original.apply(this, args); };
  });
  wrap(Blob.prototype, ["arrayBuffer", "text", "stream", "slice", "bytes"]);
  wrap(FileReader.prototype, ["readAsArrayBuffer", "readAsText", "readAsDataURL", "readAsBinaryString"]);
  wrap(URL, ["createObjectURL"]);
  // Decoding the image for its preview counts too: the Worker does it, not this thread.
  wrap(window, ["createImageBitmap"]);
}
"""


def test_the_picked_file_goes_to_the_worker_unread(page: Page, probe_server: StreamlitServer) -> None:
    """PHI never touches the sandbox's main thread: the File is handed to the Worker as is."""
    page.context.add_init_script(COUNT_READS)
    open_case(page, probe_server, "image")
    pick_file(page, DATA / "digit_3.png")
    assert wait_result(page)["top_k"][0]["index"] == 3
    frame, _ = sandbox_contexts(page)
    # The picture shown is the Worker's decoding, handed over as an ImageBitmap.
    assert frame.evaluate("!document.getElementById('preview').hidden")
    # The Worker is started from a blob: URL of the engine's code before any file is picked.
    assert frame.evaluate("window.__fileReads") == ["createObjectURL"]
    # The instrument works: a read in the sandbox's main thread is counted.
    frame.evaluate("new Blob(['x']).arrayBuffer()")
    frame.evaluate("createImageBitmap(new ImageData(1, 1))")
    assert frame.evaluate("window.__fileReads") == ["createObjectURL", "arrayBuffer", "createImageBitmap"]
