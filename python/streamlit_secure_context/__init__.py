"""Run ONNX models in the browser, so the files people pick never reach the server.

>>> result = streamlit_secure_context(
...     "models/classifier.onnx",
...     inference_params={"source": "file", "preprocess": {"kind": "csv"}},
...     key="clf",
... )
"""

from ._api import streamlit_secure_context

__all__ = ["streamlit_secure_context"]
__version__ = "0.1.0"
