// onnxruntime-web, wasm backend, one thread, SIMD (its only wasm build), served from this page.
importScripts("common.js");
importScripts("ort/ort.wasm.min.js");
ort.env.wasm.wasmPaths = new URL("ort/", self.location.href).href;
ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;

let state = null;

handle({
  async load({ model }) {
    const bytes = await fetchBytes(`models/${model.model}`);
    const input = typedInput(await fetchBytes(`models/${model.input_bin}`), model.dtype);
    // Includes ort's own wasm fetch, compile and instantiation: it does them on first use.
    let t = performance.now();
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
    const createMs = performance.now() - t;
    state = { session, feeds: { [model.input]: new ort.Tensor(model.dtype, input, model.shape) } };
    const first = await this.run();
    return { create_ms: createMs, first_run_ms: first.wall };
  },
  async run() {
    const start = performance.now();
    const outputs = await state.session.run(state.feeds);
    // Read the outputs, as our engine's result does, so both include the copy out.
    for (const o of Object.values(outputs)) void o.data.length;
    return { wall: performance.now() - start };
  },
  async finish() {
    await state.session.release();
    return { wasm_memory_bytes: wasmMemoryBytes() };
  },
});
