"""Mistakes `mypy --strict` must report, each on the line marked ``# rejected`` (see test_typing.py).

Never run: it only has to fail the type check, line by line.
"""

from streamlit_secure_context import (
    CsvPreprocess,
    DetectionConfig,
    FileParams,
    ImagePreprocess,
    Postprocess,
    Result,
    SecurityConfig,
    streamlit_secure_context,
)

colour: ImagePreprocess = {"kind": "image", "color": "purple"}  # rejected
typo: ImagePreprocess = {"kind": "image", "sise": [8, 8]}  # rejected
column_numbers: CsvPreprocess = {"kind": "csv", "columns": [0, 1]}  # rejected
no_preprocess: FileParams = {"source": "file"}  # rejected
url: FileParams = {"source": "url", "preprocess": {"kind": "csv"}}  # rejected
top_k_text: Postprocess = {"top_k": "3"}  # rejected
unknown_step: Postprocess = {"steps": [{"op": "median"}]}  # rejected
no_nms: DetectionConfig = {"boxes": "b", "scores": "s", "coordinate_order": "xy", "box_scale": [1, 1, 1, 1], "threshold": 0.5, "anchors": {"input_size": [8, 8], "num_layers": 1, "min_scale": 0.1, "max_scale": 0.5, "strides": [8], "aspect_ratios": [1.0]}}  # rejected
violation: SecurityConfig = {"disclosure": {"on_violation": "drop"}}  # rejected
streamlit_secure_context("m.onnx", inference_params={"input": [1.0], "shape": "1"})  # rejected


def error_code(result: Result) -> str:
    return result["error"]["code"]  # rejected
