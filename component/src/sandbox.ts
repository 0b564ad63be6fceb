/**
 * The sandbox document: an `<iframe sandbox="allow-scripts" srcdoc=...>` with an opaque
 * origin, a hash-only CSP and `connect-src 'none'`. It shows the file picker and owns the
 * engine's Worker. Picked Files go to the Worker unread; only validated results leave for
 * the host. File names are shown here and nowhere else: no message to the host carries one.
 */
import {
  MAX_MESSAGE_BYTES, PROTOCOL_VERSION, type BatchItem, type EngineErrorInfo, type HostToSandbox, type RunRequest, type SandboxToHost,
  type SandboxToWorker, type UiSettings, cleanBatchItem, cleanResult, publicError, parseHostToSandbox, parseWorkerToSandbox, wantsFile, withinBound,
} from "./protocol";
import { DropCounter } from "./drops";
import { applyTheme } from "./theme";
import {
  type Preview, clearResultView, describeBatchReceipt, plural, showOutcome, showReceipt, showResult, summarize,
} from "./result_view";

// WebRTC is the one way out that CSP does not govern: ICE sends STUN/TURN packets to any
// host, whatever connect-src says. Nothing here needs it, so this document drops it before
// anything else runs. A child frame cannot hand it back: it gets an opaque origin of its own.
for (const name of ["RTCPeerConnection", "webkitRTCPeerConnection"]) Reflect.deleteProperty(window, name);

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const statusEl = byId("status");
const downloadEl = byId<HTMLProgressElement>("download");
const pickEl = byId("pick");
const fileEl = byId<HTMLInputElement>("file");
const dropEl = byId("drop");
const pickLabelEl = byId("pick-label");
const dropHintEl = byId("drop-hint");
const helpEl = byId("help");
const batchEl = byId("batch");
const batchTextEl = byId("batch-text");
const batchProgressEl = byId<HTMLProgressElement>("batch-progress");
const batchListEl = byId("batch-list");
const clearEl = byId<HTMLButtonElement>("clear");

// The origin the host's boot message came from. Until then only the data-less hello is
// sent, to '*', since nothing else is known about the parent yet; after it, the parent
// must keep that origin (a host frame navigated elsewhere is no longer our host).
let hostOrigin: string | null = null;
const drops = new DropCounter("sandbox");
let engineJs: string | null = null;
let engineModule: WebAssembly.Module | null = null;
// The newest model bytes from the host; kept to reload them under new limits or into a
// restarted Worker.
let model: { bytes: ArrayBuffer; sha256: string } | null = null;
type Limits = Record<string, number> | null;
let config: {
  runId: number; modelSha256: string; request: RunRequest; limits: Limits; timeoutMs: number; maxFiles: number | null;
} | null = null;
let ui: UiSettings = { label: "Choose a file", help: null, disabled: false, height: null };
let worker: Worker | null = null;
let workerUrl: string | null = null;
let workerReady = false;
// What the Worker holds: a model under a set of limits (the engine binds limits at load), by
// `engineKey`, and whether its `loaded` came back.
let engineLoad: { loadId: number; key: string; ready: boolean } | null = null;
let lastLoadId = 0;
const engineKey = (sha256: string, limits: Limits) => JSON.stringify([sha256, limits]);
/**
 * The person's pick, kept like a widget's value: every new configuration (request, model or
 * limits changed on a rerun) runs it again, until the person clears it or picks anew. A pick
 * made before the first configuration waits here for it.
 */
let picked: File[] | null = null;

/**
 * One run of a request: a tensor request (one `null` input), one picked file, or a batch of
 * files run one after another. It keeps the request it started with, so a rerun that
 * reconfigures the sandbox mid-batch cannot mix two requests into one answer.
 */
interface Job {
  runId: number;
  modelSha256: string;
  request: RunRequest;
  limits: Limits;
  timeoutMs: number;
  batch: boolean;
  inputs: (File | null)[];
  items: BatchItem[];
  /** The Worker run in flight (ids are the sandbox's own, one per file). */
  pending: { id: number; timer: number | undefined } | null;
  preview: Preview | null;
}
let job: Job | null = null;
let lastWorkerRun = 0;

