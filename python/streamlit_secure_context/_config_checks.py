"""Field-by-field checks of ``preprocess`` and ``postprocess``, mirroring the engine's rules.

The engine (`ssc_engine::ImagePreprocess`, `CsvPreprocess`, `Postprocess`, `Step`,
`DetectionPostprocess`) checks the same fields again in the browser; checking them here
makes a mistake raise in the app author's traceback, naming the field, before the page
loads. Each rule accepts exactly what the engine accepts: a wrong type raises TypeError, a
value out of range ValueError.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, get_args

from ._types import Color, CoordinateOrder, Dtype, Layout, NmsMethod, Resize

# The engine's integer fields are u32 or usize; the browser engine is wasm32, so both end here.
U32_MAX = 2**32 - 1
# The accepted values are those of the Literal types the TypedDicts declare: one list for both.
COLORS: tuple[str, ...] = get_args(Color)
LAYOUTS: tuple[str, ...] = get_args(Layout)
RESIZES: tuple[str, ...] = get_args(Resize)
DTYPES: tuple[str, ...] = get_args(Dtype)
COORDINATE_ORDERS: tuple[str, ...] = get_args(CoordinateOrder)
NMS_METHODS: tuple[str, ...] = get_args(NmsMethod)

DETECTION_REQUIRED = {"boxes", "scores", "anchors", "coordinate_order", "box_scale", "threshold", "nms"}
DETECTION_KEYS = DETECTION_REQUIRED | {"keypoints", "keypoint_offset", "sigmoid", "score_clip"}
ANCHORS_REQUIRED = {"input_size", "num_layers", "min_scale", "max_scale", "strides", "aspect_ratios"}
ANCHORS_KEYS = ANCHORS_REQUIRED | {"offset", "interpolated_scale_aspect_ratio", "fixed_anchor_size"}
NMS_REQUIRED = {"method", "iou_threshold"}
NMS_KEYS = NMS_REQUIRED | {"max_detections"}


def check_keys(what: str, given: Mapping[str, Any], allowed: AbstractSet[str], required: AbstractSet[str] = frozenset()) -> None:
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise ValueError(f"{what}: unknown key(s) {unknown}; allowed keys are {sorted(allowed)}")
    missing = sorted(required - set(given))
    if missing:
        raise ValueError(f"{what} needs {missing}")


def _dict(what: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} must be a dict, got {type(value).__name__}")
    return value


def _bool(what: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{what} must be True or False, got {value!r}")


def _str(what: str, value: Any) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}")


def _choice(what: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, choices))}; got {value!r}")


def _number(what: str, value: Any) -> float:
    """A finite int or float (JSON cannot carry NaN or infinity to the browser)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def _integer(what: str, value: Any, minimum: int = 0, maximum: int = U32_MAX) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an integer, got {value!r}")
    if not minimum <= value <= maximum:
        raise ValueError(f"{what} must be between {minimum} and {maximum}, got {value!r}")
    return value


