"""The app the browser tests drive: ?case=<name> picks a scenario; the result is dumped as JSON."""

import json
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image

from streamlit_secure_context import streamlit_secure_context

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "examples" / "models" / "digits_mlp.onnx"
CANCER = ROOT / "examples" / "models" / "breast_cancer_logreg.onnx"
LABELS = [f"digit {d}" for d in range(10)]
TRANSFORMER = ROOT / "crates" / "engine" / "tests" / "models" / "transformer_block.onnx"
# Two named inputs, float32 and int64, as test_onnx_breadth.py recomputes them.
TRANSFORMER_INPUTS = {
    "hidden_states": np.random.default_rng(5).normal(size=(1, 4, 32)).astype(np.float32).tolist(),
    "attention_mask": [[1, 1, 1, 0]],
}


TFLITE = ROOT / "crates" / "engine" / "tests" / "models" / "tflite"
# BlazeFace's input convention and its decoder config, as the engine's LiteRT golden records them.
BLAZEFACE_DETECTION = json.loads((ROOT / "crates" / "engine" / "tests" / "golden" / "tflite_blazeface_detections.json").read_text())["detection"]
SIGNED_UNIT = {"kind": "image", "layout": "nhwc", "scale": 1 / 127.5, "mean": [1.0, 1.0, 1.0], "std": [1.0, 1.0, 1.0]}


def digit_tensor(d: int) -> list:
    return (np.asarray(Image.open(ROOT / "examples" / "data" / f"digit_{d}.png"), dtype=np.float32) * 16 / 255).reshape(1, 64).tolist()


@st.cache_resource
def slow_model() -> Path:
    """~13 G multiply-adds from a 1 MB file: far past a half-second timeout in any browser."""
    import tempfile

    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.random.default_rng(0).normal(scale=0.05, size=(512, 512)).astype(np.float32), "w")
    # Broadcast by Add, not Tile: tract 0.23.9's declutter mis-shapes Tile followed by MatMul.
    rows = numpy_helper.from_array(np.random.default_rng(1).normal(size=(512, 512)).astype(np.float32), "rows")
    nodes, current = [helper.make_node("Add", ["x", "rows"], ["h0"])], "h0"
    for i in range(100):
        nodes += [helper.make_node("MatMul", [current, "w"], [f"m{i}"]), helper.make_node("Tanh", [f"m{i}"], [f"h{i + 1}"])]
        current = f"h{i + 1}"
    column = numpy_helper.from_array(np.ones((512, 1), dtype=np.float32), "v")
    nodes.append(helper.make_node("MatMul", [current, "v"], ["y"]))
    graph = helper.make_graph(nodes, "slow", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 512])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [512, 1])], [weight, rows, column])
    path = Path(tempfile.mkdtemp()) / "slow.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


@st.cache_resource
def hostile_models() -> dict[str, Path]:
    """Models that must fail cleanly: not ONNX at all, and a string output the engine cannot return."""
    import tempfile

    import onnx
    from onnx import TensorProto, helper

    folder = Path(tempfile.mkdtemp())
    (folder / "corrupt.onnx").write_bytes(np.random.default_rng(0).bytes(4096))
    graph = helper.make_graph([helper.make_node("Cast", ["x"], ["y"], to=TensorProto.STRING)], "strings",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.STRING, [1, 2])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), folder / "strings.onnx")
    graph = helper.make_graph([helper.make_node("Log", ["x"], ["y"])], "log",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), folder / "log.onnx")
    # Three N x N outputs of x, all alive until the run ends: for N = 20,000 that is 3 x 1.6 GB,
    # past the 4 GB a wasm32 instance can address, so the allocator fails mid-run.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n"])
    nodes = [helper.make_node("Unsqueeze", ["x", "one"], ["column"]), helper.make_node("Unsqueeze", ["x", "zero"], ["row"]),
             helper.make_node("Mul", ["column", "row"], ["product"]), helper.make_node("Add", ["column", "row"], ["sum"]),
             helper.make_node("Mul", ["product", "sum"], ["both"]), helper.make_node("ReduceSum", ["both"], ["y"], keepdims=0)]
    axes = [helper.make_tensor("zero", TensorProto.INT64, [1], [0]), helper.make_tensor("one", TensorProto.INT64, [1], [1])]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])] + [
        helper.make_tensor_value_info(name, TensorProto.FLOAT, ["n", "n"]) for name in ("product", "sum", "both")]
    graph = helper.make_graph(nodes, "outer", [x], outputs, axes)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), folder / "outer.onnx")
    return {"corrupt": folder / "corrupt.onnx", "strings": folder / "strings.onnx", "log": folder / "log.onnx",
            "outer": folder / "outer.onnx"}


