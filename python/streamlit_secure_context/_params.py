"""Validation of the arguments, in Python, before anything reaches the browser.

The output is the engine's request format (`ssc_engine::RunRequest`); the Rust side
checks it again, but mistakes should surface here, in the app author's traceback.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._request_checks import check_disclosure, check_limits, check_postprocess, check_preprocess
from ._schema import CONSTANTS

PROTOCOL_VERSION = CONSTANTS["protocol_version"]
# The browser refuses longer label and help texts.
MAX_UI_TEXT = CONSTANTS["max_ui_text"]

# The shapes of `inference_params` and `security_config`: the Python API around the engine's
# request, whose parts (preprocess, postprocess, disclosure, limits) the schema checks.
TENSOR_KEYS = {"input", "shape", "inputName", "postprocess"}
INPUTS_KEYS = {"inputs", "postprocess"}
FILE_KEYS = {"source", "accept", "preprocess", "postprocess", "inputName"}
BATCH_KEYS = FILE_KEYS | {"max_files"}
DEFAULT_MAX_FILES = 100
SECURITY_KEYS = {"limits", "require_isolation", "disclosure"}
DEFAULT_ACCEPT = {
    "image": ["image/png", "image/jpeg", ".png", ".jpg", ".jpeg"],
    "csv": ["text/csv", ".csv"],
    "dicom": ["application/dicom", ".dcm", ".dicom"],
}


@dataclass(frozen=True)
class BrowserRequest:
    """What the component needs from the inference parameters."""

    request: dict[str, Any]
    accept: list[str]
    # For ``"source": "files"``: how many files the person may pick at once; None for one file.
    max_files: int | None = None


def check_keys(what: str, given: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise ValueError(f"{what}: unknown key(s) {unknown}; allowed keys are {sorted(allowed)}")


def _optional_dict(what: str, value: Any, allowed: set[str]) -> Mapping[str, Any] | None:
    """None stays None; anything else must be a dict with only the allowed keys."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} must be a dict, got {type(value).__name__}")
    check_keys(what, value, allowed)
    return value


def _flatten(values: Any, path: str = "input") -> tuple[list[float], list[int]]:
    """Flattens nested lists of numbers, returning the values and the nesting's shape."""
    if hasattr(values, "tolist"):  # numpy arrays and scalars, without importing numpy
        values = values.tolist()
    if isinstance(values, (bool, str, bytes)) or not isinstance(values, (Sequence, int, float)):
        raise TypeError(f"{path}: expected numbers or (nested) lists of numbers, got {type(values).__name__}")
    if isinstance(values, (int, float)):
        if not math.isfinite(values):
            raise ValueError(f"{path}: {values} is not a finite number")
        return [float(values)], []
    if len(values) == 0:
        return [], [0]
    flat: list[float] = []
    inner: list[int] | None = None
    for i, item in enumerate(values):
        item_flat, item_shape = _flatten(item, f"{path}[{i}]")
        if inner is None:
            inner = item_shape
        elif item_shape != inner:
            raise ValueError(f"{path}: ragged nesting, {path}[{i}] has shape {item_shape}, {path}[0] has {inner}")
        flat.extend(item_flat)
    return flat, [len(values), *(inner or [])]


