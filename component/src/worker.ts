/**
 * The engine's message loop, in a classic Worker started from a blob: URL by the sandbox.
 *
 * Classic, not module: module blob workers fail to start in opaque-origin frames in Chromium.
 * The build prepends wasm-bindgen's `no-modules` glue, which defines `wasm_bindgen`. This
 * file only routes messages; reading the File, preprocessing and inference happen in Rust.
 */
import {
  PREVIEW_SIDE, PROTOCOL_VERSION, type EngineErrorInfo, type RunRequest, type WorkerToSandbox, isError, isResult, parseSandboxToWorker,
} from "./protocol";
import { sha256Hex } from "./sha256";

// `wasm_bindgen` and its `Engine` are declared by wasm-bindgen's own output
// (generated/engine.d.ts); what they return is checked here before it is used.
const scope = self as unknown as DedicatedWorkerGlobalScope;
let engine: wasm_bindgen.Engine | null = null;

function reply(message: WorkerToSandbox): void {
  scope.postMessage(message);
}

/** Engine errors arrive as {code, message}; anything else is a bug or a wasm trap. */
function asError(e: unknown): EngineErrorInfo {
  if (isError(e, true)) return e;
  if (isTrap(e)) {
    return {
      code: "internal",
      message: `the engine stopped on this input (WebAssembly trap: ${e.message}; a panic or memory that ran out); ` +
        "it was restarted, and the next input runs in a fresh engine",
    };
  }
  return { code: "internal", message: `engine failure: ${e instanceof Error ? e.message : String(e)}` };
}

// With panic=abort, a panic ends in `unreachable`; memory that runs out ends in a panic or an
// abort too. Either way the instance stopped mid-call (its allocator, and wasm-bindgen's
// borrow flag on `engine`, left as they were), so none of its state can be trusted again.
const isTrap = (e: unknown): e is WebAssembly.RuntimeError => e instanceof WebAssembly.RuntimeError;

/**
 * A tensor request's numbers go to Rust as one Float64Array (a single copy; f64 keeps int64
 * and float64 inputs exact) rather than inside the request object, where each would be
 * converted on its own. (The request's shape was checked by the schema on its way here.)
 */
function splitTensor(request: RunRequest): { request: RunRequest; tensorData?: Float64Array } {
  if (request.input.kind !== "tensor") return { request };
  return { request: { ...request, input: { ...request.input, data: [] } }, tensorData: Float64Array.from(request.input.data) };
}

// The receipt's input hash is keyed over the SHA-256 of the input's content (the file's bytes,
// or a tensor's values as f64 little-endian). From this size on the browser computes it: the
// engine's own SHA-256 took 13-14 ms of a 224x224 tensor run (measured in Chromium); below it,
// one more await costs more than it saves.
const BROWSER_DIGEST_MIN_BYTES = 1 << 16;
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

async function contentSha256(request: RunRequest, content: Uint8Array | Float64Array | undefined): Promise<Uint8Array | undefined> {
  const single = request.input.kind === "file" || request.input.kind === "tensor";
  if (!single || !content || content.byteLength < BROWSER_DIGEST_MIN_BYTES || !crypto.subtle) return undefined;
  if (content instanceof Float64Array && !littleEndian) return undefined;
  return new Uint8Array(await crypto.subtle.digest("SHA-256", content as BufferSource));
}

const isImageRequest = (request: RunRequest) => request.input.kind === "file" && request.input.preprocess.kind === "image";

// A preview needs no more pixels than the sandbox draws, on a display of up to 2x.
const PREVIEW_MAX_SIDE = 2 * PREVIEW_SIDE;

/**
 * The picked image decoded for the sandbox to draw, here rather than in the sandbox's main
 * thread: only after the engine accepted the file (its size and pixel limits hold), and the
 * File is still never read outside this Worker. EXIF orientation is applied, as the engine
 * applies it, so detection boxes land where the engine found them.
 */
async function sendPreview(workerRunId: number, file: File): Promise<void> {
  let bitmap: ImageBitmap;
  let width: number;
  let height: number;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    ({ width, height } = bitmap);
    const scale = Math.min(1, PREVIEW_MAX_SIDE / Math.max(width, height));
    if (scale < 1) {
      const full = bitmap;
      bitmap = await createImageBitmap(full, {
        resizeWidth: Math.max(1, Math.round(width * scale)), resizeHeight: Math.max(1, Math.round(height * scale)),
        resizeQuality: "medium",
      });
      full.close();
    }
  } catch {
    // A format the engine decodes but this browser does not: the result stands without a picture.
    return;
  }
  scope.postMessage({ v: PROTOCOL_VERSION, type: "preview", workerRunId, bitmap, width, height } satisfies WorkerToSandbox, [bitmap]);
}

