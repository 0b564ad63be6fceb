"""Run ONNX models in the browser, so the files people pick never reach the server.

>>> result = streamlit_secure_context(
...     "models/classifier.onnx",
...     inference_params={"source": "file", "preprocess": {"kind": "csv"}},
...     key="clf",
... )

``to_dataframe(result)`` turns a result into a pandas DataFrame. For deployment, `security_middleware()` adds security headers and cross-origin isolation to
a whole app served with ``st.App``; see docs/deployment.md.

The arguments and results are described by TypedDicts (``InferenceParams``,
``SecurityConfig``, ``Result``, ...), exported here for editors and type checkers; see
docs/api.md. Plain dicts keep working: TypedDicts are dicts at run time.
"""

from . import _types
from ._api import streamlit_secure_context
from ._dataframe import to_dataframe
from ._types import *  # noqa: F403 (the TypedDicts are public; _types.__all__ lists them)
from .security_headers import SecurityHeadersMiddleware, security_middleware

__all__ = ["SecurityHeadersMiddleware", "security_middleware", "streamlit_secure_context", "to_dataframe"]
__all__ += _types.__all__
__version__ = "0.1.0"
