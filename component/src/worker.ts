/**
 * The engine's message loop, in a classic Worker started from a blob: URL by the sandbox.
 *
 * Classic, not module: module blob workers fail to start in opaque-origin frames in Chromium.
 * The build prepends wasm-bindgen's `no-modules` glue, which defines `wasm_bindgen`. This
 * file only routes messages; reading the File, preprocessing and inference happen in Rust.
 */
import {
  PROTOCOL_VERSION, type EngineErrorInfo, type RunRequest, type WorkerToSandbox, isError, isResult, parseSandboxToWorker,
} from "./protocol";

interface WasmEngine {
  info(): { inputs: unknown[]; load_ms: number };
  run(request: unknown, file?: Uint8Array, tensorData?: Float32Array): unknown;
  free(): void;
}
declare const wasm_bindgen: ((init: { module_or_path: WebAssembly.Module }) => Promise<unknown>) & {
  Engine: new (model: Uint8Array, sha256: string, limits: unknown) => WasmEngine;
};

const scope = self as unknown as DedicatedWorkerGlobalScope;
let engine: WasmEngine | null = null;

function reply(message: WorkerToSandbox): void {
  scope.postMessage(message);
}

/** Engine errors arrive as {code, message}; anything else is a bug or a wasm trap. */
function asError(e: unknown): EngineErrorInfo {
  if (isError(e)) return e;
  return { code: "internal", message: `engine failure: ${e instanceof Error ? e.message : String(e)}` };
}

/**
 * A tensor request's numbers go to Rust as one Float32Array (a single copy) rather than
 * inside the request object, where each would be converted on its own. Anything that is not
 * an array of numbers stays in the request, for the engine to reject with its own message.
 */
function splitTensor(request: RunRequest): { request: RunRequest; tensorData?: Float32Array } {
  const data = request.input.data;
  if (request.input.kind !== "tensor" || !Array.isArray(data) || !data.every((x) => typeof x === "number")) return { request };
  return { request: { ...request, input: { ...request.input, data: [] } }, tensorData: Float32Array.from(data as number[]) };
}

scope.onmessage = async (event: MessageEvent) => {
  // A dedicated worker only hears its owner, the sandbox; the shape check is still the gate.
  const msg = parseSandboxToWorker(event.data);
  if (!msg) return;
  const runId = msg.type === "run" ? msg.runId : null;
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
        engine = new wasm_bindgen.Engine(new Uint8Array(msg.bytes), msg.sha256, msg.limits ?? undefined);
        const info = engine.info();
        reply({ v: PROTOCOL_VERSION, type: "loaded", inputs: info.inputs, loadMs: info.load_ms });
        break;
      }
      case "run": {
        if (!engine) throw { code: "not_ready", message: "no model is loaded yet" };
        // The picked file is read here, off the sandbox's main thread, and handed to Rust.
        const bytes = msg.file ? new Uint8Array(await msg.file.arrayBuffer()) : undefined;
        const { request, tensorData } = splitTensor(msg.request);
        const result = engine.run(request, bytes, tensorData);
        if (!isResult(result)) throw { code: "internal", message: "the engine returned a malformed result" };
        reply({ v: PROTOCOL_VERSION, type: "result", runId: msg.runId, result });
        break;
      }
    }
  } catch (e) {
    reply({ v: PROTOCOL_VERSION, type: "error", runId, error: asError(e) });
  }
};
