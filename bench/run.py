"""Runs the benchmark side by side and writes JSON, a Markdown table and a bar chart.

    python bench/run.py [--quick] [--runs N] [--warmup N] [--models a,b] [--out DIR] [--chart PNG]

Expects the release engine already built into the package (scripts/bench does that). Prints
numbers only: it never fails on timing, only when a runner itself fails.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from helpers import CHROMIUM, CHROMIUM_FLAGS, COMPONENT_IFRAME, StreamlitServer  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402

BENCH = ROOT / "bench"
ENGINE = ROOT / "python" / "streamlit_secure_context" / "frontend" / "engine"
ORT_DIST = BENCH / "node_modules" / "onnxruntime-web" / "dist"
CACHE = Path(os.environ.get("SSC_CACHE", Path.home() / ".cache" / "streamlit-secure-context"))
TIMINGS = ".st-key-timings code"
TIME = "/usr/bin/time"  # GNU time, Debian's `time` package (scripts/bench installs it)


def stats(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


# --- the static page: bench/web, the shipped engine, onnxruntime-web's dist, the models ---------

class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm",
                      ".mjs": "text/javascript", ".js": "text/javascript"}
    mounts: dict[str, Path] = {}

    def translate_path(self, path: str) -> str:
        path = path.split("?", 1)[0]
        for prefix, base in self.mounts.items():
            if path.startswith(prefix):
                return str(base / path[len(prefix):])
        return str(BENCH / "web" / path.lstrip("/"))

    def end_headers(self) -> None:
        # Cross-origin isolated: performance.now() then ticks in 5 us, not 100 us steps.
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()

    def log_message(self, *args) -> None:  # quiet: the benchmark prints its own progress
        pass


def serve(models: Path, engine: Path = ENGINE) -> tuple[http.server.ThreadingHTTPServer, str]:
    Handler.mounts = {"/engine/": engine, "/ort/": ORT_DIST, "/models/": models}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


# --- (b) our engine in a plain Worker, (c) onnxruntime-web: interleaved, run for run ----------

def browser_pair(page: Page, entry: dict, warmup: int, runs: int) -> tuple[dict, dict]:
    r = page.evaluate("job => benchPair(job)", {"model": entry, "warmup": warmup, "runs": runs})
    ours, ort = r["ours"], r["ort"]
    scalars = {k: v for k, v in ours.items() if k not in ("wall_ms", "inference_ms")}
    # Each run of ours next to the run of onnxruntime-web right after it: the same load.
    paired = statistics.median(a / b for a, b in zip(ours["wall_ms"], ort["wall_ms"]))
    return ({**scalars, "run": stats(ours["wall_ms"]), "inference": stats(ours["inference_ms"]),
             "paired_ratio_to_ort_web": paired},
            {"create_ms": ort["create_ms"], "first_run_ms": ort["first_run_ms"], "run": stats(ort["wall_ms"]),
             "wasm_memory_bytes": ort["wasm_memory_bytes"]})


# --- (d) native tract through `ssc bench`, (e) onnxruntime native --------------------------------

def measured(cmd: list[str]) -> tuple[str, int]:
    """Runs cmd; returns its stdout and its peak RSS in bytes. Through GNU time: a child forked
    from this Python process would report Python's own RSS as its peak (Linux keeps the
    pre-exec high-water mark)."""
    rss_path = CACHE / "bench" / "child.maxrss"
    proc = subprocess.run([TIME, "-f", "%M", "-o", str(rss_path), *cmd], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout, int(rss_path.read_text().split()[-1]) * 1024


def native_tract(cli: Path, models: Path, entry: dict, runs: int) -> dict:
    import numpy as np

    data = np.fromfile(models / entry["input_bin"], dtype=entry["dtype"]).astype(np.float64).ravel().tolist()
    config = CACHE / "bench" / f"{entry['name']}.request.json"
    config.write_text(json.dumps({"input": {"kind": "tensor", "name": entry["input"], "shape": entry["shape"], "data": data}}))
    out, rss = measured([str(cli), "bench", str(models / entry["model"]), "--config", f"@{config}", "--runs", str(runs)])
    r = json.loads(out)
    return {"load_ms": r["load_ms"], "plan_ms": r["plan_ms"], "peak_rss_bytes": rss,
            "inference": {"median": r["inference_median_ms"], "min": r["inference_min_ms"],
                          "max": r["inference_max_ms"], "n": r["runs"]}}


def ort_native(models: Path, entry: dict, warmup: int, runs: int) -> dict:
    out, rss = measured([sys.executable, str(BENCH / "ort_native.py"), str(models), entry["name"], str(warmup), str(runs)])
    r = json.loads(out)
    return {"create_ms": r["create_ms"], "run": stats(r["wall_ms"]), "peak_rss_bytes": rss}


# --- (a) the real pipeline: streamlit run, host frame, sandbox frame, blob Worker ----------------

def pipeline_timings(page: Page, count: int, timeout_s: float) -> list[dict]:
    page.wait_for_function(
        """n => { const e = document.querySelector(%r); if (!e) return false;
                  const s = JSON.parse(e.textContent); if (s.errors.length) return true; return s.timings.length >= n; }"""
        % TIMINGS, arg=count, polling=5, timeout=timeout_s * 1000)
    state = json.loads(page.locator(TIMINGS).inner_text())
    if state["errors"]:
        raise RuntimeError(f"pipeline error: {state['errors']}")
    return state["timings"]


class Transfer:
    """Bytes over the wire while a page loads, by what they carried: CDP's `encodedDataLength`,
    which is 0 for a response the browser had cached and counts nothing read from Cache Storage.
    The host frame (the app's origin) makes the engine's and the model's requests, in the page's
    process, so the page's session sees them."""

    def __init__(self, context, page: Page) -> None:
        self.urls: dict[str, str] = {}
        self.counts = {"engine": 0, "model": 0, "other": 0}
        client = context.new_cdp_session(page)
        client.on("Network.responseReceived", lambda e: self.urls.__setitem__(e["requestId"], e["response"]["url"]))
        client.on("Network.loadingFinished", self.finished)
        client.send("Network.enable")

    def finished(self, event: dict) -> None:
        url = self.urls.get(event["requestId"], "")
        # Streamlit serves the model under /media/; its own fonts are under /static/media/.
        kind = "engine" if "/engine/engine." in url else "model" if "/media/" in url and "/static/" not in url else "other"
        self.counts[kind] += int(event["encodedDataLength"])

    def take(self) -> dict:
        counts, self.counts = self.counts, {"engine": 0, "model": 0, "other": 0}
        return counts


def pipeline(browser, server: StreamlitServer, models: Path, entry: dict, warmup: int, runs: int) -> dict:
    context = browser.new_context()
    page = context.new_page()
    transfer = Transfer(context, page)
    images = [models / name for name in entry.get("images", [])]
    sandbox = page.frame_locator(COMPONENT_IFRAME).frame_locator("#sandbox")
    host = page.locator(COMPONENT_IFRAME)

    def trigger(i: int) -> None:
        if images:
            sandbox.locator("#file").set_input_files(str(images[i % len(images)]))
        else:
            page.get_by_role("button", name="rerun").click()

    def first_result() -> float:
        """Mount -> first result, in ms: the host document starts when the component mounts."""
        host.wait_for(timeout=60_000)
        if images:  # picked as soon as the picker shows, as a person would at best
            sandbox.locator("#pick").wait_for(state="visible", timeout=120_000)
            trigger(0)
        pipeline_timings(page, 1, 600)
        return host.element_handle().content_frame().evaluate("performance.now()")

    def steps() -> dict:
        """The component's marks (component/src/timeline.ts), in ms since mount, both frames'
        timelines put on the host's by their `timeOrigin`."""
        read = "({origin: performance.timeOrigin, marks: performance.getEntriesByType('mark')" \
               ".filter(m => m.name.startsWith('ssc:')).map(m => [m.name.slice(4), m.startTime])})"
        host_frame = host.element_handle().content_frame()
        frames = [host_frame.evaluate(read), host_frame.child_frames[0].evaluate(read)]
        zero = frames[0]["origin"]
        return {name: round(f["origin"] + t - zero, 1) for f in frames for name, t in f["marks"]}

    try:
        # Cold: a new browser context, nothing cached. Warm: the same page reloaded, the engine
        # and the model unchanged (read from the host's Cache Storage).
        page.goto(f"{server.url}/?model={entry['name']}")
        cold = first_result()
        cold_bytes, cold_steps = transfer.take(), steps()
        first = json.loads(page.locator(TIMINGS).inner_text())["timings"][0]
        page.reload()
        warm = first_result()
        warm_bytes, warm_steps = transfer.take(), steps()
        round_trips = []
        for i in range(warmup + runs):
            start = time.perf_counter()
            trigger(i + 1)
            pipeline_timings(page, i + 2, 300)
            if i >= warmup:
                round_trips.append((time.perf_counter() - start) * 1000)
        timings = json.loads(page.locator(TIMINGS).inner_text())["timings"][1 + warmup:]
        return {"mount_to_first_result_ms": cold, "reload_to_first_result_ms": warm,
                "bytes_first_load": cold_bytes, "bytes_reload": warm_bytes,
                "steps_first_load_ms": cold_steps, "steps_reload_ms": warm_steps, "first_plan_ms": first["plan"],
                "first_inference_ms": first["inference"],
                "inference": stats([t["inference"] for t in timings]),
                "preprocess": stats([t["preprocess"] for t in timings]),
                "round_trip": stats(round_trips), "input": "png file via the sandbox" if images else "tensor from Python"}
    finally:
        context.close()


# --- report ------------------------------------------------------------------------------------

def sizes(engine: Path = ENGINE) -> dict:
    def raw_gzip(path: Path) -> dict:
        data = path.read_bytes()
        return {"file": path.name, "raw_bytes": len(data), "gzip_bytes": len(gzip.compress(data, 9))}
    ort_wasm = ORT_DIST / "ort-wasm-simd-threaded.wasm"
    return {"ours": raw_gzip(engine / "engine.wasm"), "onnxruntime_web": raw_gzip(ort_wasm)}


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    import onnxruntime

    ort_web = json.loads((ORT_DIST.parent / "package.json").read_text())["version"]
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(int(mem) / 2**20, 1), "gpu": "none",
            "os": platform.platform(), "chromium": chromium, "onnxruntime_web": ort_web,
            "onnxruntime": onnxruntime.__version__, "python": platform.python_version()}