type Stage = "engine" | "download" | "model" | "ready" | "waiting" | "running" | "done" | "error";

function toHost(message: SandboxToHost): void {
  window.parent.postMessage(message, hostOrigin ?? "*");
}

function toWorker(message: SandboxToWorker): void {
  worker?.postMessage(message);
}

/** `data-kind` (busy, ready, error) drives the look; `data-stage` names the step. */
function setStatus(text: string, stage: Stage): void {
  statusEl.textContent = text;
  statusEl.dataset.stage = stage;
  statusEl.dataset.kind = stage === "ready" || stage === "done" ? "ready" : stage === "error" ? "error" : "busy";
  downloadEl.hidden = stage !== "download";
}

function reportHeight(): void {
  if (hostOrigin) toHost({ v: PROTOCOL_VERSION, type: "resize", height: Math.ceil(document.body.getBoundingClientRect().height) });
}

const running = () => job !== null && job.items.length < job.inputs.length;

function fail(runId: number | null, error: EngineErrorInfo): void {
  showOutcome(`Error (${error.code}): ${error.detail ?? error.message}`, "error");
  clearResultView();
  setStatus("Failed", "error");
  toHost({ v: PROTOCOL_VERSION, type: "error", runId, error: publicError(error) });
}

/** The picker's label, help, hints and whether it can be used now. */
function updatePicker(): void {
  pickEl.hidden = !config || !wantsFile(config.request);
  const batch = config?.maxFiles ?? null;
  fileEl.multiple = batch !== null;
  // Not disabled while a job runs: that would throw a keyboard user's focus out of the picker.
  // A new pick replaces the running job instead (its answer would be stale anyway).
  fileEl.disabled = ui.disabled;
  pickEl.toggleAttribute("data-disabled", fileEl.disabled);
  pickLabelEl.textContent = ui.label;
  helpEl.textContent = ui.help ?? "";
  helpEl.hidden = ui.help === null;
  fileEl.setAttribute("aria-describedby", ui.help === null ? "drop-hint" : "help drop-hint");
  clearEl.hidden = picked === null;
  clearEl.disabled = ui.disabled;
  clearEl.textContent = picked !== null && picked.length > 1 ? "Clear files" : "Clear file";
  dropHintEl.textContent = ui.disabled
    ? "Unavailable right now."
    : batch !== null
      ? `Drop up to ${plural(batch, "file")} here, or press Enter to browse. Files stay in this browser.`
      : "Drop a file here, or press Enter to browse. It stays in this browser.";
}

function readyText(): string {
  if (!config || !wantsFile(config.request)) return "Ready";
  if (ui.disabled) return "Ready. Choosing files is turned off for now.";
  return config.maxFiles !== null ? "Ready: choose files. They are processed only in this browser." :
    "Ready: choose a file. It is processed only in this browser.";
}

function startWorker(): void {
  if (!engineJs || !engineModule) return;
  // The blob: URL lives as long as its Worker, and is revoked only when the Worker is ended.
  // WebKit ties a Worker's reads of posted Files to its script's URL: revoked right after
  // `new Worker(url)`, every `file.arrayBuffer()` in the Worker fails with NotReadableError
  // ("The I/O read operation failed"), though the Worker itself starts and runs (measured in
  // WebKitGTK 2.50; Chromium and Firefox do not care).
  if (workerUrl) URL.revokeObjectURL(workerUrl);
  workerUrl = URL.createObjectURL(new Blob([engineJs], { type: "text/javascript" }));
  worker = new Worker(workerUrl);
  workerReady = false;
  engineLoad = null;
  worker.onmessage = (event) => {
    if (event.target !== worker) return;
    onWorkerMessage(event.data);
  };
  worker.onerror = (event) => {
    const error: EngineErrorInfo = { code: "worker_failed", message: event.message || "the engine worker failed" };
    if (job?.pending) complete({ status: "error", error });
    else fail(null, error);
  };
  toWorker({ v: PROTOCOL_VERSION, type: "init", module: engineModule });
}

