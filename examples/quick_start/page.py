"""Quick start: a tensor supplied by Python, an image and a CSV the person picks."""

from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image

from streamlit_secure_context import streamlit_secure_context, to_dataframe

EXAMPLES = Path(__file__).parent.parent
DIGITS = EXAMPLES / "models" / "digits_mlp.onnx"
CANCER = EXAMPLES / "models" / "breast_cancer_logreg.onnx"
DIGIT_LABELS = [str(d) for d in range(10)]

st.title("Secure in-browser inference")
st.caption(
    "Each model below runs in a Rust/WebAssembly engine inside a sandboxed frame of your browser. "
    "Files you pick are read only there; this server receives the results shown under each one."
)
st.write("The pages in the sidebar are complete examples: a tabular risk score, an image classifier, "
         "face detection and a batch of images.")

st.header("1. A tensor supplied by Python")
sample = st.selectbox("Digit image shipped with the app", range(10), index=7)
# Scikit-learn's digits are 8x8 ink intensities from 0 to 16.
pixels = np.asarray(Image.open(EXAMPLES / "data" / f"digit_{sample}.png").convert("L"), dtype=np.float32) * 16 / 255
result = streamlit_secure_context(
    DIGITS,
    inference_params={
        "input": pixels.reshape(1, 64).tolist(),
        "inputName": "pixels",
        "postprocess": {"output": "probabilities", "top_k": 3, "labels": DIGIT_LABELS},
    },
    key="tensor",
)
with st.container(key="tensor_result"):
    st.json(result if result is not None else "waiting for the browser…", expanded=False)
    if result and result["status"] == "ok":
        best = result["top_k"][0]
        st.success(f"Predicted digit: {best['label']} ({best['score']:.1%})")

st.header("2. An image you pick (stays in your browser)")
st.write("Try one of `examples/data/digit_*.png`: 8x8 grayscale digits.")
result = streamlit_secure_context(
    DIGITS,
    inference_params={
        "source": "file",
        "accept": [".png", ".jpg", ".jpeg"],
        "preprocess": {"kind": "image", "size": [8, 8], "color": "grayscale", "layout": "flat", "scale": 16 / 255},
        "postprocess": {"output": "probabilities", "top_k": 3, "labels": DIGIT_LABELS},
    },
    key="image",
)
with st.container(key="image_result"):
    if result is None:
        st.info("No result yet: choose a file above.")
    elif result["status"] == "ok":
        st.success(f"Predicted digit: {result['top_k'][0]['label']} ({result['top_k'][0]['score']:.1%})")
        st.json(result, expanded=False)
    else:
        st.error(f"{result['error']['code']}: {result['error']['message']}")

st.header("3. A patient CSV you pick (stays in your browser)")
st.write("Try `examples/data/patients.csv`: one row of 30 tumour measurements per patient.")
result = streamlit_secure_context(
    CANCER,
    inference_params={"source": "file", "preprocess": {"kind": "csv", "header": True}},
    # A picked file's raw outputs leave only when named: the probabilities, not the logits.
    security_config={"disclosure": {"outputs": ["probabilities"]}},
    key="csv",
)
with st.container(key="csv_result"):
    if result is None:
        st.info("No result yet: choose a file above.")
    elif result["status"] == "ok":
        # One row per patient, in file order.
        st.dataframe(to_dataframe(result, "probabilities", columns=["P(malignant)", "P(benign)"]))
    else:
        st.error(f"{result['error']['code']}: {result['error']['message']}")
