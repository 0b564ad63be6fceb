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


CASES = {
    "tensor": (DIGITS, {"input": digit_tensor(7), "inputName": "pixels",
                        "postprocess": {"output": "probabilities", "top_k": 3, "labels": LABELS}}),
    "image": (DIGITS, {"source": "file", "accept": [".png"],
                       "preprocess": {"kind": "image", "size": [8, 8], "color": "grayscale", "layout": "flat", "scale": 16 / 255},
                       "postprocess": {"output": "logits", "softmax": True, "top_k": 2, "labels": LABELS}}),
    "csv": (CANCER, {"source": "file", "preprocess": {"kind": "csv"}}),
}

case = st.query_params.get("case", "tensor")
model, params = CASES[case]
st.session_state.runs = st.session_state.get("runs", 0) + 1
st.button("rerun")
result = streamlit_secure_context(model, inference_params=params, key=case)
with st.container(key="result"):
    st.code(json.dumps(result), language="json")
with st.container(key="runs"):
    st.text(f"runs={st.session_state.runs}")
