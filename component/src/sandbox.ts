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
import { mark } from "./timeline";
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

const drops = new DropCounter("sandbox");
type Limits = Record<string, number> | null;
const engineKey = (sha256: string, limits: Limits) => JSON.stringify([sha256, limits]);

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
  /** The Worker run in flight: the sandbox's own id, one per file (`workerRunId`). */
  pending: { workerRunId: number; timer: number | undefined } | null;
  preview: Preview | null;
}

/** Everything the sandbox remembers between messages. */
interface SandboxState {
  // The origin the host's boot message came from. Until then only the data-less hello is
  // sent, to '*', since nothing else is known about the parent yet; after it, the parent
  // must keep that origin (a host frame navigated elsewhere is no longer our host).
  hostOrigin: string | null;
  engineJs: string | null;
  engineModule: WebAssembly.Module | null;
  // The newest model bytes from the host; kept to reload them under new limits or into a
  // restarted Worker.
  model: { bytes: ArrayBuffer; sha256: string } | null;
  config: {
    runId: number; modelSha256: string; request: RunRequest; limits: Limits; timeoutMs: number; maxFiles: number | null;
  } | null;
  ui: UiSettings;
  worker: Worker | null;
  workerUrl: string | null;
  workerReady: boolean;
  // What the Worker holds: a model under a set of limits (the engine binds limits at load), by
  // `engineKey`, and whether its `loaded` came back.
  engineLoad: { loadId: number; key: string; ready: boolean } | null;
  lastLoadId: number;
  // The person's pick, kept like a widget's value: every new configuration (request, model or
  // limits changed on a rerun) runs it again, until the person clears it or picks anew. A pick
  // made before the first configuration waits here for it.
  picked: File[] | null;
  job: Job | null;
  lastWorkerRunId: number;
}

const state: SandboxState = {
  hostOrigin: null, engineJs: null, engineModule: null, model: null, config: null,
  ui: { label: "Choose a file", help: null, disabled: false, height: null }, worker: null, workerUrl: null,
  workerReady: false, engineLoad: null, lastLoadId: 0, picked: null, job: null, lastWorkerRunId: 0,
};

type Stage = "engine" | "download" | "model" | "ready" | "waiting" | "running" | "done" | "error";

function toHost(message: SandboxToHost): void {
  window.parent.postMessage(message, state.hostOrigin ?? "*");
}

function toWorker(message: SandboxToWorker): void {
  state.worker?.postMessage(message);
}

/** `data-kind` (busy, ready, error) drives the look; `data-stage` names the step. */
function setStatus(text: string, stage: Stage): void {
  statusEl.textContent = text;
  statusEl.dataset.stage = stage;
  statusEl.dataset.kind = stage === "ready" || stage === "done" ? "ready" : stage === "error" ? "error" : "busy";
  downloadEl.hidden = stage !== "download";
}

function reportHeight(): void {
  if (state.hostOrigin) toHost({ v: PROTOCOL_VERSION, type: "resize", height: Math.ceil(document.body.getBoundingClientRect().height) });
}

const running = () => state.job !== null && state.job.items.length < state.job.inputs.length;

function fail(runId: number | null, error: EngineErrorInfo): void {
  showOutcome(`Error (${error.code}): ${error.detail ?? error.message}`, "error");
  clearResultView();
  setStatus("Failed", "error");
  toHost({ v: PROTOCOL_VERSION, type: "error", runId, error: publicError(error) });
}

