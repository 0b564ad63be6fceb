"""Face detection: the person picks a photo; Python receives the number of faces and their boxes."""

import json
from pathlib import Path

import streamlit as st

from streamlit_secure_context import streamlit_secure_context, to_dataframe

MODELS = Path(__file__).parent.parent / "models"
MODEL = MODELS / "face_detection_short_range.tflite"
# MediaPipe's BlazeFace short-range setup: pixels to [-1, 1], SSD anchors, sigmoid scores,
# threshold 0.5 and weighted non-maximum suppression.
BOX = ["xmin", "ymin", "xmax", "ymax"]
CONFIG = json.loads((MODELS / "face_detection_short_range.json").read_text())

st.title("Face detection")
st.write(
    "Pick a photo in which a face fills most of the frame (try `examples/data/astronaut_face.png`). "
    "MediaPipe's BlazeFace short-range detector runs in your browser and draws the boxes on your "
    "photo there; this server receives only how many faces it found and where."
)

result = streamlit_secure_context(
    MODEL,
    inference_params={
        "source": "file",
        "accept": [".png", ".jpg", ".jpeg", ".webp"],
        "preprocess": CONFIG["preprocess"],
        "postprocess": {"detection": CONFIG["detection"]},
    },
    # Only the decoded detections (17 numbers a face) leave; the raw tensors (896 scores,
    # 896 x 16 box regressions) stay in the browser.
    security_config={"disclosure": {"outputs": [], "derived": ["detections"], "decimals": 2}},
    key="face",
    label="A photo with a face",
    help="The photo and its preview stay in this browser; only the boxes are sent.",
)

with st.container(key="face_detection_result"):
    if result is None:
        st.info("No result yet: choose a photo above.")
    elif result["status"] == "ok":
        st.metric("Faces found", len(result["detections"]))
        if result["detections"]:
            boxes = to_dataframe(result, "detections")
            boxes.insert(0, "face", range(1, len(boxes) + 1))
            st.write("Boxes, in pixels of your photo (x to the right, y down):")
            st.table(boxes.style.hide(axis="index").format({**dict.fromkeys(BOX, "{:.1f}"), "score": "{:.2f}"}))
        st.caption(f"Kept in your browser: {', '.join(w['output'] for w in result['receipt']['withheld'])}.")
    else:
        st.error(f"{result['error']['code']}: {result['error']['message']}")
