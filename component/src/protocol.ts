/**
 * The one message protocol between the three contexts:
 *
 *   host (Streamlit's component frame)  <->  sandbox (opaque-origin iframe)  <->  worker (engine)
 *
 * Every message carries `v: PROTOCOL_VERSION` and a `type`. Receivers parse with the
 * functions below and drop anything that does not match exactly; they also check
 * `event.source`, because origins say nothing here: the sandbox's origin is "null".
 */

import { MAX_UI_TEXT, PROTOCOL_VERSION, type AnyErrorCode, type InferenceResult as EngineResult, type RunRequest } from "./generated/schema";
import { conforms, copyAs } from "./schema_check";

// The result, request and error-code types are generated from the engine's schema.
export type { Detection, OutputTensor, Receipt, RunRequest, SentField, StepResult, TopK, Withheld } from "./generated/schema";
export { PROTOCOL_VERSION };

/**
 * The side, in CSS pixels, of the sandbox's square preview. It is fixed (sandbox.css): the
 * frame's height, which the host sees, must not depend on the picture's shape. The Worker
 * scales a `preview` to at most twice this (a 2x display), never more.
 */
export const PREVIEW_SIDE = 200;

type Obj = Record<string, unknown>;

export interface EngineErrorInfo {
  code: AnyErrorCode;
  /** What the app is told: under a file input, nothing of the file (`file_safe_message`). */
  message: string;
  /**
   * Worker -> sandbox only: the full message, where `message` had to leave the file out, for
   * the person to read in the sandbox. Never sent on to the host.
   */
  detail?: string;
}

/** A result as the engine computes it, with whether its Worker ran cross-origin isolated. */
export type InferenceResult = EngineResult & {
  /** `self.crossOriginIsolated` in the Worker that computed the result. */
  cross_origin_isolated: boolean;
};

/** One file's outcome in a batch: a complete result, or that file's error. */
export type BatchItem = InferenceResult | { status: "error"; error: EngineErrorInfo };

/** How the picker looks and behaves, from the app's `label`, `help`, `disabled`, `height`. */
export interface UiSettings {
  label: string;
  help: string | null;
  disabled: boolean;
  /** Pixels, or null: the frame grows with its content. */
  height: number | null;
}

/** The part of Streamlit's theme the sandbox applies (the `theme` of `streamlit:render`). */
export interface Theme {
  primaryColor: string;
  backgroundColor: string;
  secondaryBackgroundColor: string;
  textColor: string;
  font: string;
  base: "light" | "dark";
}

// host -> sandbox
export type HostToSandbox =
  | { v: 1; type: "boot"; hostOrigin: string; engineJs: string; engineWasm: ArrayBuffer }
  | { v: 1; type: "model"; bytes: ArrayBuffer; sha256: string }
  // `modelSha256` names the model the request is for: it may still be downloading, and must
  // not run on the model loaded before it. `limits` travel with the request, not the model:
  // an app may change them on a rerun without changing the model.
  // `batch` is set when the person may pick several files, each run with the same request.
  | { v: 1; type: "configure"; runId: number; modelSha256: string; request: RunRequest; limits: Record<string, number> | null;
      accept: string[]; timeoutMs: number; batch: { maxFiles: number } | null }
  | { v: 1; type: "ui"; ui: UiSettings; theme: Theme | null }
  // Bytes downloaded of what the host is fetching (the engine, the model): the only message
  // that may come before `boot`.
  | { v: 1; type: "progress"; loaded: number; total: number };

// sandbox -> host
export type SandboxToHost =
  | { v: 1; type: "hello" }
  | { v: 1; type: "resize"; height: number }
  | { v: 1; type: "result"; runId: number; result: InferenceResult }
  // Items in the order the files were picked; never their names.
  | { v: 1; type: "batch"; runId: number; items: BatchItem[] }
  | { v: 1; type: "error"; runId: number | null; error: EngineErrorInfo }
  // The person cleared the picked file(s): the answer to `runId` is no value at all.
  | { v: 1; type: "cleared"; runId: number };

