// Builds the component's browser assets into the Python package.
//
//   node build.mjs <wasm-bindgen out dir> <output dir>
//
// The sandbox document is generated here, not written by hand, because its CSP allows
// scripts and styles only by hash: the hashes must be computed from the exact bytes.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { buildSync } from "esbuild";
import { generate } from "./gen_schema.mjs";

const [engineDir, outDir] = process.argv.slice(2);
if (!engineDir || !outDir) {
  console.error("usage: node build.mjs <wasm-bindgen out dir> <output dir>");
  process.exit(2);
}

// The engine's formats (`ssc schema`, as the Python package ships them) and wasm-bindgen's
// declarations of the engine become TypeScript first; then everything is type-checked, so a
// change on the Rust side that the glue does not handle stops the build.
const schema = JSON.parse(readFileSync("../python/streamlit_secure_context/schema.json", "utf8"));
mkdirSync("src/generated", { recursive: true });
writeFileSync("src/generated/schema.ts", generate(schema));
copyFileSync(join(engineDir, "engine.d.ts"), "src/generated/engine.d.ts");
execFileSync("node_modules/.bin/tsc", ["--noEmit"], { stdio: "inherit" });

const bundle = (entry) =>
  buildSync({ entryPoints: [entry], bundle: true, format: "iife", target: "es2022", minify: true, write: false, legalComments: "none" })
    .outputFiles[0].text;
const sha256 = (text) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

const sandboxScript = bundle("src/sandbox.ts");
const sandboxStyle = readFileSync("src/sandbox.css", "utf8");
// A `</script` inside the bundle would end the inline script early.
if (sandboxScript.includes("</script")) throw new Error("sandbox bundle contains </script");

// What both documents deny outright.
const baseCsp = ["default-src 'none'", "worker-src blob:", "img-src 'none'", "form-action 'none'", "base-uri 'none'"];

const sandboxCsp = [
  ...baseCsp,
  `script-src ${sha256(sandboxScript)} 'wasm-unsafe-eval'`,
  `style-src ${sha256(sandboxStyle)}`,
  "connect-src 'none'",
].join("; ");

const sandboxHtml = `<!doctype html>
<html lang="en" translate="no"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${sandboxCsp}">
<style>${sandboxStyle}</style></head>
<body>
<main id="app">
<div id="status" role="status" aria-live="polite" data-kind="busy" data-stage="engine">Loading the engine…</div>
<progress id="download" hidden aria-label="Model download"></progress>
<div id="pick" hidden>
<input id="file" type="file" aria-labelledby="pick-label" aria-describedby="drop-hint">
<label id="drop" for="file"><span id="pick-label">Choose a file</span><span id="drop-hint">Drop here or press Enter to browse. Files stay in this browser.</span></label>
<p id="help" hidden></p>
<button id="clear" type="button" hidden>Clear</button>
</div>
<div id="batch" hidden><span id="batch-text"></span><progress id="batch-progress" aria-labelledby="batch-text"></progress></div>
<ol id="batch-list" hidden aria-label="Your files (shown only here)"></ol>
<div id="summary" aria-live="polite"></div>
<div id="visual"><canvas id="preview" hidden role="img"></canvas><ul id="bars" aria-label="Top scores"></ul></div>
<div id="receipt" aria-live="polite"></div>
</main>
<script>${sandboxScript}</script>
</body></html>`;

// The sandbox is a srcdoc frame, so it also inherits this policy: everything the sandbox
// needs must be allowed here too, and the stricter of the two wins.
const hostCsp = [
  ...baseCsp,
  `script-src 'self' ${sha256(sandboxScript)} 'wasm-unsafe-eval'`,
  `style-src 'self' ${sha256(sandboxStyle)}`,
  "connect-src 'self'",
  // The sandbox frame is srcdoc, which frame-src does not govern; 'none' stops that frame
  // from navigating itself (and whatever it carries) to any URL.
  "frame-src 'none'",
].join("; ");

const hostHtml = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${hostCsp}">
<link rel="stylesheet" href="host.css"></head>
<body><div id="host-status" role="status" aria-live="polite"></div><script src="host.js"></script></body></html>
`;

// One classic script for the Worker: wasm-bindgen's glue defines `wasm_bindgen`, the
// message loop after it uses it.
const engineJs = readFileSync(join(engineDir, "engine.js"), "utf8") + "\n" + bundle("src/worker.ts");
const engineWasm = readFileSync(join(engineDir, "engine_bg.wasm"));
// The host caches the engine in the browser by these (src/content_cache.ts).
const hex = (data) => createHash("sha256").update(data).digest("hex");
const engineSha256 = { js: hex(engineJs), wasm: hex(engineWasm) };

const hostJs = buildSync({
  entryPoints: ["src/host.ts"], bundle: true, format: "iife", target: "es2022", minify: true, write: false, legalComments: "none",
  define: { SANDBOX_HTML: JSON.stringify(sandboxHtml), ENGINE_SHA256: JSON.stringify(engineSha256) },
}).outputFiles[0].text;

rmSync(outDir, { recursive: true, force: true });
mkdirSync(join(outDir, "engine"), { recursive: true });
writeFileSync(join(outDir, "index.html"), hostHtml);
writeFileSync(join(outDir, "host.js"), hostJs);
copyFileSync("src/host.css", join(outDir, "host.css"));
writeFileSync(join(outDir, "engine", "engine.js"), engineJs);
writeFileSync(join(outDir, "engine", "engine.wasm"), engineWasm);

// Recorded so that a deployment can check it serves exactly what was built.
const files = {};
const walk = (dir) => readdirSync(dir).sort().forEach((name) => {
  const path = join(dir, name);
  if (statSync(path).isDirectory()) return walk(path);
  files[relative(outDir, path)] = createHash("sha256").update(readFileSync(path)).digest("hex");
});
walk(outDir);
writeFileSync(join(outDir, "manifest.json"), JSON.stringify({ protocol: schema["x-constants"].protocol_version, files }, null, 1) + "\n");
console.log(`component built into ${outDir} (${Object.keys(files).length} files)`);
