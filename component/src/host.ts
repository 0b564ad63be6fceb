/**
 * The host document: Streamlit's component iframe (served with `path=`, same origin as the app).
 *
 * It speaks Streamlit's component protocol with the app, fetches the engine and the model,
 * creates the sandbox frame, and relays validated results to Python. It never sees the
 * person's file: that is picked inside the sandbox and read only by the engine's Worker.
 */
import { cached, keepOnly } from "./content_cache";
import { DropCounter } from "./drops";
import { mark } from "./timeline";
import {
  PROTOCOL_VERSION, type EngineErrorInfo, type HostToSandbox, type RunRequest, type UiSettings, cleanBatchItem, cleanResult,
  labelsFromRequest, parseSandboxToHost, pickTheme, withinBound,
} from "./protocol";

// Injected by build.mjs: the sandbox document, whose CSP hashes are computed at build time, and
// the sha256 of the engine's two files as built.
declare const SANDBOX_HTML: string;
declare const ENGINE_SHA256: { js: string; wasm: string };

interface Args {
  protocol: number;
  model: { url: string; sha256: string; name: string; size: number };
  request: RunRequest;
  accept: string[];
  timeout_ms: number;
  limits: Record<string, number> | null;
  request_key: string;
  require_isolation: boolean;
  batch: { max_files: number } | null;
  ui: UiSettings;
}

const statusEl = document.getElementById("host-status") as HTMLElement;
const params = new URLSearchParams(location.search);
// The app page that embeds us; Streamlit passes its URL. Posting to its exact origin keeps
// results from reaching anything else, should the top page ever change.
const appOrigin = new URL(params.get("streamlitUrl") ?? location.href).origin;

const drops = new DropCounter("host");

/** Everything the host remembers between messages. */
interface HostState {
  sandbox: HTMLIFrameElement | null;
  sandboxReady: boolean;
  // The boot message (engine) must reach the sandbox before anything else (download progress
  // aside, see reportDownloads); until the sandbox said hello and the engine is downloaded,
  // messages wait in `queue`, in order.
  boot: HostToSandbox | null;
  booted: boolean;
  queue: { message: HostToSandbox; transfer: Transferable[] }[];
  modelSha: string | null;
  configKey: string | null;
  lastRunId: number;
  // The run the sandbox may answer, with the request key Python matches the answer to and
  // the request, to hold the answer's labels to its own. Only the latest: an answer to a run
  // a newer configure replaced would be for a request Python no longer has.
  run: { id: number; key: string; request: RunRequest } | null;
  currentKey: string | null;
  requireIsolation: boolean;
  notIsolatedKey: string | null;
  uiKey: string | null;
  // A fixed height from the app; null lets the sandbox's content size the frame.
  fixedHeight: number | null;
  contentHeight: number | null;
  // The downloads in flight (the engine's wasm, the model), by URL, for one combined percentage.
  downloads: Map<string, { loaded: number; total: number }>;
  // Downloads whose size is not known yet: until it is, a percentage would jump back.
  sizesPending: number;
  shownPercent: number;
}

const state: HostState = {
  sandbox: null, sandboxReady: false, boot: null, booted: false, queue: [], modelSha: null, configKey: null, lastRunId: 0,
  run: null, currentKey: null, requireIsolation: false, notIsolatedKey: null, uiKey: null, fixedHeight: null,
  contentHeight: null, downloads: new Map(), sizesPending: 0, shownPercent: -1,
};

const CHECK_WITH = " (docs/deployment.md). Check with: python -m streamlit_secure_context doctor --url <app URL>";
const NOT_ISOLATED: EngineErrorInfo = {
  code: "not_isolated",
  message:
    "security_config.require_isolation is set, but this page is not cross-origin isolated. Serve the app with " +
    "st.App(..., middleware=[streamlit_secure_context.security_middleware()]), or have your proxy send " +
    "Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp on every response" +
    CHECK_WITH,
};
const WORKER_NOT_ISOLATED: EngineErrorInfo = {
  code: "not_isolated",
  message:
    "security_config.require_isolation is set, and the page is cross-origin isolated, but the engine's Worker is " +
    "not: a Permissions-Policy header withholds cross-origin-isolated from the component's sandbox frame. Leave " +
    "cross-origin-isolated out of Permissions-Policy (security_middleware() does)" + CHECK_WITH,
};

