"""Batch: the person picks many scans at once; Python receives one row per file."""

import json
from pathlib import Path

import streamlit as st

from streamlit_secure_context import streamlit_secure_context, to_dataframe

MODELS = Path(__file__).parent.parent / "models"
MODEL = MODELS / "digits16_mlp.onnx"
PREPROCESS = json.loads((MODELS / "digits16_mlp.preprocess.json").read_text())
LABELS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

st.title("Batch of images")
st.write(
    "Pick or drop many scans of handwritten digits at once (try all of `examples/data/scan_*.png`). "
    "Each runs through the image classifier in your browser, in the order picked; this server "
    "receives one row per file: its position, never its name, and the likeliest digit."
)

result = streamlit_secure_context(
    MODEL,
    inference_params={
        "source": "files",
        "max_files": 50,
        "accept": [".png", ".jpg", ".jpeg", ".webp", ".bmp"],
        "preprocess": PREPROCESS,
        "postprocess": {"output": "probabilities", "top_k": 1, "labels": LABELS},
    },
    security_config={"disclosure": {"top_k_only": True, "decimals": 3}},
    key="batch",
    label="Scans of handwritten digits",
    help="Up to 50 images at once. They are read only in this browser; the server gets one row per file.",
)

with st.container(key="batch_result"):
    if result is None:
        st.info("No result yet: choose some images above.")
    elif result["status"] == "ok":
        table = to_dataframe(result)
        failed = int((table["status"] != "ok").sum())
        st.metric("Files classified", f"{len(table) - failed} of {len(table)}")
        st.table(table.style.hide(axis="index").format({"score": "{:.3f}"}, na_rep=""))
    else:
        st.error(f"{result['error']['code']}: {result['error']['message']}")