// sandbox -> worker
export type SandboxToWorker =
  | { v: 1; type: "init"; module: WebAssembly.Module }
  // `loadId` pairs a `loaded` with its `load`: a model reloaded under new limits answers twice.
  | { v: 1; type: "load"; loadId: number; bytes: ArrayBuffer; sha256: string; limits: Record<string, number> | null }
  // `workerRunId` is the sandbox's own id of one run in the Worker (one per file of a batch),
  // not the host's `runId`, which names a whole request.
  | { v: 1; type: "run"; workerRunId: number; request: RunRequest; file: File | null };

// worker -> sandbox
export type WorkerToSandbox =
  | { v: 1; type: "ready" }
  | { v: 1; type: "loaded"; loadId: number; inputs: unknown[]; loadMs: number }
  | { v: 1; type: "result"; workerRunId: number; result: InferenceResult }
  // The picked image as decoded for display (EXIF orientation applied, as the engine does),
  // possibly scaled down; `width`/`height` are the decoded image's, which detection boxes use.
  | { v: 1; type: "preview"; workerRunId: number; bitmap: ImageBitmap; width: number; height: number }
  // `workerRunId` is null for an error of no run (the engine's start, a model's load).
  // `trapped`: the error was a WebAssembly trap (a panic under panic=abort, or memory that ran
  // out), which leaves the instance's heap and borrow flags mid-update; the Worker is done.
  | { v: 1; type: "error"; workerRunId: number | null; error: EngineErrorInfo; trapped: boolean };

// ---------------------------------------------------------------------------------------
// Size bound. Checked before any parsing, so that a flood of huge or cyclic messages costs
// a bounded walk, not a parse or a copy into a result.

/**
 * The most any message may carry in its structured part (keys, strings, numbers), as
 * `withinBound` estimates it: 2 bytes per string character, 8 per key, number or value.
 * Binary payloads (`ArrayBuffer`, `File`, `WebAssembly.Module`) are not counted: they are
 * only accepted in declared fields, and the engine bounds them (`limits.max_model_bytes`,
 * `limits.max_input_bytes`). 32 MiB holds a result of about four million numbers.
 */
export const MAX_MESSAGE_BYTES = 32 << 20;

/** False when `data` exceeds `budget` (cyclic data always does); stops as soon as it does. */
export function withinBound(data: unknown, budget: number = MAX_MESSAGE_BYTES): boolean {
  const stack: unknown[] = [data];
  let used = 0;
  while (stack.length > 0) {
    const x = stack.pop();
    used += 8;
    if (typeof x === "string") used += 2 * x.length;
    else if (typeof x === "object" && x !== null && !isBinary(x)) {
      // Checked before the walk, so a huge array is refused without visiting its items.
      if (Array.isArray(x) && used + 8 * x.length > budget) return false;
      if (ArrayBuffer.isView(x)) used += x.byteLength; // typed arrays are not part of the protocol
      else {
        for (const key in x) {
          used += 8 + 2 * key.length;
          if (used > budget) return false;
          stack.push((x as Obj)[key]);
        }
      }
    }
    if (used > budget) return false;
  }
  return true;
}

function isBinary(x: object): boolean {
  return x instanceof ArrayBuffer || x instanceof Blob || x instanceof WebAssembly.Module;
}

// ---------------------------------------------------------------------------------------
// Validation. Hand-written and strict: exact key sets, exact types.

const isObj = (x: unknown): x is Obj => typeof x === "object" && x !== null && !Array.isArray(x);
const isStr = (x: unknown): x is string => typeof x === "string";
const isNum = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);
const isInt = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const isSha = (x: unknown): x is string => isStr(x) && /^[0-9a-f]{64}$/.test(x);

/** True when `x` has exactly these keys (optional ones may be absent). */
function hasKeys(x: Obj, required: string[], optional: string[] = []): boolean {
  const keys = Object.keys(x);
  return required.every((k) => k in x) && keys.every((k) => required.includes(k) || optional.includes(k));
}