/**
 * Has the Worker load the configured model under the configured limits, unless it holds (or is
 * loading) exactly that. Until the request's model has arrived, the one loaded stays.
 */
function syncModel(): void {
  if (!workerReady || !model || !config || config.modelSha256 !== model.sha256) return;
  const key = engineKey(model.sha256, config.limits);
  if (engineLoad?.key === key) return;
  engineLoad = { loadId: ++lastLoadId, key, ready: false };
  setStatus("Loading the model…", "model");
  // A copy, not a transfer: the sandbox keeps the bytes to reload them.
  toWorker({
    v: PROTOCOL_VERSION, type: "load", loadId: engineLoad.loadId, bytes: model.bytes.slice(0), sha256: model.sha256, limits: config.limits,
  });
}

/** Files the person picked or dropped: kept, and run as soon as there is a request for them. */
function pick(files: File[]): void {
  if (files.length === 0 || fileEl.disabled) return;
  picked = files;
  updatePicker();
  if (!config) {
    setStatus(`Your ${files.length > 1 ? "files" : "file"} will run as soon as the model is ready…`, "waiting");
    return;
  }
  runPicked();
}

/** Runs the kept pick under the current configuration: one job, or a clear error when there are too many. */
function runPicked(): void {
  if (!config || !picked || !wantsFile(config.request)) return;
  const max = config.maxFiles ?? 1;
  if (picked.length > max) {
    const count = picked.length;
    picked = null;
    updatePicker();
    fail(config.runId, {
      code: "too_many_files",
      message: config.maxFiles !== null
        ? `${count} files were chosen, but at most ${max} can run at once; choose fewer. Nothing was run.`
        : `${count} files were chosen, but this takes one file at a time; choose one. Nothing was run.`,
    });
    return;
  }
  startJob(picked);
}

/** Forgets the pick (the Clear button): the running job is dropped and Python gets no value. */
function clearPick(): void {
  if (picked === null) return;
  picked = null;
  if (job?.pending) clearTimeout(job.pending.timer);
  job = null;
  showOutcome("", "ok");
  clearResultView();
  batchEl.hidden = true;
  batchListEl.hidden = true;
  batchListEl.replaceChildren();
  updatePicker();
  if (engineLoad?.ready) setStatus(readyText(), "ready");
  if (config) toHost({ v: PROTOCOL_VERSION, type: "cleared", runId: config.runId });
  fileEl.focus();
}

function startJob(inputs: (File | null)[]): void {
  if (!config) return;
  if (job?.pending) clearTimeout(job.pending.timer);
  const batch = config.maxFiles !== null && inputs[0] !== null;
  job = {
    runId: config.runId, modelSha256: config.modelSha256, request: config.request, limits: config.limits, timeoutMs: config.timeoutMs,
    batch, inputs, items: [], pending: null, preview: null,
  };
  showOutcome("", "ok");
  clearResultView();
  batchEl.hidden = !batch;
  batchListEl.hidden = !batch;
  if (batch) {
    // The names are listed here, for the person; they never go into a message.
    batchListEl.replaceChildren(...inputs.map((file) => {
      const item = document.createElement("li");
      item.textContent = file?.name ?? "";
      item.dataset.kind = "waiting";
      return item;
    }));
    showBatchProgress(0, inputs.length);
  }
  updatePicker();
  pump();
}

function showBatchProgress(done: number, total: number): void {
  batchProgressEl.max = total;
  batchProgressEl.value = done;
  const text = done < total ? `File ${done + 1} of ${total}` : `${total} of ${total} files done`;
  batchTextEl.textContent = text;
  batchProgressEl.setAttribute("aria-valuetext", `${done} of ${total} files done`);
}