/**
 * A DICOM file's frame for the sandbox to draw, windowed as the model got it: the engine
 * decodes it again (the browser cannot), here in the Worker, after the run succeeded.
 */
async function sendDicomPreview(workerRunId: number, preprocess: unknown, bytes: Uint8Array): Promise<void> {
  if (!engine) return;
  let bitmap: ImageBitmap;
  let width: number;
  let height: number;
  try {
    const p = engine.dicomPreview(preprocess, bytes, PREVIEW_MAX_SIDE) as {
      width: number; height: number; previewWidth: number; previewHeight: number; rgba: Uint8Array;
    };
    ({ width, height } = p);
    bitmap = await createImageBitmap(new ImageData(new Uint8ClampedArray(p.rgba), p.previewWidth, p.previewHeight));
  } catch (e) {
    // A trap poisons the engine: the run fails with it and the Worker is replaced.
    if (isTrap(e)) throw e;
    // Otherwise the result stands without a picture.
    return;
  }
  scope.postMessage({ v: PROTOCOL_VERSION, type: "preview", workerRunId, bitmap, width, height } satisfies WorkerToSandbox, [bitmap]);
}

scope.onmessage = async (event: MessageEvent) => {
  // A dedicated worker only hears its owner, the sandbox; the shape check is still the gate.
  const msg = parseSandboxToWorker(event.data);
  if (!msg) return;
  const workerRunId = msg.type === "run" ? msg.workerRunId : null;
  try {
    switch (msg.type) {
      case "init":
        await wasm_bindgen({ module_or_path: msg.module });
        reply({ v: PROTOCOL_VERSION, type: "ready" });
        break;
      case "load": {
        // Free the previous model's wasm memory before loading the next one.
        engine?.free();
        engine = null;
        // The browser's SHA-256 where it has one (a secure context): the engine's own took 60%
        // of ResNet-50's load (1.4 s against 0.55 s, measured in Chromium). The engine still
        // compares it with the declared one; without it (plain HTTP), the engine hashes.
        const sha256 = crypto.subtle ? await sha256Hex(msg.bytes) : undefined;
        engine = new wasm_bindgen.Engine(new Uint8Array(msg.bytes), msg.sha256, msg.limits ?? undefined, sha256);
        // The plan for the declared input shapes, now, while the person picks a file, rather
        // than at the first run (160-370 ms on the bench's CNNs). A model whose declared shapes
        // cannot run fails here, as each of its runs would.
        engine.prepare();
        const info = engine.info() as { inputs: unknown[]; load_ms: number };
        reply({ v: PROTOCOL_VERSION, type: "loaded", loadId: msg.loadId, inputs: info.inputs, loadMs: info.load_ms });
        break;
      }
      case "run": {
        if (!engine) throw { code: "not_ready", message: "no model is loaded yet" };
        // The engine's limit, checked on the size alone: a 1 GB file is refused before it is read.
        if (msg.file) {
          try {
            engine.checkInputSize(msg.file.size);
          } catch (e) {
            const error = asError(e);
            throw { ...error, message: `${error.message}; it was not read`, ...(error.detail ? { detail: `${error.detail}; it was not read` } : {}) };
          }
        }
        // The picked file is read here, off the sandbox's main thread, and handed to Rust.
        const bytes = msg.file ? new Uint8Array(await msg.file.arrayBuffer()) : undefined;
        const { request, tensorData } = splitTensor(msg.request);
        const content = await contentSha256(msg.request, bytes ?? tensorData);
        // Reported with every result, so the app can tell whether the page's isolation
        // headers reached this Worker (SharedArrayBuffer exists only if they did).
        const result = { ...(engine.run(request, bytes, tensorData, content) as object), cross_origin_isolated: scope.crossOriginIsolated };
        if (!isResult(result)) throw { code: "internal", message: "the engine returned a malformed result" };
        if (msg.file && isImageRequest(msg.request)) await sendPreview(msg.workerRunId, msg.file);
        if (bytes && msg.request.input.kind === "file" && msg.request.input.preprocess.kind === "dicom") {
          await sendDicomPreview(msg.workerRunId, msg.request.input.preprocess, bytes);
        }
        reply({ v: PROTOCOL_VERSION, type: "result", workerRunId: msg.workerRunId, result });
        break;
      }
    }
  } catch (e) {
    reply({ v: PROTOCOL_VERSION, type: "error", workerRunId, error: asError(e), trapped: isTrap(e) });
  }
};
