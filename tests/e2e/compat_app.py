"""The smallest real use, for the version matrix: a CSV picked in the sandbox, the result dumped.

It imports nothing but streamlit and the package, and uses no Streamlit API newer than the
oldest supported release, so it runs unchanged in every corner of tests/e2e/compat_matrix.json.
"""

import json
from pathlib import Path

import streamlit as st

from streamlit_secure_context import streamlit_secure_context

MODEL = Path(__file__).resolve().parent / "breast_cancer_logreg.onnx"

result = streamlit_secure_context(
    MODEL,
    inference_params={"source": "file", "accept": [".csv"], "preprocess": {"kind": "csv", "header": True}},
    security_config={"disclosure": {"outputs": ["probabilities"]}},
    key="compat",
)
st.code(json.dumps({"streamlit": st.__version__, "result": result}), language="json")