/** Runs the job's next input as soon as the Worker has the job's model. */
function pump(): void {
  if (!job || job.pending || !running()) return;
  const index = job.items.length;
  const file = job.inputs[index];
  if (!engineLoad?.ready || engineLoad.key !== engineKey(job.modelSha256, job.limits)) {
    if (file) setStatus(`Your ${job.batch ? "files" : "file"} will run as soon as the model is loaded…`, "waiting");
    return;
  }
  const id = ++lastWorkerRun;
  const timeoutMs = job.timeoutMs;
  const timer = timeoutMs > 0 ? window.setTimeout(() => onTimeout(id, timeoutMs), timeoutMs) : undefined;
  job.pending = { id, timer };
  job.preview = null;
  if (job.batch) {
    const total = job.inputs.length;
    setStatus(`Running file ${index + 1} of ${total} (files stay in this browser)…`, "running");
    showBatchProgress(index, total);
    (batchListEl.children[index] as HTMLElement).dataset.kind = "running";
  } else {
    setStatus(file ? "Running on your file (it stays in this browser)…" : "Running…", "running");
  }
  toWorker({ v: PROTOCOL_VERSION, type: "run", runId: id, request: job.request, file });
}

/** A run past its time limit: the only way to stop wasm mid-computation is to end its worker. */
function onTimeout(id: number, timeoutMs: number): void {
  if (job?.pending?.id !== id) return;
  worker?.terminate();
  worker = null;
  startWorker();
  complete({ status: "error", error: { code: "timeout", message: `inference did not finish within ${timeoutMs / 1000} s; the engine was stopped` } });
}

/** The pending input's outcome: shown, kept in order, then the next input or the answer. */
function complete(item: BatchItem): void {
  if (!job?.pending) return;
  clearTimeout(job.pending.timer);
  job.pending = null;
  const index = job.items.length;
  job.items.push(item);
  const prefix = job.batch ? `File ${index + 1}: ` : "";
  if (item.status === "ok") showResult(item, job.preview, prefix);
  else {
    // The person reads the full message here; the app gets only the file-free one.
    showOutcome(`${prefix}Error (${item.error.code}): ${item.error.detail ?? item.error.message}`, "error");
    clearResultView();
  }
  job.preview = null;
  if (job.batch) {
    const row = batchListEl.children[index] as HTMLElement;
    row.dataset.kind = item.status;
    row.append(item.status === "ok" ? ` · ${summarize(item)}` : ` · Error (${item.error.code})`);
    showBatchProgress(index + 1, job.inputs.length);
  }
  if (running()) return pump();
  const done = job;
  updatePicker();
  answer(done);
}

/** The host gets one message per job: a result, an error, or the batch in picking order. */
function answer(done: Job): void {
  if (!done.batch) {
    const item = done.items[0];
    if (item.status === "ok") {
      const message: SandboxToHost = { v: PROTOCOL_VERSION, type: "result", runId: done.runId, result: cleanResult(item) };
      // The host refuses messages over the bound: say so here and to the app, never drop it unseen.
      if (!withinBound(message)) {
        fail(done.runId, {
          code: "result_too_large",
          message: `this result exceeds the ${MAX_MESSAGE_BYTES >> 20} MiB a result may carry; send less of it ` +
            "(security_config.disclosure: outputs, top_k_only or max_output_elements)",
        });
        return;
      }
      setStatus("Done", "done");
      toHost(message);
    } else {
      setStatus("Failed", "error");
      toHost({ v: PROTOCOL_VERSION, type: "error", runId: done.runId, error: publicError(item.error) });
    }
    return;
  }
  const message: SandboxToHost = { v: PROTOCOL_VERSION, type: "batch", runId: done.runId, items: done.items.map(cleanBatchItem) };
  // The host refuses messages over the bound; an answer that large becomes an error, never a cut.
  if (!withinBound(message)) {
    fail(done.runId, {
      code: "result_too_large",
      message: `the results of these ${done.inputs.length} files exceed the ${MAX_MESSAGE_BYTES >> 20} MiB a result may carry; ` +
        "choose fewer files, or send less of each result (security_config.disclosure: top_k_only or max_output_elements)",
    });
    return;
  }
  const failed = done.items.filter((i) => i.status === "error").length;
  setStatus(`Done: ${plural(done.inputs.length, "file")}${failed ? `, ${failed} failed` : ""}`, "done");
  showReceipt(describeBatchReceipt(done.items));
  toHost(message);
}