function toStreamlit(type: string, data: Record<string, unknown> = {}): void {
  window.parent.postMessage({ isStreamlitMessage: true, type, ...data }, appOrigin);
}

function setValue(value: Record<string, unknown>): void {
  toStreamlit("streamlit:setComponentValue", { value, dataType: "json" });
}

function setStatus(text: string, kind: "busy" | "error" | "hidden" = "busy"): void {
  statusEl.textContent = text;
  statusEl.hidden = kind === "hidden";
  statusEl.dataset.kind = kind;
  resize();
}

function resize(): void {
  toStreamlit("streamlit:setFrameHeight", { height: Math.ceil(document.body.scrollHeight) });
}

/** Errors without a run of their own (downloads, model loading) answer the current request. */
function fail(error: EngineErrorInfo, key: string | null = state.currentKey): void {
  setStatus(`Error (${error.code}): ${error.message}`, "error");
  setValue({ status: "error", error, request_key: key });
}

function post(message: HostToSandbox, transfer: Transferable[]): void {
  // '*' because the sandbox's origin is opaque: no origin string can name it. The message
  // goes to the exact window we created, and the host's CSP (frame-src 'none') keeps that
  // frame from navigating anywhere else, so it cannot be swapped for another document.
  state.sandbox?.contentWindow?.postMessage(message, "*", transfer);
}

function flush(): void {
  if (!state.sandboxReady || !state.boot) return;
  if (!state.booted) {
    state.booted = true;
    post(state.boot, state.boot.type === "boot" ? [state.boot.engineWasm] : []);
  }
  state.queue.splice(0).forEach(({ message, transfer }) => post(message, transfer));
}

function toSandbox(message: HostToSandbox, transfer: Transferable[] = []): void {
  state.queue.push({ message, transfer });
  flush();
}

/**
 * Downloads `url`. With `track`, the body is streamed and counted towards the download
 * progress; `size` is the expected size, or null to take it from Content-Length.
 *
 * `whole`: asks for the whole file as a byte range (`Range: bytes=0-`). Streamlit's server
 * gzips every `application/octet-stream` media response on the fly unless it is a partial
 * (206) one; model weights hardly compress, so that only cost time: ResNet-50's 102 MB took
 * 6.7-10 s from a local server with gzip and 0.55 s as a range (measured in Chromium). A
 * server that ignores the header answers 200 with the same bytes. (An empty file has no
 * range to ask for: a server answers 416.)
 */
async function fetchBytes(url: string, what: string, track?: { size: number | null }, whole = false): Promise<ArrayBuffer> {
  let response: Response;
  if (track) state.sizesPending += 1;
  try {
    response = await fetch(url, { credentials: "same-origin", ...(whole ? { headers: { Range: "bytes=0-" } } : {}) });
  } catch (e) {
    throw { code: "fetch_failed", message: `${what} could not be downloaded from ${url}: ${e}` };
  } finally {
    if (track) state.sizesPending -= 1;
  }
  if (!response.ok) throw { code: "fetch_failed", message: `${what} could not be downloaded from ${url}: HTTP ${response.status}` };
  // A range that is not the whole file would fail the sha256 check; say what happened instead.
  const range = response.status === 206 ? /^bytes 0-(\d+)\/(\d+)$/.exec(response.headers.get("content-range") ?? "") : null;
  if (response.status === 206 && (!range || Number(range[1]) + 1 !== Number(range[2]))) {
    throw { code: "fetch_failed", message: `${what} download from ${url} returned part of the file (${response.headers.get("content-range")})` };
  }
  try {
    const size = track?.size ?? Number(response.headers.get("content-length"));
    if (!track || !response.body || !(size > 0)) return await response.arrayBuffer();
    return await readCounted(response.body, url, size);
  } catch (e) {
    throw { code: "fetch_failed", message: `${what} download from ${url} was interrupted: ${e}` };
  }
}

/**
 * Reads the body into one buffer of the expected size, so a model of hundreds of MB is not
 * held twice (as chunks, then joined). A size that was wrong (a compressed Content-Length,
 * say) costs a regrowth or a final trim, never a wrong result.
 */
