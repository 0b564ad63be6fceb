"""The native CLI (the browser's pipeline) against onnxruntime, computed live."""

import json
import subprocess
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "examples" / "models"


@pytest.mark.parametrize(("model", "input_name", "features"), [("digits_mlp.onnx", "pixels", 64), ("breast_cancer_logreg.onnx", "features", 30)])
def test_cli_run_matches_onnxruntime(cli, model, input_name, features):
    x = np.random.default_rng(7).normal(size=(3, features)).astype(np.float32)
    request = {"input": {"kind": "tensor", "shape": list(x.shape), "data": x.reshape(-1).tolist()}}
    out = subprocess.run([cli, "run", str(MODELS / model), "--config", json.dumps(request)], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    session = ort.InferenceSession(str(MODELS / model), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    for name, want in zip(names, session.run(names, {input_name: x})):
        got = result["outputs"][name]
        assert got["shape"] == list(want.shape)
        np.testing.assert_allclose(np.asarray(got["data"]).reshape(want.shape), want, atol=1e-4)


def test_cli_errors_are_typed_and_exit_nonzero(cli):
    request = {"input": {"kind": "tensor", "shape": [1, 3], "data": [1, 2, 3]}}
    out = subprocess.run([cli, "run", str(MODELS / "digits_mlp.onnx"), "--config", json.dumps(request)], capture_output=True, text=True)
    assert out.returncode == 1
    assert "[shape_mismatch]" in out.stderr and "[N, 64]" in out.stderr


def test_cli_inspect_reports_io(cli):
    out = subprocess.run([cli, "inspect", str(MODELS / "digits_mlp.onnx")], capture_output=True, text=True, check=True)
    info = json.loads(out.stdout)
    assert info["format"] == "onnx"
    assert info["inputs"] == [{"name": "pixels", "shape": ["N", "64"], "dtype": "float32"}]


TEST_MODELS = ROOT / "crates" / "engine" / "tests" / "models"


def test_cli_feeds_several_named_inputs_of_different_dtypes(cli):
    """A transformer block with a float input and an int64 attention mask, against onnxruntime."""
    rng = np.random.default_rng(11)
    hidden = rng.normal(size=(2, 5, 32)).astype(np.float32)
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], dtype=np.int64)
    request = {"input": {"kind": "multiple", "inputs": [
        {"kind": "tensor", "name": "hidden_states", "shape": list(hidden.shape), "data": hidden.reshape(-1).tolist()},
        {"kind": "tensor", "name": "attention_mask", "shape": list(mask.shape), "data": mask.reshape(-1).tolist(), "dtype": "int64"},
    ]}}
    model = TEST_MODELS / "transformer_block.onnx"
    out = subprocess.run([cli, "run", str(model), "--config", json.dumps(request)], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout)["outputs"]["output"]
    (want,) = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).run(None, {"hidden_states": hidden, "attention_mask": mask})
    assert got["shape"] == list(want.shape)
    np.testing.assert_allclose(np.asarray(got["data"]).reshape(want.shape), want, atol=1e-4, rtol=1e-4)


def test_cli_inspect_lists_unsupported_ops_without_failing(cli):
    out = subprocess.run([cli, "inspect", str(TEST_MODELS / "skl_scaler_zipmap.onnx")], capture_output=True, text=True, check=True)
    info = json.loads(out.stdout)
    assert info["ops"]["unsupported"] == ["ai.onnx.ml.Scaler", "ai.onnx.ml.ZipMap"]
    assert info["ops"]["histogram"]["ai.onnx.ml.LinearClassifier"] == 1
    assert info["load"] == {"ok": False, "code": "unsupported_ops", "message": info["load"]["message"]}
    assert len(info["sha256"]) == 64


def test_cli_bench_reports_timings(cli):
    out = subprocess.run([cli, "bench", str(TEST_MODELS / "transformer_block.onnx"), "--runs", "5"], capture_output=True, text=True, check=True)
    bench = json.loads(out.stdout)
    assert bench["runs"] == 5 and 0 < bench["inference_min_ms"] <= bench["inference_median_ms"]


def test_cli_bench_refuses_a_huge_declared_input_before_allocating(cli):
    out = subprocess.run([cli, "bench", str(TEST_MODELS / "huge_dims.onnx")], capture_output=True, text=True)
    assert out.returncode == 1 and "[tensor_too_large]" in out.stderr, out.stderr