/** The picker's label, help, hints and whether it can be used now. */
function updatePicker(): void {
  pickEl.hidden = !state.config || !wantsFile(state.config.request);
  const batch = state.config?.maxFiles ?? null;
  fileEl.multiple = batch !== null;
  // Not disabled while a job runs: that would throw a keyboard user's focus out of the picker.
  // A new pick replaces the running job instead (its answer would be stale anyway).
  fileEl.disabled = state.ui.disabled;
  pickEl.toggleAttribute("data-disabled", fileEl.disabled);
  pickLabelEl.textContent = state.ui.label;
  helpEl.textContent = state.ui.help ?? "";
  helpEl.hidden = state.ui.help === null;
  fileEl.setAttribute("aria-describedby", state.ui.help === null ? "drop-hint" : "help drop-hint");
  clearEl.hidden = state.picked === null;
  clearEl.disabled = state.ui.disabled;
  clearEl.textContent = state.picked !== null && state.picked.length > 1 ? "Clear files" : "Clear file";
  dropHintEl.textContent = state.ui.disabled
    ? "Unavailable right now."
    : batch !== null
      ? `Drop up to ${plural(batch, "file")} here, or press Enter to browse. Files stay in this browser.`
      : "Drop a file here, or press Enter to browse. It stays in this browser.";
}

function readyText(): string {
  if (!state.config || !wantsFile(state.config.request)) return "Ready";
  if (state.ui.disabled) return "Ready. Choosing files is turned off for now.";
  return state.config.maxFiles !== null ? "Ready: choose files. They are processed only in this browser." :
    "Ready: choose a file. It is processed only in this browser.";
}

function startWorker(): void {
  if (!state.engineJs || !state.engineModule) return;
  // The blob: URL lives as long as its Worker, and is revoked only when the Worker is ended.
  // WebKit ties a Worker's reads of posted Files to its script's URL: revoked right after
  // `new Worker(url)`, every `file.arrayBuffer()` in the Worker fails with NotReadableError
  // ("The I/O read operation failed"), though the Worker itself starts and runs (measured in
  // WebKitGTK 2.50; Chromium and Firefox do not care).
  if (state.workerUrl) URL.revokeObjectURL(state.workerUrl);
  state.workerUrl = URL.createObjectURL(new Blob([state.engineJs], { type: "text/javascript" }));
  state.worker = new Worker(state.workerUrl);
  state.workerReady = false;
  state.engineLoad = null;
  state.worker.onmessage = (event) => {
    if (event.target !== state.worker) return;
    onWorkerMessage(event.data);
  };
  state.worker.onerror = (event) => {
    const error: EngineErrorInfo = { code: "worker_failed", message: event.message || "the engine worker failed" };
    if (state.job?.pending) complete({ status: "error", error });
    else fail(null, error);
  };
  toWorker({ v: PROTOCOL_VERSION, type: "init", module: state.engineModule });
}

/**
 * Has the Worker load the configured model under the configured limits, unless it holds (or is
 * loading) exactly that. Until the request's model has arrived, the one loaded stays.
 */
function syncModel(): void {
  if (!state.workerReady || !state.model || !state.config || state.config.modelSha256 !== state.model.sha256) return;
  const key = engineKey(state.model.sha256, state.config.limits);
  if (state.engineLoad?.key === key) return;
  state.engineLoad = { loadId: ++state.lastLoadId, key, ready: false };
  setStatus("Loading the model…", "model");
  // A copy, not a transfer: the sandbox keeps the bytes to reload them.
  toWorker({
    v: PROTOCOL_VERSION, type: "load", loadId: state.engineLoad.loadId, bytes: state.model.bytes.slice(0), sha256: state.model.sha256, limits: state.config.limits,
  });
}

/** Files the person picked or dropped: kept, and run as soon as there is a request for them. */
function pick(files: File[]): void {
  if (files.length === 0 || fileEl.disabled) return;
  state.picked = files;
  updatePicker();
  if (!state.config) {
    setStatus(`Your ${files.length > 1 ? "files" : "file"} will run as soon as the model is ready…`, "waiting");
    return;
  }
  runPicked();
}

/** Runs the kept pick under the current configuration: one job, or a clear error when there are too many. */
function runPicked(): void {
  if (!state.config || !state.picked || !wantsFile(state.config.request)) return;
  const max = state.config.maxFiles ?? 1;
  if (state.picked.length > max) {
    const count = state.picked.length;
    state.picked = null;
    updatePicker();
    fail(state.config.runId, {
      code: "too_many_files",
      message: state.config.maxFiles !== null
        ? `${count} files were chosen, but at most ${max} can run at once; choose fewer. Nothing was run.`
        : `${count} files were chosen, but this takes one file at a time; choose one. Nothing was run.`,
    });
    return;
  }
  startJob(state.picked);
}