async function readCounted(body: ReadableStream<Uint8Array>, url: string, size: number): Promise<ArrayBuffer> {
  const onProgress = startDownload(url, size);
  let bytes = new Uint8Array(size);
  let loaded = 0;
  try {
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (loaded + value.byteLength > bytes.length) {
        const grown = new Uint8Array(Math.max(2 * bytes.length, loaded + value.byteLength));
        grown.set(bytes.subarray(0, loaded));
        bytes = grown;
      }
      bytes.set(value, loaded);
      loaded += value.byteLength;
      onProgress(loaded);
    }
  } finally {
    endDownload(url);
  }
  return loaded === bytes.length ? bytes.buffer : bytes.buffer.slice(0, loaded);
}

function startDownload(url: string, total: number): (loaded: number) => void {
  const entry = { loaded: 0, total };
  state.downloads.set(url, entry);
  return (loaded) => {
    entry.loaded = loaded;
    reportDownloads();
  };
}

function endDownload(url: string): void {
  state.downloads.delete(url);
  if (state.downloads.size === 0) state.shownPercent = -1;
}

/**
 * At most once per whole percent. Unlike every other message this one does not wait for the
 * engine to boot (most of the wait is the engine's own download): it carries two numbers, and
 * one that comes before the sandbox said hello is simply not shown.
 */
function reportDownloads(): void {
  let loaded = 0;
  let total = 0;
  for (const d of state.downloads.values()) {
    loaded += d.loaded;
    total += d.total;
  }
  const percent = Math.floor((100 * loaded) / total);
  if (percent === state.shownPercent || !state.sandboxReady || state.sizesPending > 0) return;
  state.shownPercent = percent;
  post({ v: PROTOCOL_VERSION, type: "progress", loaded, total }, []);
}

/** The host's own status line (its errors) in the app's text color and light or dark base. */
function applyThemeToHost(theme: ReturnType<typeof pickTheme>): void {
  if (!theme) return;
  const root = document.documentElement.style;
  root.setProperty("--ssc-text", theme.textColor);
  root.setProperty("color-scheme", theme.base);
}

/** The app's fixed height, else the height of the sandbox's content once it reported one. */
function sizeSandbox(): void {
  const height = state.fixedHeight ?? state.contentHeight;
  if (!state.sandbox || height === null) return;
  state.sandbox.style.height = `${height}px`;
  resize();
}

/**
 * Creates the sandbox, hidden, and boots the engine in it: at the host's start, not at the
 * first render, since neither depends on the app's arguments. Streamlit's first render came
 * 0.5 s after mount on a reload (measured); the engine is read, hashed, posted and compiled
 * in that time instead of after it.
 */
function createSandbox(): void {
  state.sandbox = document.createElement("iframe");
  state.sandbox.hidden = true;
  state.sandbox.id = "sandbox";
  state.sandbox.title = "Secure inference (files stay in this browser)";
  // allow-scripts only: no allow-same-origin, so the frame runs in an opaque origin with no
  // access to this document, cookies or storage, and no forms, popups or top navigation.
  state.sandbox.setAttribute("sandbox", "allow-scripts");
  // Lets the sandbox (and so the engine's Worker) be cross-origin isolated when the app is
  // served with COOP/COEP; an opaque-origin frame is not covered by the default 'self'.
  state.sandbox.setAttribute("allow", "cross-origin-isolated");
  state.sandbox.srcdoc = SANDBOX_HTML;
  document.body.appendChild(state.sandbox);
  // The engine's files are cached by the sha256 this build gave them: one download per browser.
  const engine = (file: "js" | "wasm", track?: { size: number | null }) =>
    cached("ssc-engine", ENGINE_SHA256[file], () => fetchBytes(new URL(`engine/engine.${file}`, location.href).href, "the engine", track));
  const engineJs = engine("js").then((b) => new TextDecoder().decode(b));
  const engineWasm = engine("wasm", { size: null });
  // A previous build's engine has no use any more.
  void keepOnly("ssc-engine", [ENGINE_SHA256.js, ENGINE_SHA256.wasm]);
  Promise.all([engineJs, engineWasm]).then(
    ([js, wasm]) => {
      mark("engine-bytes");
      state.boot = { v: PROTOCOL_VERSION, type: "boot", hostOrigin: location.origin, engineJs: js, engineWasm: wasm };
      flush();
    },
    (e) => fail(e as EngineErrorInfo),
  );
}

