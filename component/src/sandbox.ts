/**
 * The sandbox document: an `<iframe sandbox="allow-scripts" srcdoc=...>` with an opaque
 * origin, a hash-only CSP and `connect-src 'none'`. It shows the file picker and owns the
 * engine's Worker. The picked File goes to the Worker unread; only validated results
 * leave for the host.
 */
import {
  PROTOCOL_VERSION, type EngineErrorInfo, type HostToSandbox, type InferenceResult, type Receipt, type RunRequest, type SandboxToHost,
  type SandboxToWorker, cleanResult, parseHostToSandbox, parseWorkerToSandbox, wantsFile, withinBound,
} from "./protocol";
import { DropCounter } from "./drops";

// WebRTC is the one way out that CSP does not govern: ICE sends STUN/TURN packets to any
// host, whatever connect-src says. Nothing here needs it, so this document drops it before
// anything else runs. A child frame cannot hand it back: it gets an opaque origin of its own.
for (const name of ["RTCPeerConnection", "webkitRTCPeerConnection"]) Reflect.deleteProperty(window, name);

const statusEl = document.getElementById("status") as HTMLElement;
const pickEl = document.getElementById("pick") as HTMLElement;
const fileEl = document.getElementById("file") as HTMLInputElement;
const summaryEl = document.getElementById("summary") as HTMLElement;
const receiptEl = document.getElementById("receipt") as HTMLElement;

// The origin the host's boot message came from. Until then only the data-less hello is
// sent, to '*', since nothing else is known about the parent yet; after it, the parent
// must keep that origin (a host frame navigated elsewhere is no longer our host).
let hostOrigin: string | null = null;
const drops = new DropCounter("sandbox");
let engineJs: string | null = null;
let engineModule: WebAssembly.Module | null = null;
let model: { bytes: ArrayBuffer; sha256: string; limits: Record<string, number> | null } | null = null;
let config: { runId: number; modelSha256: string; request: RunRequest; timeoutMs: number } | null = null;
let worker: Worker | null = null;
let modelLoaded = false;
let pending: { runId: number; timer: number | undefined } | null = null;
// A file picked before the model finished loading runs as soon as it has.
let waitingFile: File | null = null;
// The configure whose tensor request already ran: a worker restarted after a timeout must
// not run the same request again by itself (it would time out again, forever).
let ranRunId: number | null = null;

function toHost(message: SandboxToHost): void {
  window.parent.postMessage(message, hostOrigin ?? "*");
}

function toWorker(message: SandboxToWorker): void {
  worker?.postMessage(message);
}

function setStatus(text: string, kind: "busy" | "ready" | "error" = "busy"): void {
  statusEl.textContent = text;
  statusEl.dataset.kind = kind;
  reportHeight();
}

function reportHeight(): void {
  if (hostOrigin) toHost({ v: PROTOCOL_VERSION, type: "resize", height: Math.ceil(document.documentElement.scrollHeight) });
}

