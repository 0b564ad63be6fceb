// The page side: one fresh Worker per (engine, model), driven by bench/run.py through Playwright.
window.benchInWorker = (script, job) =>
  new Promise((resolve, reject) => {
    const worker = new Worker(script);
    worker.onmessage = (event) => {
      worker.terminate();
      event.data.ok ? resolve(event.data.result) : reject(new Error(event.data.error));
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error(`${script}: ${event.message}`));
    };
    worker.postMessage(job);
  });
document.getElementById("status").textContent = "ready";
