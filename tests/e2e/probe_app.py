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


CASES = {
    "tensor": (DIGITS, {"input": digit_tensor(7), "inputName": "pixels",
                        "postprocess": {"output": "probabilities", "top_k": 3, "labels": LABELS}}),
    "image": (DIGITS, {"source": "file", "accept": [".png"],
                       "preprocess": {"kind": "image", "size": [8, 8], "color": "grayscale", "layout": "flat", "scale": 16 / 255},
                       "postprocess": {"output": "logits", "softmax": True, "top_k": 2, "labels": LABELS}}),
    "csv": (CANCER, {"source": "file", "preprocess": {"kind": "csv"}}),
    "slow": (None, {"input": [[0.1] * 512]}),
    "policy": (DIGITS, {"source": "file", "accept": [".png"],
                        "preprocess": {"kind": "image", "size": [8, 8], "color": "grayscale", "layout": "flat", "scale": 16 / 255},
                        "postprocess": {"output": "probabilities", "top_k": 3, "labels": LABELS}}),
    "policy_violation": (DIGITS, {"input": digit_tensor(7), "inputName": "pixels"}),
}
TIMEOUTS = {"slow": 0.5}
SECURITY = {
    "policy": {"disclosure": {"top_k_only": True, "decimals": 2}},
    "policy_violation": {"disclosure": {"max_output_elements": 5, "on_violation": "error"}},
}

case = st.query_params.get("case", "tensor")
model, params = CASES[case]
model = model or slow_model()
st.session_state.runs = st.session_state.get("runs", 0) + 1
st.button("rerun")
result = streamlit_secure_context(model, inference_params=params, key=case, timeout=TIMEOUTS.get(case, 0),
                                  security_config=SECURITY.get(case))
with st.container(key="result"):
    st.code(json.dumps(result), language="json")
with st.container(key="runs"):
    st.text(f"runs={st.session_state.runs}")