function validArgs(a: unknown): a is Args {
  const x = a as Args;
  return (
    typeof x === "object" && x !== null && x.protocol === PROTOCOL_VERSION &&
    typeof x.model?.url === "string" && /^[0-9a-f]{64}$/.test(x.model?.sha256 ?? "") &&
    typeof x.request === "object" && Array.isArray(x.accept) && Number.isSafeInteger(x.timeout_ms) &&
    typeof x.request_key === "string" && typeof x.require_isolation === "boolean" &&
    (x.batch === null || (typeof x.batch === "object" && Number.isSafeInteger(x.batch?.max_files) && x.batch.max_files > 0)) &&
    typeof x.ui === "object" && x.ui !== null && typeof x.ui.label === "string" && typeof x.ui.disabled === "boolean" &&
    (x.ui.help === null || typeof x.ui.help === "string") &&
    (x.ui.height === null || (Number.isSafeInteger(x.ui.height) && x.ui.height > 0))
  );
}

/**
 * The host runs only as its own app's component: framed by a page of its own origin, which
 * is also the app origin Streamlit named. Framed by another site (which would drive it with
 * forged render messages and read its answers), or told of another app origin, it refuses.
 * Reading `parent.location` throws across origins, which is the check: it works in every
 * engine, unlike `location.ancestorOrigins`, which Firefox lacks.
 */
function embeddedInOwnApp(): boolean {
  try {
    return window.parent !== window && window.parent.location.origin === location.origin && appOrigin === location.origin;
  } catch {
    return false;
  }
}

const NOT_EMBEDDED: EngineErrorInfo = {
  code: "not_embedded",
  message: "this component frame runs only inside its own Streamlit app (same origin); it was opened by another page, " +
    "so it does nothing",
};

function onRender(args: unknown, streamlitTheme: unknown, streamlitDisabled: boolean): void {
  if (!validArgs(args)) {
    fail({ code: "version_mismatch", message: "the component's Python and browser parts do not match; reinstall streamlit-secure-context" });
    return;
  }
  state.currentKey = args.request_key;
  state.requireIsolation = args.require_isolation;
  if (state.requireIsolation && !self.crossOriginIsolated) {
    // Once per request: answering every rerun with the same value would only rerun again.
    if (state.notIsolatedKey !== args.request_key) fail(NOT_ISOLATED);
    state.notIsolatedKey = args.request_key;
    return;
  }
  // Shown once the first render passed the checks above; it booted the engine meanwhile.
  if (state.sandbox?.hidden) {
    mark("first-render");
    state.sandbox.hidden = false;
  }
  const theme = pickTheme(streamlitTheme);
  // Streamlit disables every widget while the app cannot take input (its server connection
  // is lost, say): a file picked then would run for a result that reaches no one.
  const disabled = args.ui.disabled || streamlitDisabled;
  const ui = { label: args.ui.label, help: args.ui.help, disabled, height: args.ui.height };
  const newUiKey = JSON.stringify([ui, theme]);
  if (newUiKey !== state.uiKey) {
    state.uiKey = newUiKey;
    state.fixedHeight = ui.height;
    sizeSandbox();
    applyThemeToHost(theme);
    toSandbox({ v: PROTOCOL_VERSION, type: "ui", ui, theme });
  }
  if (args.model.sha256 !== state.modelSha) {
    state.modelSha = args.model.sha256;
    const sha = state.modelSha;
    setStatus("", "hidden");
    cached("ssc-models", sha, () => fetchBytes(args.model.url, `the model ${args.model.name}`, { size: args.model.size }, args.model.size > 0)).then(
      (bytes) => {
        if (sha !== state.modelSha) return; // superseded by a newer render
        mark("model-bytes");
        toSandbox({ v: PROTOCOL_VERSION, type: "model", bytes, sha256: sha }, [bytes]);
      },
      (e) => fail(e as EngineErrorInfo),
    );
  }
  // A rerun with the same request re-sends nothing, so it neither re-runs nor re-downloads.
  // The request key covers the model, the request and the limits: a change of any re-runs the
  // person's kept file in the sandbox.
  const batch = args.batch === null ? null : { maxFiles: args.batch.max_files };
  const key = JSON.stringify([args.model.sha256, args.request_key, args.limits, args.accept, args.timeout_ms, batch]);
  if (key !== state.configKey) {
    state.configKey = key;
    state.lastRunId += 1;
    state.run = { id: state.lastRunId, key: args.request_key, request: args.request };
    toSandbox({
      v: PROTOCOL_VERSION, type: "configure", runId: state.run.id, modelSha256: args.model.sha256, request: args.request, limits: args.limits,
      accept: args.accept, timeoutMs: args.timeout_ms, batch,
    });
  }
}

