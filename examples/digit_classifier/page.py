"""Image classifier: the person picks a scan of a handwritten digit; Python receives the top 3 labels."""

import json
from pathlib import Path

import streamlit as st

from streamlit_secure_context import streamlit_secure_context, to_dataframe

MODELS = Path(__file__).parent.parent / "models"
MODEL = MODELS / "digits16_mlp.onnx"
# Resize to 16x16 grayscale, then (gray / 255 - mean) / std, as the model was trained
# (written next to the model by scripts/gen_example_models.py).
PREPROCESS = json.loads((MODELS / "digits16_mlp.preprocess.json").read_text())
LABELS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

st.title("Image classifier")
st.write(
    "Pick a photo or scan of one handwritten digit, dark ink on light paper, of any size "
    "(try `examples/data/scan_3.png`). Your browser resizes it to 16x16, normalizes it and runs a "
    "small neural network; this server receives only the three likeliest digits."
)

result = streamlit_secure_context(
    MODEL,
    inference_params={
        "source": "file",
        "accept": [".png", ".jpg", ".jpeg", ".webp", ".bmp"],
        "preprocess": PREPROCESS,
        "postprocess": {"output": "probabilities", "top_k": 3, "labels": LABELS},
    },
    security_config={"disclosure": {"top_k_only": True, "decimals": 3}},
    key="digit",
    label="A scan of a handwritten digit",
    help="Any size of PNG, JPEG or WebP; it is resized to 16 x 16 in this browser.",
)

with st.container(key="digit_classifier_result"):
    if result is None:
        st.info("No result yet: choose an image above.")
    elif result["status"] == "ok":
        best = result["top_k"][0]
        st.success(f"Predicted digit: {best['label']} ({best['score']:.1%})")
        st.table(to_dataframe(result)[["label", "score"]].style.format({"score": "{:.1%}"}))
    else:
        st.error(f"{result['error']['code']}: {result['error']['message']}")