def fmt(s: dict | None) -> str:
    return "–" if not s else f"{s['median']:.2f} ({s['min']:.2f}–{s['max']:.2f})"


def ratio(a: dict | None, b: dict | None, paired: float | None = None) -> str:
    """Of medians, of minimums, and (when given) the median of run-for-run ratios."""
    if not a or not b:
        return "–"
    text = f"{a['median'] / b['median']:.2f} / {a['min'] / max(b['min'], 1e-3):.2f}"
    return text if paired is None else f"{text} / **{paired:.2f}**"


# The component's steps from mount to first result, in the order they happen (timeline.ts).
STEPS = ["first-render", "engine-bytes", "boot", "compiled", "worker-ready", "model-bytes", "model-received",
         "model-loaded", "worker-result", "result"]


def markdown(report: dict) -> str:
    rows = ["| model | (a) pipeline, engine clock | (a) round trip via Streamlit | (b) Worker, run() | "
            "(b) engine clock | (c) onnxruntime-web | (d) native tract | (e) onnxruntime native | "
            "ours / ort-web (medians / mins / **paired**) | ours / native tract (medians / mins) |", "|" + " --- |" * 10]
    for name, r in report["models"].items():
        a, b, c, d, e = (r.get(k) for k in ("pipeline", "ours_worker", "ort_web", "native_tract", "ort_native"))
        rows.append(f"| {name} | {fmt(a and a['inference'])} | {fmt(a and a['round_trip'])} | {fmt(b and b['run'])} | "
                    f"{fmt(b and b['inference'])} | {fmt(c and c['run'])} | {fmt(d and d['inference'])} | "
                    f"{fmt(e and e['run'])} | {ratio(b and b['run'], c and c['run'], b and b.get('paired_ratio_to_ort_web'))} | "
                    f"{ratio(b and b['inference'], d and d['inference'])} |")
    rows += ["", "Preparation (ms) and memory (MiB):", "",
             "| model | size MB | ours: load | ours: plan (at load, else 1st run) | (a) mount → first result | ort-web: create | "
             "tract: load + plan | ort native: create | ours wasm heap | ort-web wasm heap | tract peak RSS | "
             "ort native peak RSS |", "|" + " --- |" * 12]
    mib = lambda v: "–" if v is None else f"{v / 2**20:.0f}"  # noqa: E731
    num = lambda v: "–" if v is None else f"{v:.0f}"  # noqa: E731
    for name, r in report["models"].items():
        a, b, c, d, e = (r.get(k) or {} for k in ("pipeline", "ours_worker", "ort_web", "native_tract", "ort_native"))
        tract_prep = f"{d['load_ms']:.0f} + {d['plan_ms']:.0f}" if d else "–"
        rows.append(f"| {name} | {r['bytes'] / 1e6:.1f} | {num(b.get('load_ms'))} | {num(b.get('prepare_ms') or b.get('first_plan_ms'))} | "
                    f"{num(a.get('mount_to_first_result_ms'))} | {num(c.get('create_ms'))} | {tract_prep} | "
                    f"{num(e.get('create_ms'))} | {mib(b.get('wasm_memory_bytes'))} | {mib(c.get('wasm_memory_bytes'))} | "
                    f"{mib(d.get('peak_rss_bytes'))} | {mib(e.get('peak_rss_bytes'))} |")
    rows += ["", "A person's wait, in the pipeline (a): mount → first result (ms) and bytes over the wire (MB), "
             "engine / model / the rest (Streamlit's page). Cold: a new browser context. Reload: the same page "
             "reloaded, engine and model unchanged.", "",
             "| model | cold: mount → first result | reload: mount → first result | cold: bytes | reload: bytes |",
             "|" + " --- |" * 5]
    mb = lambda c: "–" if not c else f"{c['engine'] / 1e6:.2f} / {c['model'] / 1e6:.2f} / {c['other'] / 1e6:.2f}"  # noqa: E731
    for name, r in report["models"].items():
        a = r.get("pipeline") or {}
        rows.append(f"| {name} | {num(a.get('mount_to_first_result_ms'))} | {num(a.get('reload_to_first_result_ms'))} | "
                    f"{mb(a.get('bytes_first_load'))} | {mb(a.get('bytes_reload'))} |")
    rows += ["", "Where the reload's wait goes: ms since mount at each step (host: first render, engine bytes read, "
             "model bytes read, result; sandbox: boot, engine compiled, Worker ready, model received, model loaded, "
             "Worker result).", "", "| model | " + " | ".join(STEPS) + " |", "|" + " --- |" * (len(STEPS) + 1)]
    for name, r in report["models"].items():
        steps = (r.get("pipeline") or {}).get("steps_reload_ms") or {}
        rows.append(f"| {name} | " + " | ".join(num(steps.get(step)) for step in STEPS) + " |")
    loads = [v["load_avg_1m"] for r in report["models"].values() for v in r.values() if isinstance(v, dict) and "load_avg_1m" in v]
    if loads:
        rows += ["", f"1-minute load average on the {report['machine']['cores']} cores after each runner: "
                 f"{min(loads):.1f}–{max(loads):.1f}."]
    s = report["sizes"]
    rows += ["", f"Shipped engine: `{s['ours']['file']}` {s['ours']['raw_bytes'] / 1e6:.2f} MB raw, "
             f"{s['ours']['gzip_bytes'] / 1e6:.2f} MB gzip -9 (onnxruntime-web's `{s['onnxruntime_web']['file']}`: "
             f"{s['onnxruntime_web']['raw_bytes'] / 1e6:.2f} MB raw, {s['onnxruntime_web']['gzip_bytes'] / 1e6:.2f} MB gzip)."]
    return "\n".join(rows) + "\n"