const embedded = embeddedInOwnApp();

/** The run an answer is for, when it is the one this host started last. */
const answered = (runId: number) => (state.run?.id === runId ? state.run : null);

window.addEventListener("message", (event) => {
  if (!embedded) return drops.drop("foreign");
  if (event.source === window.parent && event.origin === appOrigin) {
    const data = event.data as { type?: unknown; args?: unknown; theme?: unknown; disabled?: unknown } | null;
    if (data?.type === "streamlit:render") onRender(data.args, data.theme, data.disabled === true);
    else drops.drop("malformed");
    return;
  }
  // The sandbox's origin is opaque, so it always reports "null"; the window is what counts.
  if (!state.sandbox || event.source !== state.sandbox.contentWindow || event.origin !== "null") return drops.drop("foreign");
  if (!withinBound(event.data)) return drops.drop("oversized");
  const msg = parseSandboxToHost(event.data);
  if (!msg) return drops.drop("malformed");
  switch (msg.type) {
    case "hello":
      state.sandboxReady = true;
      flush();
      break;
    case "resize":
      state.contentHeight = msg.height;
      sizeSandbox();
      break;
    case "result": {
      // Only answers to the run this host started last reach Python.
      const run = answered(msg.runId);
      if (!run) return drops.drop("unexpected");
      if (!labelsFromRequest(msg.result, run.request)) return drops.drop("malformed");
      // The Worker's own isolation decides: the host can be isolated while the sandbox is not.
      if (state.requireIsolation && !msg.result.cross_origin_isolated) {
        fail(self.crossOriginIsolated ? WORKER_NOT_ISOLATED : NOT_ISOLATED, run.key);
        break;
      }
      setStatus("", "hidden");
      mark("result");
      setValue({ ...cleanResult(msg.result), request_key: run.key });
      break;
    }
    case "batch": {
      const run = answered(msg.runId);
      if (!run) return drops.drop("unexpected");
      if (!msg.items.every((item) => item.status === "error" || labelsFromRequest(item, run.request))) return drops.drop("malformed");
      // Every item passed the same checks as a single result (parseSandboxToHost); isolation too.
      if (state.requireIsolation && msg.items.some((item) => item.status === "ok" && !item.cross_origin_isolated)) {
        fail(self.crossOriginIsolated ? WORKER_NOT_ISOLATED : NOT_ISOLATED, run.key);
        break;
      }
      setStatus("", "hidden");
      setValue({ status: "ok", batch: msg.items.map(cleanBatchItem), request_key: run.key });
      break;
    }
    case "cleared":
      if (!answered(msg.runId)) return drops.drop("unexpected");
      // No value, as a cleared st.file_uploader gives: Python returns None.
      setStatus("", "hidden");
      toStreamlit("streamlit:setComponentValue", { value: null, dataType: "json" });
      break;
    case "error": {
      if (msg.runId === null) {
        setValue({ status: "error", error: msg.error, request_key: state.currentKey });
        break;
      }
      const run = answered(msg.runId);
      if (!run) return drops.drop("unexpected");
      setValue({ status: "error", error: msg.error, request_key: run.key });
      break;
    }
  }
});

if (embedded) {
  toStreamlit("streamlit:componentReady", { apiVersion: 1 });
  createSandbox();
  setStatus("Starting…");
} else {
  setStatus(`Error (${NOT_EMBEDDED.code}): ${NOT_EMBEDDED.message}`, "error");
}
