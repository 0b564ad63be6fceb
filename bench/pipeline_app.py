"""The Streamlit app the benchmark drives for the real pipeline: ?model=<name> from the model set.

Image models take the picked PNG through the sandbox and the engine's own decoding; the others
take a tensor from Python. Every result's engine timings are appended to a list shown as JSON,
which bench/run.py reads. "rerun" changes one input value, so the request differs and runs again.
"""

import json
import os
from pathlib import Path

import numpy as np
import streamlit as st

from streamlit_secure_context import streamlit_secure_context

MODELS = Path(os.environ["SSC_BENCH_MODELS"])
entry = next(e for e in json.loads((MODELS / "models.json").read_text()) if e["name"] == st.query_params["model"])

st.session_state.setdefault("bump", 0)
if st.button("rerun"):
    st.session_state.bump += 1
if "images" in entry:
    _, _, height, width = entry["shape"]
    params = {"source": "file", "accept": [".png"], "inputName": entry["input"],
              "preprocess": {"kind": "image", "size": [width, height], "layout": "nchw",
                             "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}}
else:
    data = np.fromfile(MODELS / entry["input_bin"], dtype=entry["dtype"]).reshape(entry["shape"])
    data = data.astype(np.float64)
    data.flat[1] += st.session_state.bump  # a different request per rerun (still a valid token id)
    params = {"input": data.tolist(), "inputName": entry["input"]}



@st.cache_resource
def output_names(model: str) -> list[str]:
    import onnx

    return [o.name for o in onnx.load(MODELS / model, load_external_data=False).graph.output]


# Every output comes back, as before the engine's minimum-necessary default for picked files:
# the benchmark times the whole result's way to Python.
security = {"disclosure": {"outputs": output_names(entry["model"])}} if "images" in entry else None
result = streamlit_secure_context(MODELS / entry["model"], inference_params=params, key="bench", timeout=0,
                                  security_config=security)
if result is not None and result.get("status") == "ok":
    # The same result comes back on every rerun until the next one; count each run once. Two
    # runs in a row never share an input (the harness alternates images, "rerun" bumps the
    # tensor), so their outputs, or else their timings, tell them apart (a saturated softmax
    # can give equal outputs; the sandbox's clock alone is too coarse for a tiny model).
    stamp = json.dumps([[out["data"][:8] for out in result["outputs"].values()], result["timings_ms"]])
    if st.session_state.get("last") != stamp:
        st.session_state.last = stamp
        st.session_state.setdefault("timings", []).append(result["timings_ms"])
elif result is not None:
    st.session_state.setdefault("errors", []).append(result)
with st.container(key="timings"):
    st.code(json.dumps({"timings": st.session_state.get("timings", []),
                        "errors": st.session_state.get("errors", [])}), language="json")