def write(out: Path, report: dict) -> str:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(report, indent=1) + "\n")
    table = markdown(report)
    (out / "results.md").write_text(table)
    return table


def chart(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = [("(a) ours, pipeline", "pipeline", "inference"), ("(b) ours, Worker", "ours_worker", "run"),
              ("(c) onnxruntime-web", "ort_web", "run"), ("(d) tract native", "native_tract", "inference"),
              ("(e) onnxruntime native", "ort_native", "run")]
    names = list(report["models"])
    fig, ax = plt.subplots(figsize=(11, 5), dpi=100)
    width = 0.16
    for i, (label, key, stat) in enumerate(series):
        values = [(report["models"][n].get(key) or {}).get(stat, {}).get("median", 0) for n in names]
        ax.bar([x + (i - 2) * width for x in range(len(names))], values, width, label=label)
    ax.set_xticks(range(len(names)), names)
    ax.set_yscale("log")
    ax.set_ylabel("median inference, ms (log scale)")
    loads = [v["load_avg_1m"] for r in report["models"].values() for v in r.values() if isinstance(v, dict) and "load_avg_1m" in v]
    load = f", load average {min(loads):.0f}–{max(loads):.0f}" if loads else ""
    ax.set_title(f"Single thread, {report['machine']['cpu']}, {report['machine']['cores']} cores{load}, "
                 f"{report['machine']['chromium'].split(' built')[0]}", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the tiny MLP only, few runs: keeps the harness working")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--models", default=None, help="comma-separated subset of the model set")
    parser.add_argument("--skip", default="", help="comma-separated runners to skip: pipeline,browser,tract,ort")
    parser.add_argument("--out", type=Path, default=None, help="default: bench/results(-quick) in the cache")
    parser.add_argument("--chart", type=Path, default=None, help="write the bar chart here (full runs: docs/perf.png)")
    parser.add_argument("--cli", type=Path, required=True, help="the release `ssc` binary")
    parser.add_argument("--engine", type=Path, default=ENGINE,
                        help="a directory with engine.js and engine.wasm to time in (b) instead of the built package's")
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 20)
    warmup = args.warmup or (1 if args.quick else 3)
    skip = set(filter(None, args.skip.split(",")))
    out = args.out or CACHE / "bench" / ("results-quick" if args.quick else "results")

    models = CACHE / "bench" / ("models-quick" if args.quick else "models")
    subprocess.run([sys.executable, str(BENCH / "gen_models.py"), str(models)] + (["--quick"] if args.quick else []),
                   check=True)
    entries = json.loads((models / "models.json").read_text())
    if args.models:
        wanted = args.models.split(",")
        entries = [e for e in entries if e["name"] in wanted]
    os.environ["SSC_BENCH_MODELS"] = str(models)

    report = {"machine": machine(), "runs": runs, "warmup": warmup, "sizes": sizes(), "models": {}}
    server, base = serve(models, args.engine)
    report["sizes"]["ours"] = sizes(args.engine)["ours"]
    streamlit = None if "pipeline" in skip else StreamlitServer(BENCH / "pipeline_app.py")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
            page = browser.new_page()
            page.goto(base)
            page.wait_for_function("document.getElementById('status').textContent === 'ready'")
            for entry in entries:
                r = report["models"][entry["name"]] = {"kind": entry["kind"], "bytes": entry["bytes"]}
                steps = [("browser", "browser", lambda: browser_pair(page, entry, warmup, runs)),
                         ("native_tract", "tract", lambda: native_tract(args.cli, models, entry, runs)),
                         ("ort_native", "ort", lambda: ort_native(models, entry, warmup, runs)),
                         ("pipeline", "pipeline", lambda: pipeline(browser, streamlit, models, entry, warmup, runs))]
                for key, flag, fn in steps:
                    if flag in skip:
                        continue
                    print(f"{entry['name']}: {key}…", flush=True)
                    results = fn()
                    if key == "browser":
                        r["ours_worker"], r["ort_web"] = results
                    else:
                        r[key] = results
                    # The machine is shared: the 1-minute load average says how busy it was.
                    for k in (("ours_worker", "ort_web") if key == "browser" else (key,)):
                        r[k]["load_avg_1m"] = os.getloadavg()[0]
                    write(out, report)  # after every runner: a failure later keeps what was measured
            browser.close()
    finally:
        server.shutdown()
        if streamlit:
            streamlit.stop()

    table = write(out, report)
    if args.chart:
        chart(report, args.chart)
    print("\n" + table)
    print(f"written: {out / 'results.json'}, {out / 'results.md'}" + (f", {args.chart}" if args.chart else ""))


if __name__ == "__main__":
    main()