function onWorkerMessage(data: unknown): void {
  const msg = parseWorkerToSandbox(data);
  if (!msg) return;
  switch (msg.type) {
    case "ready":
      workerReady = true;
      syncModel();
      break;
    case "loaded":
      if (engineLoad?.loadId !== msg.loadId) break; // a load superseded by newer limits or a newer model
      engineLoad.ready = true;
      if (!running()) setStatus(readyText(), "ready");
      pump();
      break;
    case "preview":
      if (job?.pending?.id === msg.runId) job.preview = { bitmap: msg.bitmap, width: msg.width, height: msg.height };
      else msg.bitmap.close();
      break;
    case "result":
      if (job?.pending?.id === msg.runId) complete(cleanResult(msg.result));
      break;
    case "error":
      if (msg.runId === null) fail(null, msg.error);
      else if (job?.pending?.id === msg.runId) complete({ status: "error", error: msg.error });
      break;
  }
}

function onHostMessage(msg: HostToSandbox, origin: string): void {
  switch (msg.type) {
    case "boot":
      hostOrigin = origin;
      engineJs = msg.engineJs;
      setStatus("Loading the engine…", "engine");
      reportHeight();
      WebAssembly.compile(msg.engineWasm).then(
        (module) => {
          engineModule = module;
          startWorker();
        },
        (e) => fail(null, { code: "engine_invalid", message: `the engine could not be compiled: ${e}` }),
      );
      break;
    case "progress": {
      // Before the boot the engine is still downloading too (the host counts both).
      const what = engineJs === null ? "the engine and the model" : "the model";
      downloadEl.max = Math.max(msg.total, msg.loaded, 1);
      downloadEl.value = msg.loaded;
      setStatus(`Downloading ${what}… ${Math.min(100, Math.floor((100 * msg.loaded) / Math.max(msg.total, 1)))}%`, "download");
      break;
    }
    case "model":
      model = { bytes: msg.bytes, sha256: msg.sha256 };
      syncModel();
      break;
    case "ui":
      ui = msg.ui;
      if (msg.theme) applyTheme(msg.theme);
      updatePicker();
      if (statusEl.dataset.stage === "ready") setStatus(readyText(), "ready");
      break;
    case "configure": {
      config = {
        runId: msg.runId, modelSha256: msg.modelSha256, request: msg.request, limits: msg.limits, timeoutMs: msg.timeoutMs,
        maxFiles: msg.batch?.maxFiles ?? null,
      };
      fileEl.accept = msg.accept.join(",");
      updatePicker();
      syncModel();
      if (!wantsFile(msg.request)) startJob([null]);
      // A new request, model or limits: the kept pick runs again, so Python's value follows the
      // app's request the way a widget's does.
      else if (picked) runPicked();
      else if (engineLoad?.ready && !running()) setStatus(readyText(), "ready");
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

clearEl.addEventListener("click", clearPick);

fileEl.addEventListener("change", () => {
  pick(Array.from(fileEl.files ?? []));
  // Cleared so the same file can be picked again, which re-runs it.
  fileEl.value = "";
});

// The drop zone is the picker's label: a click or Enter/Space on the focused input opens the
// browser's file dialog, a drop hands over the files directly.
dropEl.addEventListener("dragover", (event) => {
  event.preventDefault();
  if (event.dataTransfer) event.dataTransfer.dropEffect = fileEl.disabled ? "none" : "copy";
  if (!fileEl.disabled) dropEl.dataset.over = "";
});
dropEl.addEventListener("dragleave", () => delete dropEl.dataset.over);
dropEl.addEventListener("drop", (event) => {
  event.preventDefault();
  delete dropEl.dataset.over;
  pick(Array.from(event.dataTransfer?.files ?? []));
});
// A file dropped beside the zone must not make the frame try to open it.
for (const type of ["dragover", "drop"]) window.addEventListener(type, (event) => event.preventDefault());

// Auto height: every change of the content's size is reported; the host applies it unless
// the app fixed the height.
new ResizeObserver(reportHeight).observe(document.body);

toHost({ v: PROTOCOL_VERSION, type: "hello" });