function envelope(data: unknown): Obj | null {
  return isObj(data) && data.v === PROTOCOL_VERSION && isStr(data.type) ? data : null;
}

const isLimits = (x: unknown) => x === null || conforms(x, "Limits", { maxString: 0 });
/** Whether the request waits for a file the person picks (alone, or among several inputs). */
export function wantsFile(request: RunRequest): boolean {
  const { input } = request;
  return input.kind === "file" ||
    (input.kind === "multiple" && Array.isArray(input.inputs) && input.inputs.some((i) => isObj(i) && i.kind === "file"));
}

/** The longest string a result or request may carry (an output's name, a label, a dtype). */
const MAX_NAME = 256;
/** The longest error message: an engine message can list many operators or inputs. */
const MAX_ERROR_TEXT = 64 << 10;

// A request's body is the engine's to judge (the schema's shape first); its strings may be
// an app's labels or output names, so they get the same bound as a result's.
const isRequest = (x: unknown): x is RunRequest => conforms(x, "RunRequest", { maxString: MAX_NAME });

const isCode = (x: unknown): x is AnyErrorCode =>
  conforms(x, "ErrorCode", { maxString: MAX_NAME }) || conforms(x, "ComponentErrorCode", { maxString: MAX_NAME });

export function isError(x: unknown, withDetail = false): x is EngineErrorInfo {
  return isObj(x) && hasKeys(x, ["code", "message"], withDetail ? ["detail"] : []) && isCode(x.code) && isStr(x.message) &&
    x.message.length <= MAX_ERROR_TEXT && (x.detail === undefined || (isStr(x.detail) && x.detail.length <= MAX_ERROR_TEXT));
}

/** What of an error may leave the sandbox: its code and its file-free message. */
export const publicError = (e: EngineErrorInfo): EngineErrorInfo => ({ code: e.code, message: e.message });

/** Every tensor's `data` holds exactly as many values as its shape says. */
function shapesHold(r: InferenceResult): boolean {
  const tensors = [
    ...Object.values(r.outputs),
    ...(r.postprocessed ?? []).flatMap((s) => ("values" in s ? [s.values] : [])),
  ];
  return tensors.every((t) => t.data.length === t.shape.reduce((a: number, b: number) => a * b, 1));
}

/** The receipt must describe exactly the fields that travel with it, no more and no fewer. */
function receiptMatches(r: InferenceResult): boolean {
  const listed = r.receipt.sent.map((f) => {
    if (f.field === "outputs") return `outputs/${f.name}:${f.elements}`;
    return f.field === "timings_ms" ? f.field : `${f.field}:${f.elements}`;
  }).sort();
  const actual = [
    ...Object.entries(r.outputs).map(([name, t]) => `outputs/${name}:${t.data.length}`),
    ...(r.top_k ? [`top_k:${r.top_k.length}`] : []),
    ...(r.postprocessed ? [`postprocessed:${r.postprocessed.length}`] : []),
    ...(r.detections ? [`detections:${r.detections.length}`] : []),
    ...(r.dicom_attributes ? [`dicom_attributes:${Object.keys(r.dicom_attributes).length}`] : []),
    "timings_ms",
  ].sort();
  const named = r.receipt.sent.every((f) => (f.field === "outputs") === (f.name !== null));
  return named && r.receipt.model_sha256 === r.model_sha256 && listed.length === actual.length && listed.every((f, i) => f === actual[i]);
}

/** The result shape Python is promised (the engine's schema, exactly); nothing else may ride along. */
export function isResult(x: unknown): x is InferenceResult {
  if (!isObj(x) || typeof x.cross_origin_isolated !== "boolean") return false;
  const { cross_origin_isolated: _, ...engine } = x;
  if (!conforms(engine, "InferenceResult", { maxString: MAX_NAME })) return false;
  const result = x as unknown as InferenceResult;
  return shapesHold(result) && receiptMatches(result);
}

/**
 * Labels come from the request, not from the engine: a ranked class's label is one the app
 * listed in `postprocess.labels`, or none. Anything else in a label field is data riding out.
 */
