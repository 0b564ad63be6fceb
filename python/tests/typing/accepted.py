"""Typed use of the public API, which `mypy --strict` must accept (see test_typing.py).

Never run: it only has to type-check, so it may name files that do not exist.
"""

import numpy as np
import streamlit as st

from streamlit_secure_context import (
    CsvPreprocess,
    DetectionConfig,
    FileParams,
    ImagePreprocess,
    InputsParams,
    OkResult,
    Postprocess,
    Receipt,
    Result,
    SecurityConfig,
    TensorParams,
    streamlit_secure_context,
    to_dataframe,
)

image: ImagePreprocess = {
    "kind": "image", "size": [128, 128], "color": "rgb", "layout": "nchw", "resize": "stretch", "pad": 114,
    "scale": 1 / 255, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "dtype": "float32",
}
csv: CsvPreprocess = {"kind": "csv", "header": True, "delimiter": ";", "columns": ["age", "bmi"]}
detection: DetectionConfig = {
    "boxes": "regressors", "scores": "classificators", "coordinate_order": "xy", "box_scale": [128, 128, 128, 128],
    "keypoints": 6, "sigmoid": True, "score_clip": 100.0, "threshold": 0.5,
    "anchors": {"input_size": [128, 128], "num_layers": 4, "min_scale": 0.1484375, "max_scale": 0.75,
                "strides": [8, 16, 16, 16], "aspect_ratios": [1.0], "fixed_anchor_size": True},
    "nms": {"method": "weighted", "iou_threshold": 0.3},
}
ranking: Postprocess = {
    "softmax": True, "top_k": 3, "labels": ["cat", "dog", "bird"],
    "steps": [{"op": "sigmoid"}, {"op": "threshold", "value": 0.5}, {"op": "top_k", "k": 2}],
}
faces: FileParams = {"source": "file", "accept": [".png"], "preprocess": image, "postprocess": {"detection": detection}}
batch: FileParams = {"source": "files", "max_files": 20, "preprocess": csv, "postprocess": ranking}
from_numpy: TensorParams = {"input": np.zeros((1, 64), dtype=np.float32), "shape": [1, 64], "inputName": "pixels"}
nested: TensorParams = {"input": [[0.0, 1.0], [2, 3]]}
several: InputsParams = {"inputs": {"input_ids": [[101, 2023]], "attention_mask": [[1, 1]]}}
security: SecurityConfig = {
    "limits": {"max_input_bytes": 10_000_000},
    "require_isolation": True,
    "disclosure": {"top_k_only": True, "decimals": 3, "on_violation": "error"},
}


def show_one(result: OkResult) -> None:
    receipt: Receipt = result["receipt"]
    st.caption(f"{receipt['input_kind']} input, {len(receipt['sent'])} fields sent")
    if "top_k" in result:
        best = result["top_k"][0]
        label: str | None = best["label"]
        st.write(label, best["score"])
    for found in result.get("detections", []):
        xmin, ymin, xmax, ymax = found["box"]
        st.write(found["score"], xmax - xmin, ymax - ymin)
    st.dataframe(to_dataframe(result))


def show(result: Result | None) -> None:
    if result is None:
        return
    if result["status"] == "error":
        st.error(f"[{result['error']['code']}] {result['error']['message']}")
    elif "batch" in result:
        for item in result["batch"]:
            if item["status"] == "ok":
                show_one(item)
            else:
                st.warning(item["error"]["code"])
    else:
        show_one(result)


show(streamlit_secure_context("faces.onnx", security_config=security, inference_params=faces, key="faces"))
show(streamlit_secure_context("risk.onnx", inference_params=batch, key="batch", timeout=5))
show(streamlit_secure_context("mlp.onnx", inference_params=from_numpy, key="numpy"))
show(streamlit_secure_context("mlp.onnx", inference_params=nested, key="nested"))
show(streamlit_secure_context("bert.onnx", inference_params=several, key="bert"))
# Literals need no annotation: they are checked against the TypedDicts where they are passed.
show(streamlit_secure_context("digits.onnx", inference_params={"source": "file", "preprocess": {"kind": "image"}}))
