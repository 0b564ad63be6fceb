"""The native CLI on TFLite models against the LiteRT interpreter, computed live."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "crates" / "engine" / "tests"
MODELS = TESTS / "models" / "tflite"
FACE = TESTS / "data" / "astronaut_face_128.png"
SIGNED_UNIT = {"kind": "image", "layout": "nhwc", "scale": 1 / 127.5, "mean": [1.0, 1.0, 1.0], "std": [1.0, 1.0, 1.0]}


def litert(model: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    it = Interpreter(model_path=str(model))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return {o["name"]: it.get_tensor(o["index"]) for o in it.get_output_details()}


def test_cli_inspect_reports_tflite_io(cli):
    out = subprocess.run([cli, "inspect", str(MODELS / "face_detection_short_range.tflite")], capture_output=True, text=True, check=True)
    info = json.loads(out.stdout)
    assert info["format"] == "tflite"
    assert info["inputs"] == [{"name": "input", "shape": ["1", "128", "128", "3"], "dtype": "float32"}]
    assert [o["name"] for o in info["outputs"]] == ["regressors", "classificators"]


@pytest.mark.parametrize("model", ["face_detection_short_range.tflite", "tiny_cnn_fp16.tflite", "tiny_cnn_int8.tflite"])
def test_cli_run_matches_litert(cli, model, tmp_path):
    it = Interpreter(model_path=str(MODELS / model))
    shape = [int(d) for d in it.get_input_details()[0]["shape"]]
    x = np.random.default_rng(11).uniform(-1, 1, shape).astype(np.float32)
    request = tmp_path / "request.json"  # too long for a command line
    request.write_text(json.dumps({"input": {"kind": "tensor", "shape": shape, "data": x.reshape(-1).tolist()}}))
    out = subprocess.run([cli, "run", str(MODELS / model), "--config", f"@{request}"], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    # int8: the engine simulates each tensor's rounding, which may land one step (1/256) off.
    atol = 1 / 256 if "int8" in model else 1e-3
    for name, want in litert(MODELS / model, x).items():
        got = np.asarray(result["outputs"][name]["data"]).reshape(want.shape)
        np.testing.assert_allclose(got, want, atol=atol, rtol=1e-4)


def test_cli_runs_blazeface_on_an_image_file(cli):
    golden = json.loads((TESTS / "golden" / "tflite_blazeface_detections.json").read_text())
    request = {"input": {"kind": "file", "preprocess": SIGNED_UNIT}, "postprocess": {"detection": golden["detection"]}}
    out = subprocess.run(
        [cli, "run", str(MODELS / "face_detection_short_range.tflite"), "--input", str(FACE), "--config", json.dumps(request)],
        capture_output=True,
        text=True,
        check=True,
    )
    (face,) = json.loads(out.stdout)["detections"]
    x = (np.asarray(Image.open(FACE).convert("RGB"), dtype=np.float32) * np.float32(1 / 127.5) - 1)[None]
    raw = litert(MODELS / "face_detection_short_range.tflite", x)
    best = 1 / (1 + np.exp(-raw["classificators"].max()))
    assert face["score"] == pytest.approx(best, abs=1e-4)
    xmin, ymin, xmax, ymax = face["box"]
    assert 0 <= xmin < xmax <= 128 and 0 <= ymin < ymax <= 128
    assert len(face["keypoints"]) == 6


def test_cli_lists_unsupported_tflite_ops(cli, tmp_path):
    # inspect describes a model that does not load, and says why: the selfie segmentation model
    # with its custom operator renamed to one nobody implements (the name changed in place).
    data = (MODELS / "selfie_segmentation.tflite").read_bytes()
    assert b"Convolution2DTransposeBias" in data
    model = tmp_path / "unknown_custom_op.tflite"
    model.write_bytes(data.replace(b"Convolution2DTransposeBias", b"Convolution2DTransposeBiaZ"))
    out = subprocess.run([cli, "inspect", str(model)], capture_output=True, text=True, check=True)
    info = json.loads(out.stdout)
    assert info["format"] == "tflite"
    assert info["ops"]["unsupported"] == ['custom op "Convolution2DTransposeBiaZ"']
    assert info["ops"]["histogram"]['custom op "Convolution2DTransposeBiaZ"'] >= 1
    assert info["load"]["ok"] is False and info["load"]["code"] == "unsupported_ops"
    out = subprocess.run([cli, "run", str(model), "--config", "{}"], capture_output=True, text=True)
    assert out.returncode == 1
    assert "[unsupported_ops]" in out.stderr and "Convolution2DTransposeBiaZ" in out.stderr


def test_cli_runs_mediapipes_transposed_convolution_with_bias(cli):
    out = subprocess.run([cli, "inspect", str(MODELS / "selfie_segmentation.tflite")], capture_output=True, text=True, check=True)
    info = json.loads(out.stdout)
    assert info["ops"]["unsupported"] == [] and info["load"]["ok"] is True, info