/** Forgets the pick (the Clear button): the running job is dropped and Python gets no value. */
function clearPick(): void {
  if (state.picked === null) return;
  state.picked = null;
  if (state.job?.pending) clearTimeout(state.job.pending.timer);
  state.job = null;
  showOutcome("", "ok");
  clearResultView();
  batchEl.hidden = true;
  batchListEl.hidden = true;
  batchListEl.replaceChildren();
  updatePicker();
  if (state.engineLoad?.ready) setStatus(readyText(), "ready");
  if (state.config) toHost({ v: PROTOCOL_VERSION, type: "cleared", runId: state.config.runId });
  fileEl.focus();
}

function startJob(inputs: (File | null)[]): void {
  if (!state.config) return;
  if (state.job?.pending) clearTimeout(state.job.pending.timer);
  const batch = state.config.maxFiles !== null && inputs[0] !== null;
  state.job = {
    runId: state.config.runId, modelSha256: state.config.modelSha256, request: state.config.request, limits: state.config.limits, timeoutMs: state.config.timeoutMs,
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
  if (!state.job || state.job.pending || !running()) return;
  const index = state.job.items.length;
  const file = state.job.inputs[index];
  if (!state.engineLoad?.ready || state.engineLoad.key !== engineKey(state.job.modelSha256, state.job.limits)) {
    if (file) setStatus(`Your ${state.job.batch ? "files" : "file"} will run as soon as the model is loaded…`, "waiting");
    return;
  }
  const id = ++state.lastWorkerRunId;
  const timeoutMs = state.job.timeoutMs;
  const timer = timeoutMs > 0 ? window.setTimeout(() => onTimeout(id, timeoutMs), timeoutMs) : undefined;
  state.job.pending = { workerRunId: id, timer };
  state.job.preview = null;
  if (state.job.batch) {
    const total = state.job.inputs.length;
    setStatus(`Running file ${index + 1} of ${total} (files stay in this browser)…`, "running");
    showBatchProgress(index, total);
    (batchListEl.children[index] as HTMLElement).dataset.kind = "running";
  } else {
    setStatus(file ? "Running on your file (it stays in this browser)…" : "Running…", "running");
  }
  toWorker({ v: PROTOCOL_VERSION, type: "run", workerRunId: id, request: state.job.request, file });
}

/** Ends the Worker and starts a new one, which loads the configured model again when ready. */
function restartWorker(): void {
  state.worker?.terminate();
  state.worker = null;
  startWorker();
}

/** A run past its time limit: the only way to stop wasm mid-computation is to end its worker. */
function onTimeout(id: number, timeoutMs: number): void {
  if (state.job?.pending?.workerRunId !== id) return;
  restartWorker();
  complete({ status: "error", error: { code: "timeout", message: `inference did not finish within ${timeoutMs / 1000} s; the engine was stopped` } });
}

/** The pending input's outcome: shown, kept in order, then the next input or the answer. */
function complete(item: BatchItem): void {
  if (!state.job?.pending) return;
  clearTimeout(state.job.pending.timer);
  state.job.pending = null;
  const index = state.job.items.length;
  state.job.items.push(item);
  const prefix = state.job.batch ? `File ${index + 1}: ` : "";
  if (item.status === "ok") showResult(item, state.job.preview, prefix);
  else {
    // The person reads the full message here; the app gets only the file-free one.
    showOutcome(`${prefix}Error (${item.error.code}): ${item.error.detail ?? item.error.message}`, "error");
    clearResultView();
  }
  state.job.preview = null;
  if (state.job.batch) {
    const row = batchListEl.children[index] as HTMLElement;
    row.dataset.kind = item.status;
    row.append(item.status === "ok" ? ` · ${summarize(item)}` : ` · Error (${item.error.code})`);
    showBatchProgress(index + 1, state.job.inputs.length);
  }
  if (running()) return pump();
  const done = state.job;
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
      mark("worker-ready");
      state.workerReady = true;
      syncModel();
      break;
    case "loaded":
      if (state.engineLoad?.loadId !== msg.loadId) break; // a load superseded by newer limits or a newer model
      mark("model-loaded");
      state.engineLoad.ready = true;
      if (!running()) setStatus(readyText(), "ready");
      pump();
      break;
    case "preview":
      if (state.job?.pending?.workerRunId === msg.workerRunId) state.job.preview = { bitmap: msg.bitmap, width: msg.width, height: msg.height };
      else msg.bitmap.close();
      break;
    case "result":
      mark("worker-result");
      if (state.job?.pending?.workerRunId === msg.workerRunId) complete(cleanResult(msg.result));
      break;
    case "error":
      // A trap before `ready` (the engine's start) would trap again in a new Worker.
      if (msg.trapped && state.workerReady) {
        // The trapped engine is replaced before anything else is sent to it. A model whose
        // load trapped is not loaded again by itself: the failed load stays on record.
        const failedLoad = msg.workerRunId === null ? state.engineLoad : null;
        restartWorker();
        state.engineLoad = failedLoad;
      }
      if (msg.workerRunId === null) fail(null, msg.error);
      else if (state.job?.pending?.workerRunId === msg.workerRunId) complete({ status: "error", error: msg.error });
      break;
  }
}

