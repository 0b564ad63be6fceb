"""The receipt's input hash is the same whoever computes the content's SHA-256: the Worker
passes the browser's for large inputs, the engine computes its own otherwise (and natively)."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

from playwright.sync_api import Page

from helpers import MODELS, ROOT

ENGINE = ROOT / "python" / "streamlit_secure_context" / "frontend" / "engine"

# The shipped engine in a plain page (the Worker's glue defines `wasm_bindgen` the same way): one
# Engine, so one receipt key, runs one tensor three ways.
RUN = """async () => {
  const bytes = async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer());
  await new Promise((ok, err) => { const s = document.createElement("script"); s.src = "engine.js"; s.onload = ok; s.onerror = err; document.head.appendChild(s); });
  await wasm_bindgen({ module_or_path: await WebAssembly.compile(await bytes("engine.wasm")) });
  const engine = new wasm_bindgen.Engine(await bytes("model.onnx"), undefined, undefined, undefined);
  const rows = 200;  // 200 x 64 values as f64: 100 KiB, past the Worker's 64 KiB threshold
  const values = Float64Array.from({ length: rows * 64 }, (_, i) => (i * 7919) % 17);
  const request = { input: { kind: "tensor", shape: [rows, 64], data: [] } };
  const browser = new Uint8Array(await crypto.subtle.digest("SHA-256", values));
  const hash = (content) => engine.run(request, undefined, values, content).receipt.input_hmac_sha256;
  return { engine: hash(undefined), browser: hash(browser), other: hash(new Uint8Array(32)) };
}"""


def test_the_browser_s_content_sha256_gives_the_engine_s_own_input_hash(page: Page, tmp_path: Path) -> None:
    for name in ("engine.js", "engine.wasm"):
        shutil.copy(ENGINE / name, tmp_path / name)
    shutil.copy(MODELS / "digits_mlp.onnx", tmp_path / "model.onnx")
    (tmp_path / "index.html").write_text("<!doctype html><title>receipt</title>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{server.server_port}/index.html")
        hashes = page.evaluate(RUN)
    finally:
        server.shutdown()
    assert hashes["engine"] == hashes["browser"], hashes
    # The given digest is what the hash covers: another one gives another hash.
    assert hashes["other"] != hashes["engine"], hashes