/** The last outcome stays on screen until the next one; the status line shows the stage. */
function showOutcome(text: string, kind: "ok" | "error", receipt: string = ""): void {
  summaryEl.textContent = text;
  summaryEl.dataset.kind = kind;
  receiptEl.textContent = receipt;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * The person's one-line view of the receipt: what the server receives, and that their
 * file is not part of it. Every count comes from the receipt the engine wrote; a file is
 * never a field of a result, so what of it left is 0 bytes by construction.
 */
function describeReceipt(receipt: Receipt): string {
  const parts = receipt.sent.flatMap((f) => {
    if (f.field === "top_k") return [plural(f.elements, "score")];
    if (f.field === "outputs") return [`${plural(f.elements, "value")} of ${f.name}`];
    if (f.field === "postprocessed") return [plural(f.elements, "post-processing result")];
    if (f.field === "detections") return [plural(f.elements, "detection")];
    return [];
  });
  const bytes = receipt.sent.reduce((sum, f) => sum + f.bytes, 0);
  const sent = `Sent to server: ${parts.length ? parts.join(", ") : "timings only"} (${plural(bytes, "byte")})`;
  const input = receipt.input_kind === "file" ? "your file: 0 bytes" : "input: numbers the app supplied";
  const kept = receipt.withheld.length ? `; kept in this browser: ${receipt.withheld.map((w) => w.output).join(", ")}` : "";
  return `${sent}; ${input}${kept}`;
}

function fail(runId: number | null, error: EngineErrorInfo): void {
  showOutcome(`Error (${error.code}): ${error.message}`, "error");
  setStatus("Failed", "error");
  toHost({ v: PROTOCOL_VERSION, type: "error", runId, error });
}

function startWorker(): void {
  if (!engineJs || !engineModule) return;
  const url = URL.createObjectURL(new Blob([engineJs], { type: "text/javascript" }));
  worker = new Worker(url);
  URL.revokeObjectURL(url);
  modelLoaded = false;
  worker.onmessage = (event) => {
    if (event.target !== worker) return;
    onWorkerMessage(event.data);
  };
  worker.onerror = (event) => fail(pending?.runId ?? null, { code: "worker_failed", message: event.message || "the engine worker failed" });
  toWorker({ v: PROTOCOL_VERSION, type: "init", module: engineModule });
}

function loadModel(): void {
  if (!model || !worker) return;
  modelLoaded = false;
  setStatus("Loading model…");
  // A copy, not a transfer: the sandbox keeps the bytes to restart the worker after a timeout.
  toWorker({ v: PROTOCOL_VERSION, type: "load", bytes: model.bytes.slice(0), sha256: model.sha256, limits: model.limits });
}

function run(file: File | null): void {
  if (!config || !worker || !modelLoaded || model?.sha256 !== config.modelSha256) {
    if (file) {
      waitingFile = file;
      setStatus("Your file will run as soon as the model is loaded…");
    }
    return;
  }
  const { runId, request, timeoutMs } = config;
  ranRunId = runId;
  if (pending) clearTimeout(pending.timer);
  const timer = timeoutMs > 0 ? window.setTimeout(() => onTimeout(runId, timeoutMs), timeoutMs) : undefined;
  pending = { runId, timer };
  setStatus(file ? "Running on your file (it stays in this browser)…" : "Running…");
  toWorker({ v: PROTOCOL_VERSION, type: "run", runId, request, file });
}

/** A run past its time limit: the only way to stop wasm mid-computation is to end its worker. */
function onTimeout(runId: number, timeoutMs: number): void {
  worker?.terminate();
  worker = null;
  pending = null;
  fail(runId, { code: "timeout", message: `inference did not finish within ${timeoutMs / 1000} s; the engine was stopped` });
  startWorker();
}

function summarize(result: InferenceResult): string {
  const best = result.top_k?.find((t) => t.row === 0);
  const ms = result.timings_ms.inference?.toFixed(1);
  if (best) return `Top result: ${best.label ?? `class ${best.index}`} (${(best.score * 100).toFixed(1)}%) · ${ms} ms`;
  return `Done · ${Object.keys(result.outputs).length} output(s) · ${ms} ms`;
}

function onWorkerMessage(data: unknown): void {
  const msg = parseWorkerToSandbox(data);
  if (!msg) return;
  switch (msg.type) {
    case "ready":
      loadModel();
      break;
    case "loaded":
      modelLoaded = true;
      setStatus(config && wantsFile(config.request) ? "Ready: choose a file. It is processed only in this browser." : "Ready", "ready");
      if (config && !wantsFile(config.request)) {
        if (config.runId !== ranRunId) run(null);
      } else if (waitingFile) {
        const file = waitingFile;
        waitingFile = null;
        run(file);
      }
      break;
    case "result":
      if (pending?.runId !== msg.runId) return;
      clearTimeout(pending.timer);
      pending = null;
      showOutcome(summarize(msg.result), "ok", describeReceipt(msg.result.receipt));
      setStatus("Done", "ready");
      toHost({ v: PROTOCOL_VERSION, type: "result", runId: msg.runId, result: cleanResult(msg.result) });
      break;
    case "error":
      if (msg.runId !== null) {
        if (pending?.runId !== msg.runId) return;
        clearTimeout(pending.timer);
        pending = null;
      }
      fail(msg.runId, msg.error);
      break;
  }
}

function onHostMessage(msg: HostToSandbox, origin: string): void {
  switch (msg.type) {
    case "boot":
      hostOrigin = origin;
      engineJs = msg.engineJs;
      setStatus("Starting engine…");
      WebAssembly.compile(msg.engineWasm).then(
        (module) => {
          engineModule = module;
          startWorker();
        },
        (e) => fail(null, { code: "engine_invalid", message: `the engine could not be compiled: ${e}` }),
      );
      break;
    case "model":
      model = { bytes: msg.bytes, sha256: msg.sha256, limits: msg.limits };
      loadModel();
      break;
    case "configure": {
      config = { runId: msg.runId, modelSha256: msg.modelSha256, request: msg.request, timeoutMs: msg.timeoutMs };
      const needsFile = wantsFile(msg.request);
      pickEl.hidden = !needsFile;
      fileEl.accept = msg.accept.join(",");
      if (!needsFile) run(null);
      else if (waitingFile) {
        const file = waitingFile;
        waitingFile = null;
        run(file);
      }
      reportHeight();
      break;
    }
  }
}

window.addEventListener("message", (event) => {
  // Only the host frame may command the sandbox.
  if (event.source !== window.parent || (hostOrigin !== null && event.origin !== hostOrigin)) return drops.drop("foreign");
  if (!withinBound(event.data)) return drops.drop("oversized");
  const msg = parseHostToSandbox(event.data);
  // The engine boots once per sandbox, and the boot must name the origin it comes from.
  const bootOk = msg?.type !== "boot" || (engineJs === null && msg.hostOrigin === event.origin);
  if (!msg || !bootOk) return drops.drop("malformed");
  onHostMessage(msg, event.origin);
});

fileEl.addEventListener("change", () => {
  const file = fileEl.files?.[0] ?? null;
  if (file) run(file);
  // Clear the input so the same file can be picked again, which re-runs it.
  fileEl.value = "";
});

toHost({ v: PROTOCOL_VERSION, type: "hello" });
