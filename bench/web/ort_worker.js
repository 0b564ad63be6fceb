// onnxruntime-web, wasm backend, one thread, SIMD (its only wasm build), served from this page.
importScripts("common.js");
importScripts("ort/ort.wasm.min.js");
ort.env.wasm.wasmPaths = new URL("ort/", self.location.href).href;
ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;

reportErrors(async ({ model, warmup, runs }) => {
  const bytes = await fetchBytes(`models/${model.model}`);
  const input = typedInput(await fetchBytes(`models/${model.input_bin}`), model.dtype);

  // Includes ort's own wasm fetch, compile and instantiation: it does them on first use.
  let t = performance.now();
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  const createMs = performance.now() - t;

  const feeds = { [model.input]: new ort.Tensor(model.dtype, input, model.shape) };
  const once = async () => {
    const start = performance.now();
    const outputs = await session.run(feeds);
    // Read the outputs, as our engine's result does, so both include the copy out.
    for (const o of Object.values(outputs)) void o.data.length;
    return { wall: performance.now() - start };
  };
  t = performance.now();
  await once();
  const firstRunMs = performance.now() - t;
  const times = await timeRuns(once, warmup, runs);
  await session.release();
  return { create_ms: createMs, first_run_ms: firstRunMs, wall_ms: times.wall, wasm_memory_bytes: wasmMemoryBytes() };
});
