"""Where our engine spends its time in Chromium: a CPU profile (CDP `Profiler`) of one model.

    python bench/profile.py MODEL_NAME ENGINE_DIR [--runs N]

ENGINE_DIR holds an `engine.js` and `engine_bg.wasm` from wasm-bindgen run WITHOUT
`--remove-name-section`, so that wasm frames carry Rust function names:

    wasm-bindgen --target no-modules --no-typescript --out-dir ENGINE_DIR --out-name engine \
      "$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm/ssc_worker.wasm"
 The engine runs on the page's main thread here, because CDP profiles a page's
main thread directly; the kernels are the same code as in the Worker. Prints the functions
with the most self time and writes the full `.cpuprofile` (open it in Chrome DevTools).
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

PAGE_JS = """async ([model, runs]) => {
  const fetchBytes = async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer());
  await new Promise((ok, err) => { const s = document.createElement("script"); s.src = "engine-named/engine.js";
                                  s.onload = ok; s.onerror = err; document.head.appendChild(s); });
  await wasm_bindgen({ module_or_path: await WebAssembly.compile(await fetchBytes("engine-named/engine_bg.wasm")) });
  const engine = new wasm_bindgen.Engine(await fetchBytes(`models/${model.model}`), undefined, undefined, undefined);
  const bin = await fetchBytes(`models/${model.input_bin}`);
  const values = model.dtype === "int64" ? Float32Array.from(new BigInt64Array(bin.buffer), Number) : new Float32Array(bin.buffer);
  const request = { input: { kind: "tensor", name: model.input, shape: model.shape, data: [] } };
  // The receipt's content hash as the component's Worker passes it (the browser's SHA-256, from
  // 64 KiB on), computed once here: it runs outside wasm, so it is not what this profiles.
  const f64 = Float64Array.from(values, Number);
  const content = f64.byteLength >= 1 << 16 ? new Uint8Array(await crypto.subtle.digest("SHA-256", f64)) : undefined;
  for (let i = 0; i < 3; i++) engine.run(request, undefined, f64, content);  // plan built, code tiered up
  window.benchEngine = { engine, request, values: f64, content };
  return runs;
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("engine_dir", type=Path)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    models = bench.CACHE / "bench" / "models"
    entry = next(e for e in json.loads((models / "models.json").read_text()) if e["name"] == args.model)
    server, base = bench.serve(models)
    bench.Handler.mounts["/engine-named/"] = args.engine_dir
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=bench.CHROMIUM, args=bench.CHROMIUM_FLAGS, headless=True)
            page = browser.new_page()
            page.goto(base)
            page.evaluate(PAGE_JS, [entry, args.runs])
            cdp = page.context.new_cdp_session(page)
            cdp.send("Profiler.enable")
            cdp.send("Profiler.setSamplingInterval", {"interval": 200})
            cdp.send("Profiler.start")
            page.evaluate("""n => { const { engine, request, values, content } = window.benchEngine;
                                   for (let i = 0; i < n; i++) engine.run(request, undefined, values, content); }""", args.runs)
            profile = cdp.send("Profiler.stop")["profile"]
            browser.close()
    finally:
        server.shutdown()

    out = bench.CACHE / "bench" / f"{args.model}.cpuprofile"
    out.write_text(json.dumps(profile))
    nodes = {n["id"]: n for n in profile["nodes"]}
    deltas = profile["timeDeltas"]
    self_us: collections.Counter = collections.Counter()
    for sample, delta in zip(profile["samples"], deltas[1:] + [0]):
        self_us[nodes[sample]["callFrame"]["functionName"] or "(anonymous)"] += delta
    total = sum(self_us.values())
    print(f"{args.model}: {args.runs} runs, {total / 1000:.0f} ms sampled; self time by function:")
    for name, us in self_us.most_common(args.top):
        print(f"{100 * us / total:6.1f}%  {us / 1000 / args.runs:8.2f} ms/run  {name[:110]}")
    print(f"profile: {out}")


if __name__ == "__main__":
    main()
