// The page side, driven by bench/run.py through Playwright. Our engine and onnxruntime-web run
// in two Workers at once, one run each in turn, so that both see the same load on a shared
// machine; each model gets fresh Workers.
function call(worker, message) {
  return new Promise((resolve, reject) => {
    worker.onmessage = (event) => (event.data.ok ? resolve(event.data.result) : reject(new Error(event.data.error)));
    worker.onerror = (event) => reject(new Error(event.message));
    worker.postMessage(message);
  });
}

window.benchPair = async ({ model, warmup, runs }) => {
  const ours = new Worker("ours_worker.js");
  const ort = new Worker("ort_worker.js");
  try {
    const oursLoad = await call(ours, { cmd: "load", model });
    const ortLoad = await call(ort, { cmd: "load", model });
    const o = { wall: [], inference: [] };
    const r = { wall: [] };
    for (let i = 0; i < warmup + runs; i++) {
      const a = await call(ours, { cmd: "run" });
      const b = await call(ort, { cmd: "run" });
      if (i < warmup) continue;
      o.wall.push(a.wall);
      o.inference.push(a.inference);
      r.wall.push(b.wall);
    }
    return {
      ours: { ...oursLoad, ...(await call(ours, { cmd: "finish" })), wall_ms: o.wall, inference_ms: o.inference },
      ort: { ...ortLoad, ...(await call(ort, { cmd: "finish" })), wall_ms: r.wall },
    };
  } finally {
    ours.terminate();
    ort.terminate();
  }
};
document.getElementById("status").textContent = "ready";