@st.cache_resource
def identity_model(shape: tuple[int, ...] = (1, 3, 512, 512)) -> Path:
    """Returns its input as is: for 1 x 3 x 512 x 512, 786,432 numbers per result."""
    import tempfile

    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape))])
    path = Path(tempfile.mkdtemp()) / "identity.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


CASES = {
    "tensor": (DIGITS, {"input": digit_tensor(7), "inputName": "pixels",
                        "postprocess": {"output": "probabilities", "top_k": 3, "labels": LABELS}}),
    "image": (DIGITS, {"source": "file", "accept": [".png"],
                       "preprocess": {"kind": "image", "size": [8, 8], "color": "grayscale", "layout": "flat", "scale": 16 / 255},
                       "postprocess": {"output": "logits", "softmax": True, "top_k": 2, "labels": LABELS}}),
    "csv": (CANCER, {"source": "file", "preprocess": {"kind": "csv"}}),
    "slow": (None, {"input": [[0.1] * 512]}),
    "face": (TFLITE / "face_detection_short_range.tflite",
             {"source": "file", "preprocess": SIGNED_UNIT, "postprocess": {"detection": BLAZEFACE_DETECTION}}),
    "multi": (TRANSFORMER, {"inputs": TRANSFORMER_INPUTS, "postprocess": {"steps": [{"op": "softmax"}, {"op": "argmax"}]}}),
    "policy": (DIGITS, {"source": "file", "accept": [".png"],
                        "preprocess": {"kind": "image", "size": [8, 8], "color": "grayscale", "layout": "flat", "scale": 16 / 255},
                        "postprocess": {"output": "probabilities", "top_k": 3, "labels": LABELS}}),
    "policy_violation": (DIGITS, {"input": digit_tensor(7), "inputName": "pixels"}),
}
# The DICOM studies of scripts/gen_dicom.py are 64 x 48; the identity model returns the input.
CASES["dicom"] = (None, {"source": "file", "preprocess": {"kind": "dicom"}})
# The same, under the default policy: only a ranking leaves, never the pixels.
CASES["dicom_ranked"] = (None, {**CASES["dicom"][1], "postprocess": {"top_k": 1}})
CASES["strict"] = CASES["tensor"]
CASES["batch"] = (DIGITS, {**CASES["image"][1], "source": "files", "max_files": 3})
# Six results of 786,432 numbers each are more than one message may carry (32 MiB).
CASES["big_batch"] = (None, {"source": "files", "max_files": 8, "preprocess": {"kind": "image"}})
CASES["disabled"] = CASES["image"]
CASES["disabled_tensor"] = CASES["tensor"]
CASES["fixed"] = CASES["image"]
TIMEOUTS = {"slow": 0.5}
# A picked file's raw outputs leave only when named (the engine's minimum-necessary default):
# the cases whose tests compare every output with onnxruntime name them all.
EVERY_OUTPUT = {"disclosure": {"outputs": ["logits", "probabilities"]}}
SECURITY = {
    "image": EVERY_OUTPUT,
    "csv": EVERY_OUTPUT,
    "big_batch": {"disclosure": {"outputs": ["y"]}},
    "dicom": {"disclosure": {"outputs": ["y"], "dicom_attributes": ["Modality", "BodyPartExamined"]}},
    "strict": {"require_isolation": True},
    "policy": {"disclosure": {"top_k_only": True, "decimals": 2}},
    "policy_violation": {"disclosure": {"max_output_elements": 5, "on_violation": "error"}},
    # A sequence model: its steps rank each of the 4 tokens, more rows than the input's one sample.
    "multi": {"disclosure": {"max_rows": 4}},
}