def _postprocess(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    check_postprocess(value)
    post = {**value, "labels": list(value.get("labels", []))}
    if "steps" in value:
        post["steps"] = [dict(step) for step in value["steps"]]
    return post


def _preprocess(value: Any) -> dict[str, Any]:
    check_preprocess(value)
    return dict(value)


def build_request(params: Mapping[str, Any] | None) -> BrowserRequest:
    """Turns the public ``inference_params`` into the engine's request."""
    if params is None:
        raise ValueError(
            'inference_params is required: {"input": [...], "shape": [...]} to run on a tensor, '
            'or {"source": "file", "preprocess": {...}} to let the person pick a file'
        )
    if not isinstance(params, Mapping):
        raise TypeError("inference_params must be a dict")
    post = _postprocess(params.get("postprocess"))
    name = params.get("inputName")
    if name is not None and not isinstance(name, str):
        raise TypeError("inputName must be a str")

    if "source" in params:
        source = params["source"]
        if source not in ("file", "files"):
            raise ValueError(f'inference_params.source must be "file" (one file) or "files" (a batch), got {source!r}')
        if source == "file":
            check_keys("inference_params (file input)", params, FILE_KEYS)
        else:
            check_keys('inference_params (source "files")', params, BATCH_KEYS)
        max_files = _max_files(params.get("max_files", DEFAULT_MAX_FILES)) if source == "files" else None
        if "input" in params:
            raise ValueError('inference_params cannot have both "source" and "input"')
        pre = _preprocess(params.get("preprocess"))
        # A kind with no usual file types lets the person pick any file.
        accept = params.get("accept", DEFAULT_ACCEPT.get(pre["kind"], []))
        if isinstance(accept, str) or not all(isinstance(a, str) for a in accept):
            raise TypeError('accept must be a list of MIME types or extensions, e.g. [".csv"]')
        input_spec = {"kind": "file", "name": name, "preprocess": pre}
        return BrowserRequest({"input": input_spec, "postprocess": post}, list(accept), max_files)

    if "inputs" in params:
        check_keys("inference_params (several inputs)", params, INPUTS_KEYS)
        inputs = params["inputs"]
        if not isinstance(inputs, Mapping) or not inputs or not all(isinstance(k, str) for k in inputs):
            raise TypeError('inputs must be a dict of input name to (nested) numbers, e.g. {"ids": [[1, 2]], "mask": [[1, 1]]}')
        specs = []
        for input_name, values in inputs.items():
            data, shape = _flatten(values, f"inputs[{input_name!r}]")
            specs.append({"kind": "tensor", "name": input_name, "shape": shape, "data": data})
        return BrowserRequest({"input": {"kind": "multiple", "inputs": specs}, "postprocess": post}, [])

    check_keys("inference_params (tensor input)", params, TENSOR_KEYS)
    if "input" not in params:
        raise ValueError('inference_params needs "input" (numbers) or "source": "file"')
    data, nested_shape = _flatten(params["input"])
    shape = params.get("shape", nested_shape)
    if isinstance(shape, (str, bytes)) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise ValueError("shape must be a list of non-negative integers")
    expected = math.prod(shape)
    if expected != len(data):
        raise ValueError(f"shape {list(shape)} holds {expected} values, but input has {len(data)}")
    tensor: dict[str, Any] = {"kind": "tensor", "name": name, "shape": list(shape), "data": data}
    return BrowserRequest({"input": tensor, "postprocess": post}, [])


def _max_files(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'inference_params.max_files must be a positive integer (how many files one batch may hold), got {value!r}')
    return value


def build_ui(*, label: Any, help: Any, disabled: Any, height: Any, batch: bool) -> dict[str, Any]:
    """The picker's ``label``, ``help``, ``disabled`` and the component's ``height``, checked."""
    if label is not None and not isinstance(label, str):
        raise TypeError(f"label must be a str (the picker's visible label), got {type(label).__name__}")
    if label is not None and not label.strip():
        raise ValueError("label must not be empty: it is the picker's accessible name; leave it None for the default")
    if help is not None and not isinstance(help, str):
        raise TypeError(f"help must be a str shown under the picker, or None, got {type(help).__name__}")
    if not isinstance(disabled, bool):
        raise TypeError(f"disabled must be True or False, got {disabled!r}")
    if height is not None and (isinstance(height, bool) or not isinstance(height, int) or height <= 0):
        raise ValueError(f"height must be a positive number of pixels, or None to fit the content, got {height!r}")
    for what, text in (("label", label), ("help", help)):
        if text is not None and len(text) > MAX_UI_TEXT:
            raise ValueError(f"{what} has {len(text)} characters; at most {MAX_UI_TEXT} are shown")
    default = "Choose files" if batch else "Choose a file"
    return {"label": label if label is not None else default, "help": help, "disabled": disabled, "height": height}


def build_limits(security_config: Mapping[str, Any] | None) -> dict[str, int] | None:
    security_config = _optional_dict("security_config", security_config, SECURITY_KEYS)
    limits = (security_config or {}).get("limits")
    if limits is None:
        return None
    check_limits(limits)
    return dict(limits)


def require_isolation(security_config: Mapping[str, Any] | None) -> bool:
    """Whether a page without cross-origin isolation must be an error instead of a result."""
    security_config = _optional_dict("security_config", security_config, SECURITY_KEYS)
    value = (security_config or {}).get("require_isolation", False)
    if not isinstance(value, bool):
        raise TypeError(
            f"security_config.require_isolation must be True or False, got {value!r}. With True, a page that is "
            "not cross-origin isolated (no COOP/COEP headers; see streamlit_secure_context.security_middleware) "
            "returns an error instead of running."
        )
    return value


def model_pin(sha256: Any) -> str | None:
    """The optional ``sha256=`` pin: 64 lowercase hex digits, as ``sha256sum`` prints them."""
    if sha256 is None:
        return None
    if not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError(f"sha256 must be the model's sha256 as 64 lowercase hex digits (sha256sum prints it), got {sha256!r}")
    return sha256


def build_disclosure(security_config: Mapping[str, Any] | None, request: Mapping[str, Any]) -> dict[str, Any] | None:
    """Validates ``security_config["disclosure"]``: what of a result may leave the browser.

    None (no policy) is the engine's default: for a picked file, only what ``postprocess``
    computes leaves (the minimum necessary); for numbers the app supplied, every output. The
    engine enforces the policy in the browser; here it is checked against the request, so
    that a policy that could never let anything through fails in the app author's traceback.
    """
    security_config = _optional_dict("security_config", security_config, SECURITY_KEYS)
    policy = (security_config or {}).get("disclosure")
    check_disclosure(policy, request)
    return None if policy is None else dict(policy)


def timeout_ms(timeout: float) -> int:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout < 0:
        raise ValueError("timeout must be a number of seconds >= 0 (0 means no limit)")
    return int(round(timeout * 1000))