def _list(what: str, value: Any, length: int | None = None) -> Sequence[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{what} must be a list, got {type(value).__name__}")
    if length is not None and len(value) != length:
        raise ValueError(f"{what} must hold {length} values, got {len(value)}")
    return value


def _numbers(what: str, value: Any, length: int | None = None) -> list[float]:
    return [_number(f"{what}[{i}]", v) for i, v in enumerate(_list(what, value, length))]


def _integers(what: str, value: Any, minimum: int, length: int | None = None) -> list[int]:
    return [_integer(f"{what}[{i}]", v, minimum) for i, v in enumerate(_list(what, value, length))]


def check_image(pre: Mapping[str, Any]) -> None:
    """``preprocess`` of kind image (`ssc_engine::ImagePreprocess`)."""
    # `size`, `dtype`, `columns` and `score_clip` are optional in the engine: None means absent.
    if pre.get("size") is not None:
        size = pre["size"]
        if isinstance(size, (str, bytes)) or not isinstance(size, Sequence) or len(size) != 2:
            raise ValueError(f"preprocess.size must be [width, height], two positive integers; got {size!r}")
        _integers("preprocess.size", size, minimum=1)
    color = pre.get("color", "rgb")
    _choice("preprocess.color", color, COLORS)
    if "layout" in pre:
        _choice("preprocess.layout", pre["layout"], LAYOUTS)
    if "resize" in pre:
        _choice("preprocess.resize", pre["resize"], RESIZES)
    if "pad" in pre:
        _integer("preprocess.pad (a pixel value, before scaling)", pre["pad"], 0, 255)
    if "scale" in pre:
        _number("preprocess.scale", pre["scale"])
    channels = 1 if color == "grayscale" else 3
    for field in ("mean", "std"):
        values = _numbers(f"preprocess.{field}", pre.get(field, []))
        if values and len(values) != channels:
            raise ValueError(
                f"preprocess.{field} has {len(values)} values, but color {color!r} has {channels} channel(s): "
                "give one value per channel, or none"
            )
    if 0 in pre.get("std", []):
        raise ValueError("preprocess.std must not contain 0: each channel is divided by its value")
    if pre.get("dtype") is not None:
        _choice("preprocess.dtype", pre["dtype"], DTYPES)


def check_csv(pre: Mapping[str, Any]) -> None:
    """``preprocess`` of kind csv (`ssc_engine::CsvPreprocess`)."""
    if "header" in pre:
        _bool("preprocess.header", pre["header"])
    if "delimiter" in pre:
        delimiter = pre["delimiter"]
        if not isinstance(delimiter, str) or len(delimiter) != 1 or not delimiter.isascii():
            raise ValueError(f"preprocess.delimiter must be one ASCII character, such as ';' or '\\t'; got {delimiter!r}")
    if pre.get("columns") is not None:
        columns = pre["columns"]
        if isinstance(columns, (str, bytes)) or not isinstance(columns, Sequence) or not all(
            isinstance(c, str) for c in columns
        ):
            raise TypeError(
                "preprocess.columns must be a list of the header's column names (str), in the model's feature "
                f"order; got {columns!r}"
            )
        if not pre.get("header", True):
            raise ValueError("preprocess.columns picks columns by their header names, so it needs header: True")


def check_step(what: str, step: Mapping[str, Any]) -> None:
    """The parameters of one ``postprocess.steps`` entry (`ssc_engine::Step`)."""
    if step["op"] == "top_k":
        _integer(f"{what}.k", step["k"], minimum=1)
    elif step["op"] == "threshold":
        _number(f"{what}.value", step["value"])


def check_detection(value: Any) -> None:
    """``postprocess.detection`` (`ssc_engine::DetectionPostprocess`)."""
    what = "postprocess.detection"
    detection = _dict(what, value)
    check_keys(what, detection, DETECTION_KEYS, DETECTION_REQUIRED)
    _str(f"{what}.boxes (an output name)", detection["boxes"])
    _str(f"{what}.scores (an output name)", detection["scores"])
    _choice(f"{what}.coordinate_order", detection["coordinate_order"], COORDINATE_ORDERS)
    if 0 in _numbers(f"{what}.box_scale", detection["box_scale"], length=4):
        raise ValueError(f"{what}.box_scale must not contain 0: the raw x, y, w, h values are divided by it")
    _number(f"{what}.threshold", detection["threshold"])
    keypoints = _integer(f"{what}.keypoints", detection.get("keypoints", 0))
    offset = _integer(f"{what}.keypoint_offset", detection.get("keypoint_offset", 4))
    if keypoints > 0 and offset < 4:
        raise ValueError(f"{what}.keypoint_offset must be at least 4: an anchor's first 4 values are its box")
    if "sigmoid" in detection:
        _bool(f"{what}.sigmoid", detection["sigmoid"])
    if detection.get("score_clip") is not None and _number(f"{what}.score_clip", detection["score_clip"]) < 0:
        # Scores are clamped to [-clip, clip]: a negative bound has no meaning.
        raise ValueError(f"{what}.score_clip must be >= 0, got {detection['score_clip']!r}")
    _check_anchors(f"{what}.anchors", detection["anchors"])
    _check_nms(f"{what}.nms", detection["nms"])


def _check_anchors(what: str, value: Any) -> None:
    anchors = _dict(what, value)
    check_keys(what, anchors, ANCHORS_KEYS, ANCHORS_REQUIRED)
    _integers(f"{what}.input_size ([width, height])", anchors["input_size"], minimum=1, length=2)
    layers = _integer(f"{what}.num_layers", anchors["num_layers"], minimum=1)
    _number(f"{what}.min_scale", anchors["min_scale"])
    _number(f"{what}.max_scale", anchors["max_scale"])
    strides = _integers(f"{what}.strides", anchors["strides"], minimum=1)
    if len(strides) != layers:
        raise ValueError(f"{what}.strides must hold one stride per layer: {layers} layer(s), {len(strides)} stride(s)")
    if any(r <= 0 for r in _numbers(f"{what}.aspect_ratios", anchors["aspect_ratios"])):
        raise ValueError(f"{what}.aspect_ratios must be positive")
    if "offset" in anchors:
        _numbers(f"{what}.offset ([x, y])", anchors["offset"], length=2)
    if "interpolated_scale_aspect_ratio" in anchors:
        _number(f"{what}.interpolated_scale_aspect_ratio", anchors["interpolated_scale_aspect_ratio"])
    if "fixed_anchor_size" in anchors:
        _bool(f"{what}.fixed_anchor_size", anchors["fixed_anchor_size"])


def _check_nms(what: str, value: Any) -> None:
    nms = _dict(what, value)
    check_keys(what, nms, NMS_KEYS, NMS_REQUIRED)
    _choice(f"{what}.method", nms["method"], NMS_METHODS)
    if not 0 <= _number(f"{what}.iou_threshold", nms["iou_threshold"]) <= 1:
        raise ValueError(f"{what}.iou_threshold must be in [0, 1], got {nms['iou_threshold']!r}")
    if "max_detections" in nms:
        _integer(f"{what}.max_detections", nms["max_detections"])