def count_change() -> None:
    st.session_state.changes = st.session_state.get("changes", 0) + 1


# The picker's keyword arguments, per case.
UI = {
    "batch": {"label": "Digits to read", "help": "8 x 8 PNG scans. They never leave your browser.", "on_change": count_change},
    "disabled": {"disabled": True, "help": "Turned off by the app."},
    "disabled_tensor": {"disabled": True},
}

# One component (one key) switched between these by a radio: each hostile input must end in
# a clear error, and the same component must then answer the next, good one.
HOSTILE = {
    "image": lambda: CASES["image"],
    "corrupt model": lambda: (hostile_models()["corrupt"], CASES["image"][1]),
    "wrong shape": lambda: (DIGITS, {"input": [[0.5] * 10]}),
    "string output": lambda: (hostile_models()["strings"], {"input": [[1.0, 2.0]]}),
    "nan output": lambda: (hostile_models()["log"], {"input": [[-1.0, 2.0]]}),
    "csv": lambda: (CANCER, {**CASES["csv"][1], "postprocess": {"top_k": 1}}),
    "outer product": lambda: (hostile_models()["outer"], {"input": [1.0, 2.0, 3.0, 4.0]}),
    "memory bomb": lambda: (hostile_models()["outer"], {"input": [1.0] * 20_000}),
    "large outer product": lambda: (hostile_models()["outer"], {"input": [1.0] * 8_000}),
}

case = st.query_params.get("case", "tensor")
if case == "upload":
    # Streamlit's own upload (an XSRF-protected POST), to show the security headers keep it working.
    uploaded = st.file_uploader("upload")
    with st.container(key="result"):
        st.code(json.dumps(None if uploaded is None else {"name": uploaded.name, "size": uploaded.size}), language="json")
    st.stop()
if case == "hostile":
    variant = st.radio("variant", list(HOSTILE))
    model, params = HOSTILE[variant]()
    if "outer product" in variant or variant == "memory bomb":
        # An app that raised the per-tensor limit past what a wasm32 instance can hold. The
        # variants share it, so switching between them reuses the loaded model.
        SECURITY["hostile"] = {"limits": {"max_tensor_elements": 600_000_000}, "disclosure": {"outputs": ["y"]}}
elif case == "zoo":
    # A real exported model from the zoo's cache, on seeded inputs written beside it by the test.
    model = Path(st.query_params["model"])
    params = {"inputs": json.loads(Path(st.query_params["inputs"]).read_text())}
elif case == "rerun":
    # The app changes the request and the limits after the person picked a file: the kept file
    # must run again under each, with no new pick.
    top_k = st.radio("top_k", [2, 3])
    model, params = DIGITS, {**CASES["image"][1], "postprocess": {**CASES["image"][1]["postprocess"], "top_k": top_k}}
    SECURITY["rerun"] = {"limits": {"max_input_bytes": 16}} if st.checkbox("tight input limit") else None
else:
    model, params = CASES[case]
if case == "fixed":
    # Switchable, to show that a rerun without the fixed height lets the content size the frame again.
    UI["fixed"] = {"height": 150 if st.checkbox("fixed height", value=True) else None}
if model is None:
    model = {"big_batch": identity_model, "dicom": lambda: identity_model((1, 1, 48, 64)),
             "dicom_ranked": lambda: identity_model((1, 1, 48, 64))}.get(case, slow_model)()
st.session_state.runs = st.session_state.get("runs", 0) + 1
st.button("rerun")
result = streamlit_secure_context(model, inference_params=params, key=case, timeout=TIMEOUTS.get(case, 0),
                                  security_config=SECURITY.get(case), **UI.get(case, {}))
with st.container(key="result"):
    st.code(json.dumps(result), language="json")
with st.container(key="runs"):
    st.text(f"runs={st.session_state.runs}")
with st.container(key="changes"):
    st.text(f"changes={st.session_state.get('changes', 0)}")
