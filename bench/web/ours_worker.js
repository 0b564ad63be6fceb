// Our engine in a plain dedicated Worker: the same engine.js/engine.wasm the component ships,
// without the sandbox frame and its messages, to expose what the pipeline adds.
importScripts("common.js");
// engine.js is wasm-bindgen's glue followed by the component's message loop; the loop's
// handler is replaced right after by handle().
importScripts("engine/engine.js");

let state = null;

handle({
  async load({ model }) {
    let t = performance.now();
    const module = await WebAssembly.compile(await fetchBytes("engine/engine.wasm"));
    const compileMs = performance.now() - t;
    t = performance.now();
    await wasm_bindgen({ module_or_path: module });
    const instantiateMs = performance.now() - t;

    const bytes = await fetchBytes(`models/${model.model}`);
    const input = typedInput(await fetchBytes(`models/${model.input_bin}`), model.dtype);
    // The protocol's tensor request carries plain numbers, as Python sends them; the component's
    // worker glue hands them to Rust apart, as one Float64Array (timed in run(), as there).
    const numbers = Array.from(input, Number);
    const request = { input: { kind: "tensor", name: model.input, shape: model.shape, data: [] } };

    // As the component's worker glue loads a model: the browser's SHA-256 of the bytes, the
    // engine, then the plan for the declared shapes (engine.prepare), timed apart.
    t = performance.now();
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    const sha256 = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    const engine = new wasm_bindgen.Engine(bytes, undefined, undefined, sha256);
    const loadMs = performance.now() - t;
    t = performance.now();
    engine.prepare();
    const prepareMs = performance.now() - t;
    state = { engine, request, numbers };
    const first = await this.run();
    return {
      compile_ms: compileMs, instantiate_ms: instantiateMs, load_ms: loadMs, engine_load_ms: engine.info().load_ms,
      prepare_ms: prepareMs, first_run_ms: first.wall, first_inference_ms: first.inference, first_plan_ms: first.plan,
    };
  },
  async run() {
    const start = performance.now();
    // As the component's worker glue runs a tensor request: the values apart, as one
    // Float64Array, and (from 64 KiB on) their SHA-256 by the browser for the receipt.
    const values = Float64Array.from(state.numbers);
    const content = values.byteLength >= 1 << 16 ? new Uint8Array(await crypto.subtle.digest("SHA-256", values)) : undefined;
    const result = state.engine.run(state.request, undefined, values, content);
    return { wall: performance.now() - start, inference: result.timings_ms.inference, plan: result.timings_ms.plan };
  },
  finish() {
    return { wasm_memory_bytes: wasmMemoryBytes() };
  },
});