function onHostMessage(msg: HostToSandbox, origin: string): void {
  switch (msg.type) {
    case "boot":
      state.hostOrigin = origin;
      state.engineJs = msg.engineJs;
      setStatus("Loading the engine…", "engine");
      reportHeight();
      mark("boot");
      WebAssembly.compile(msg.engineWasm).then(
        (module) => {
          mark("compiled");
          state.engineModule = module;
          startWorker();
        },
        (e) => fail(null, { code: "engine_invalid", message: `the engine could not be compiled: ${e}` }),
      );
      break;
    case "progress": {
      // Before the boot the engine is still downloading too (the host counts both).
      const what = state.engineJs === null ? "the engine and the model" : "the model";
      downloadEl.max = Math.max(msg.total, msg.loaded, 1);
      downloadEl.value = msg.loaded;
      setStatus(`Downloading ${what}… ${Math.min(100, Math.floor((100 * msg.loaded) / Math.max(msg.total, 1)))}%`, "download");
      break;
    }
    case "model":
      mark("model-received");
      state.model = { bytes: msg.bytes, sha256: msg.sha256 };
      syncModel();
      break;
    case "ui":
      state.ui = msg.ui;
      if (msg.theme) applyTheme(msg.theme);
      updatePicker();
      if (statusEl.dataset.stage === "ready") setStatus(readyText(), "ready");
      break;
    case "configure": {
      state.config = {
        runId: msg.runId, modelSha256: msg.modelSha256, request: msg.request, limits: msg.limits, timeoutMs: msg.timeoutMs,
        maxFiles: msg.batch?.maxFiles ?? null,
      };
      fileEl.accept = msg.accept.join(",");
      updatePicker();
      syncModel();
      if (!wantsFile(msg.request)) startJob([null]);
      // A new request, model or limits: the kept pick runs again, so Python's value follows the
      // app's request the way a widget's does.
      else if (state.picked) runPicked();
      else if (state.engineLoad?.ready && !running()) setStatus(readyText(), "ready");
      break;
    }
  }
}

window.addEventListener("message", (event) => {
  // Only the host frame may command the sandbox.
  if (event.source !== window.parent || (state.hostOrigin !== null && event.origin !== state.hostOrigin)) return drops.drop("foreign");
  if (!withinBound(event.data)) return drops.drop("oversized");
  const msg = parseHostToSandbox(event.data);
  // The boot must name the origin it comes from, and the engine boots once per sandbox.
  if (!msg || (msg.type === "boot" && msg.hostOrigin !== event.origin)) return drops.drop("malformed");
  if (msg.type === "boot" && state.engineJs !== null) return drops.drop("unexpected");
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
