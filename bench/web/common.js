// Shared by both benchmark workers (classic workers, loaded with importScripts).

// Each engine's wasm linear memory: exported by its module (ours), or created in JS and
// imported (onnxruntime-web's emscripten build). Linear memory never shrinks, so its size
// after the runs is the engine's peak wasm heap.
const wasmMemories = new Set();
const OriginalMemory = WebAssembly.Memory;
WebAssembly.Memory = function (descriptor) {
  const memory = new OriginalMemory(descriptor);
  wasmMemories.add(memory);
  return memory;
};
WebAssembly.Memory.prototype = OriginalMemory.prototype;
for (const name of ["instantiate", "instantiateStreaming"]) {
  const original = WebAssembly[name];
  WebAssembly[name] = async function (...args) {
    const result = await original.apply(WebAssembly, args);
    const instance = result instanceof WebAssembly.Instance ? result : result.instance;
    for (const value of Object.values(instance.exports)) {
      if (value instanceof OriginalMemory) wasmMemories.add(value);
    }
    return result;
  };
}
function wasmMemoryBytes() {
  return [...wasmMemories].reduce((sum, m) => sum + m.buffer.byteLength, 0);
}

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function typedInput(bytes, dtype) {
  return dtype === "int64" ? new BigInt64Array(bytes.buffer) : new Float32Array(bytes.buffer);
}

/** Answers the page's commands ({cmd, ...}) with {ok, result} or {ok: false, error}. */
function handle(commands) {
  self.onmessage = async (event) => {
    try {
      self.postMessage({ ok: true, result: await commands[event.data.cmd](event.data) });
    } catch (e) {
      self.postMessage({ ok: false, error: String(e && e.stack ? e.stack : e) });
    }
  };
}