export function labelsFromRequest(r: InferenceResult, request: RunRequest): boolean {
  const allowed = new Set(request.postprocess?.labels ?? []);
  const classes = [
    ...(r.top_k ?? []),
    ...(r.postprocessed ?? []).flatMap((s) => ("classes" in s ? s.classes : [])),
  ];
  return classes.every((c) => c.label === null || allowed.has(c.label));
}

function isBatchItem(x: unknown): x is BatchItem {
  if (isObj(x) && x.status === "error") return hasKeys(x, ["status", "error"]) && isError(x.error);
  return isResult(x);
}

// Colors as Streamlit's theme writes them; anything else (a `;`, `url(`) is refused.
const isColor = (x: unknown): x is string =>
  isStr(x) && /^(#[0-9a-fA-F]{3,8}|(rgb|rgba|hsl|hsla)\([0-9.,%\s/]+\)|[a-zA-Z]{3,20})$/.test(x);
const isUiText = (x: unknown): x is string => isStr(x) && x.length <= MAX_UI_TEXT;

function isUi(x: unknown): x is UiSettings {
  return isObj(x) && hasKeys(x, ["label", "help", "disabled", "height"]) && isUiText(x.label) &&
    (x.help === null || isUiText(x.help)) && typeof x.disabled === "boolean" &&
    (x.height === null || (isInt(x.height) && x.height > 0));
}

function isTheme(x: unknown): x is Theme {
  return isObj(x) && hasKeys(x, ["primaryColor", "backgroundColor", "secondaryBackgroundColor", "textColor", "font", "base"]) &&
    isColor(x.primaryColor) && isColor(x.backgroundColor) && isColor(x.secondaryBackgroundColor) && isColor(x.textColor) &&
    isUiText(x.font) && (x.base === "light" || x.base === "dark");
}

/** Streamlit's theme, reduced to what the sandbox uses; null when it is missing or malformed. */
export function pickTheme(x: unknown): Theme | null {
  if (!isObj(x)) return null;
  const theme = {
    primaryColor: x.primaryColor, backgroundColor: x.backgroundColor, secondaryBackgroundColor: x.secondaryBackgroundColor,
    textColor: x.textColor, font: x.font, base: x.base,
  };
  return isTheme(theme) ? theme : null;
}


/**
 * The `result` and `error` messages, alike from the worker (whose runs are named by
 * `workerRunId`, and whose errors may carry a `detail` and say whether they `trapped`) and
 * from the sandbox (`runId`).
 */
function parseOutcome<T>(m: Obj, id: "runId" | "workerRunId"): T | null {
  const fromWorker = id === "workerRunId";
  switch (m.type) {
    case "result":
      return hasKeys(m, ["v", "type", id, "result"]) && isInt(m[id]) && isResult(m.result) ? (m as T) : null;
    case "error":
      return hasKeys(m, ["v", "type", id, "error", ...(fromWorker ? ["trapped"] : [])]) && (m[id] === null || isInt(m[id])) &&
        isError(m.error, fromWorker) && (!fromWorker || typeof m.trapped === "boolean")
        ? (m as T) : null;
    default:
      return null;
  }
}

export function parseHostToSandbox(data: unknown): HostToSandbox | null {
  const m = envelope(data);
  if (!m) return null;
  switch (m.type) {
    case "boot":
      return hasKeys(m, ["v", "type", "hostOrigin", "engineJs", "engineWasm"]) && isStr(m.hostOrigin) &&
        isStr(m.engineJs) && m.engineWasm instanceof ArrayBuffer ? (m as HostToSandbox) : null;
    case "model":
      return hasKeys(m, ["v", "type", "bytes", "sha256"]) && m.bytes instanceof ArrayBuffer && isSha(m.sha256)
        ? (m as HostToSandbox) : null;
    case "configure":
      return hasKeys(m, ["v", "type", "runId", "modelSha256", "request", "limits", "accept", "timeoutMs", "batch"]) &&
        isInt(m.runId) && isSha(m.modelSha256) && isRequest(m.request) && isLimits(m.limits) && Array.isArray(m.accept) && m.accept.every(isStr) && isInt(m.timeoutMs) &&
        (m.batch === null || (isObj(m.batch) && hasKeys(m.batch, ["maxFiles"]) && isInt(m.batch.maxFiles) && m.batch.maxFiles > 0))
        ? (m as HostToSandbox) : null;
    case "ui":
      return hasKeys(m, ["v", "type", "ui", "theme"]) && isUi(m.ui) && (m.theme === null || isTheme(m.theme))
        ? (m as HostToSandbox) : null;
    case "progress":
      return hasKeys(m, ["v", "type", "loaded", "total"]) && isInt(m.loaded) && isInt(m.total) ? (m as HostToSandbox) : null;
    default:
      return null;
  }
}

export function parseSandboxToHost(data: unknown): SandboxToHost | null {
  const m = envelope(data);
  if (!m) return null;
  switch (m.type) {
    case "hello":
      return hasKeys(m, ["v", "type"]) ? (m as SandboxToHost) : null;
    case "resize":
      return hasKeys(m, ["v", "type", "height"]) && isInt(m.height) ? (m as SandboxToHost) : null;
    case "batch":
      return hasKeys(m, ["v", "type", "runId", "items"]) && isInt(m.runId) && Array.isArray(m.items) && m.items.length > 0 &&
        m.items.every(isBatchItem) ? (m as SandboxToHost) : null;
    case "cleared":
      return hasKeys(m, ["v", "type", "runId"]) && isInt(m.runId) ? (m as SandboxToHost) : null;
    default:
      return parseOutcome<SandboxToHost>(m, "runId");
  }
}

export function parseSandboxToWorker(data: unknown): SandboxToWorker | null {
  const m = envelope(data);
  if (!m) return null;
  switch (m.type) {
    case "init":
      return hasKeys(m, ["v", "type", "module"]) && m.module instanceof WebAssembly.Module ? (m as SandboxToWorker) : null;
    case "load":
      return hasKeys(m, ["v", "type", "loadId", "bytes", "sha256", "limits"]) && isInt(m.loadId) && m.bytes instanceof ArrayBuffer &&
        isSha(m.sha256) && isLimits(m.limits) ? (m as SandboxToWorker) : null;
    case "run":
      return hasKeys(m, ["v", "type", "workerRunId", "request", "file"]) && isInt(m.workerRunId) && isRequest(m.request) &&
        (m.file === null || m.file instanceof File) ? (m as SandboxToWorker) : null;
    default:
      return null;
  }
}

export function parseWorkerToSandbox(data: unknown): WorkerToSandbox | null {
  const m = envelope(data);
  if (!m) return null;
  switch (m.type) {
    case "ready":
      return hasKeys(m, ["v", "type"]) ? (m as WorkerToSandbox) : null;
    case "loaded":
      return hasKeys(m, ["v", "type", "loadId", "inputs", "loadMs"]) && isInt(m.loadId) && Array.isArray(m.inputs) && isNum(m.loadMs)
        ? (m as WorkerToSandbox) : null;
    case "preview":
      return hasKeys(m, ["v", "type", "workerRunId", "bitmap", "width", "height"]) && isInt(m.workerRunId) && m.bitmap instanceof ImageBitmap &&
        isInt(m.width) && isInt(m.height) ? (m as WorkerToSandbox) : null;
    default:
      return parseOutcome<WorkerToSandbox>(m, "workerRunId");
  }
}

/** A batch item copied field by field, like `cleanResult`. */
export function cleanBatchItem(item: BatchItem): BatchItem {
  if (item.status === "error") return { status: "error", error: publicError(item.error) };
  return cleanResult(item);
}

/** Copies a validated result by the schema, so no extra property can ride along. */
export function cleanResult(r: InferenceResult): InferenceResult {
  const { cross_origin_isolated, ...engine } = r;
  return { ...copyAs<EngineResult>(engine, "InferenceResult"), cross_origin_isolated };
}
