"""Engine breadth through the real browser: several named inputs of different dtypes, and
post-processing steps, from Python to the sandboxed Worker and back."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import onnxruntime as ort
from playwright.sync_api import Page

from helpers import ROOT, StreamlitServer, open_case, pick_file, wait_result


TRANSFORMER = ROOT / "crates" / "engine" / "tests" / "models" / "transformer_block.onnx"


def test_several_inputs_and_postprocess_steps(page: Page, probe_server: StreamlitServer) -> None:
    open_case(page, probe_server, "multi")
    result = wait_result(page)
    assert result["status"] == "ok", result
    hidden = np.random.default_rng(5).normal(size=(1, 4, 32)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0]], dtype=np.int64)
    session = ort.InferenceSession(str(TRANSFORMER), providers=["CPUExecutionProvider"])
    (want,) = session.run(None, {"hidden_states": hidden, "attention_mask": mask})
    got = result["outputs"]["output"]
    assert got["shape"] == [1, 4, 32]
    np.testing.assert_allclose(np.asarray(got["data"]).reshape(want.shape), want, atol=1e-4)
    softmax_step, argmax_step = result["postprocessed"]
    assert softmax_step["op"] == "softmax" and argmax_step["op"] == "argmax"
    exp = np.exp(want - want.max(axis=-1, keepdims=True))
    np.testing.assert_allclose(np.asarray(softmax_step["values"]["data"]).reshape(want.shape), exp / exp.sum(-1, keepdims=True), atol=1e-5)
    assert [c["index"] for c in argmax_step["classes"]] == want.reshape(4, 32).argmax(axis=-1).tolist()
    assert [c["row"] for c in argmax_step["classes"]] == [0, 1, 2, 3]


def test_tflite_face_detector_boxes_reach_python_as_the_cli_computes_them(page: Page, probe_server: StreamlitServer) -> None:
    """BlazeFace (TFLite, fp16 weights) on a face picked in the sandbox: decoded boxes and
    keypoints come back through the protocol, equal to what the native engine computes."""
    face = ROOT / "crates" / "engine" / "tests" / "data" / "astronaut_face_128.png"
    model = ROOT / "crates" / "engine" / "tests" / "models" / "tflite" / "face_detection_short_range.tflite"
    open_case(page, probe_server, "face")
    pick_file(page, face)
    result = wait_result(page)
    assert result["status"] == "ok", result
    # The request probe_app.py's "face" case sends.
    detection = json.loads((ROOT / "crates" / "engine" / "tests" / "golden" / "tflite_blazeface_detections.json").read_text())["detection"]
    preprocess = {"kind": "image", "layout": "nhwc", "scale": 1 / 127.5, "mean": [1.0, 1.0, 1.0], "std": [1.0, 1.0, 1.0]}
    request = {"input": {"kind": "file", "preprocess": preprocess}, "postprocess": {"detection": detection}}
    cli = os.environ["SSC_CLI"]
    native = json.loads(subprocess.run([cli, "run", str(model), "--input", str(face), "--config", json.dumps(request)],
                                       capture_output=True, text=True, check=True).stdout)
    assert len(result["detections"]) == len(native["detections"]) == 1
    got, want = result["detections"][0], native["detections"][0]
    assert set(got) == {"score", "box", "keypoints"}
    np.testing.assert_allclose(got["box"], want["box"], atol=1e-3)
    np.testing.assert_allclose(got["keypoints"], want["keypoints"], atol=1e-3)
    assert abs(got["score"] - want["score"]) < 1e-5
