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

from ._config_checks import check_csv, check_detection, check_image, check_step
from ._config_checks import check_keys as _check_keys

PROTOCOL_VERSION = 1

TENSOR_KEYS = {"input", "shape", "inputName", "postprocess"}
INPUTS_KEYS = {"inputs", "postprocess"}
FILE_KEYS = {"source", "accept", "preprocess", "postprocess", "inputName"}
BATCH_KEYS = FILE_KEYS | {"max_files"}
DEFAULT_MAX_FILES = 100
# The browser refuses longer label and help texts (protocol.ts, MAX_UI_TEXT).
MAX_UI_TEXT = 1000
PREPROCESS_KEYS = {
    "image": {"kind", "size", "color", "layout", "resize", "pad", "scale", "mean", "std", "dtype"},
    "csv": {"kind", "header", "delimiter", "columns"},
}
POSTPROCESS_KEYS = {"output", "softmax", "top_k", "labels", "steps", "detection"}
# The engine's post-processing steps (`ssc_engine::Step`) and their parameters.
STEP_KEYS = {"softmax": set(), "sigmoid": set(), "argmax": set(), "top_k": {"k"}, "threshold": {"value"}}
SECURITY_KEYS = {"limits", "require_isolation", "disclosure"}
DISCLOSURE_KEYS = {"outputs", "top_k_only", "derived", "decimals", "max_output_elements", "max_rows", "max_bits", "on_violation"}
ON_VIOLATION = ("withhold", "error")
# The result fields computed from raw outputs, keyed by the request part that asks for each.
DERIVED_FIELDS = {"postprocessed": "steps", "detections": "detection"}
# Past 15 decimals, rounding an f64 changes nothing (the engine refuses it too).
MAX_DECIMALS = 15
LIMIT_KEYS = {"max_model_bytes", "max_input_bytes", "max_image_pixels", "max_tensor_elements"}
DEFAULT_ACCEPT = {
    "image": ["image/png", "image/jpeg", ".png", ".jpg", ".jpeg"],
    "csv": ["text/csv", ".csv"],
}


@dataclass(frozen=True)
class BrowserRequest:
    """What the component needs from the inference parameters."""

    request: dict[str, Any]
    accept: list[str]
    # For ``"source": "files"``: how many files the person may pick at once; None for one file.
    max_files: int | None = None


def _optional_dict(what: str, value: Any, allowed: set[str]) -> Mapping[str, Any] | None:
    """None stays None; anything else must be a dict with only the allowed keys."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} must be a dict, got {type(value).__name__}")
    _check_keys(what, value, allowed)
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
    value = _optional_dict("postprocess", value, POSTPROCESS_KEYS)
    if value is None:
        return None
    top_k = value.get("top_k")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError("postprocess.top_k must be a positive integer")
    labels = value.get("labels", [])
    if not isinstance(labels, Sequence) or isinstance(labels, str) or not all(isinstance(x, str) for x in labels):
        raise TypeError("postprocess.labels must be a list of strings")
    if "softmax" in value and not isinstance(value["softmax"], bool):
        raise TypeError("postprocess.softmax must be True or False")
    if value.get("output") is not None and not isinstance(value["output"], str):
        raise TypeError("postprocess.output must be an output name (str)")
    steps = value.get("steps", [])
    if not isinstance(steps, Sequence) or isinstance(steps, str):
        raise TypeError('postprocess.steps must be a list such as [{"op": "sigmoid"}, {"op": "threshold", "value": 0.5}]')
    for i, step in enumerate(steps):
        if not isinstance(step, Mapping) or step.get("op") not in STEP_KEYS:
            raise ValueError(f"postprocess.steps[{i}] must be a dict whose op is one of {sorted(STEP_KEYS)}")
        what = f"postprocess.steps[{i}] ({step['op']})"
        _check_keys(what, step, {"op"} | STEP_KEYS[step["op"]], required=STEP_KEYS[step["op"]])
        check_step(f"postprocess.steps[{i}]", step)
    if value.get("detection") is not None:
        check_detection(value["detection"])
    post = {**value, "labels": list(labels)}
    if steps:
        post["steps"] = [dict(step) for step in steps]
    return post


def _preprocess(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping) or value.get("kind") not in PREPROCESS_KEYS:
        raise ValueError('preprocess must be a dict with "kind": "image" or "csv"')
    _check_keys(f"preprocess ({value['kind']})", value, PREPROCESS_KEYS[value["kind"]])
    if value["kind"] == "image":
        check_image(value)
    else:
        check_csv(value)
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
            _check_keys("inference_params (file input)", params, FILE_KEYS)
        else:
            _check_keys('inference_params (source "files")', params, BATCH_KEYS)
        max_files = _max_files(params.get("max_files", DEFAULT_MAX_FILES)) if source == "files" else None
        if "input" in params:
            raise ValueError('inference_params cannot have both "source" and "input"')
        pre = _preprocess(params.get("preprocess"))
        accept = params.get("accept", DEFAULT_ACCEPT[pre["kind"]])
        if isinstance(accept, str) or not all(isinstance(a, str) for a in accept):
            raise TypeError('accept must be a list of MIME types or extensions, e.g. [".csv"]')
        input_spec = {"kind": "file", "name": name, "preprocess": pre}
        return BrowserRequest({"input": input_spec, "postprocess": post}, list(accept), max_files)

    if "inputs" in params:
        _check_keys("inference_params (several inputs)", params, INPUTS_KEYS)
        inputs = params["inputs"]
        if not isinstance(inputs, Mapping) or not inputs or not all(isinstance(k, str) for k in inputs):
            raise TypeError('inputs must be a dict of input name to (nested) numbers, e.g. {"ids": [[1, 2]], "mask": [[1, 1]]}')
        specs = []
        for input_name, values in inputs.items():
            data, shape = _flatten(values, f"inputs[{input_name!r}]")
            specs.append({"kind": "tensor", "name": input_name, "shape": shape, "data": data})
        return BrowserRequest({"input": {"kind": "multiple", "inputs": specs}, "postprocess": post}, [])

    _check_keys("inference_params (tensor input)", params, TENSOR_KEYS)
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
    limits = _optional_dict("security_config.limits", (security_config or {}).get("limits"), LIMIT_KEYS)
    if limits is None:
        return None
    for key, value in limits.items():
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"security_config.limits.{key} must be a positive integer")
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


def _non_negative_int(what: str, value: Any, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or (maximum is not None and value > maximum):
        bound = f" between 0 and {maximum}" if maximum is not None else " >= 0"
        raise ValueError(f"{what} must be an integer{bound}, got {value!r}")
    return value


def build_disclosure(security_config: Mapping[str, Any] | None, request: Mapping[str, Any]) -> dict[str, Any] | None:
    """Validates ``security_config["disclosure"]``: what of a result may leave the browser.

    None (no policy) is the engine's default: for a picked file, only what ``postprocess``
    computes leaves (the minimum necessary); for numbers the app supplied, every output. The
    engine enforces the policy
    in the browser; here it is checked against the request, so that a policy that could never
    let anything through fails in the app author's traceback.
    """
    security_config = _optional_dict("security_config", security_config, SECURITY_KEYS)
    policy = _optional_dict("security_config.disclosure", (security_config or {}).get("disclosure"), DISCLOSURE_KEYS)
    if policy is None:
        post = request.get("postprocess") or {}
        # The engine's default for a picked file is the minimum necessary: what postprocess
        # computes. A request that computes nothing would send nothing; say so here.
        if _reads_a_file(request.get("input") or {}) and not (post.get("top_k") or post.get("steps") or post.get("detection")):
            raise ValueError(
                "a picked file's raw outputs leave the browser only when the app names them: add "
                'security_config={"disclosure": {"outputs": ["<output name>", ...]}}, or ask for a ranking '
                '(inference_params["postprocess"]["top_k"]) or detections'
            )
        return None
    what = "security_config.disclosure"
    clean: dict[str, Any] = {}
    if "outputs" in policy:
        outputs = policy["outputs"]
        if isinstance(outputs, (str, bytes)) or not isinstance(outputs, Sequence) or not all(
            isinstance(o, str) and o for o in outputs
        ):
            raise TypeError(f"{what}.outputs must be a list of output names (non-empty strings)")
        if len(set(outputs)) != len(outputs):
            raise ValueError(f"{what}.outputs lists a name twice: {list(outputs)}")
        clean["outputs"] = list(outputs)
    if "top_k_only" in policy:
        if not isinstance(policy["top_k_only"], bool):
            raise TypeError(f"{what}.top_k_only must be True or False")
        clean["top_k_only"] = policy["top_k_only"]
    if "derived" in policy:
        derived = policy["derived"]
        if isinstance(derived, (str, bytes)) or not isinstance(derived, Sequence) or not all(
            d in DERIVED_FIELDS for d in derived
        ):
            raise ValueError(f"{what}.derived must be a list of result fields from {sorted(DERIVED_FIELDS)}, got {derived!r}")
        clean["derived"] = list(dict.fromkeys(derived))
    if "decimals" in policy:
        clean["decimals"] = _non_negative_int(f"{what}.decimals", policy["decimals"], MAX_DECIMALS)
    for key in ("max_output_elements", "max_rows", "max_bits"):
        if key in policy:
            clean[key] = _non_negative_int(f"{what}.{key}", policy[key])
    if "on_violation" in policy:
        if policy["on_violation"] not in ON_VIOLATION:
            raise ValueError(f'{what}.on_violation must be "withhold" or "error", got {policy["on_violation"]!r}')
        clean["on_violation"] = policy["on_violation"]

    post = request.get("postprocess") or {}
    ranked = post.get("top_k") is not None
    for field in clean.get("derived", []):
        if not post.get(DERIVED_FIELDS[field]):
            raise ValueError(
                f'{what}.derived lists "{field}", but inference_params["postprocess"] has no '
                f'"{DERIVED_FIELDS[field]}" to compute it'
            )
    if clean.get("top_k_only"):
        if "outputs" in clean or "derived" in clean:
            raise ValueError(f"{what}: top_k_only withholds every raw output and derived result, so outputs and derived cannot list any")
        if not ranked:
            raise ValueError(f'{what}.top_k_only needs inference_params["postprocess"]["top_k"]: nothing else may leave')
    if clean.get("outputs") == [] and not ranked and not clean.get("derived"):
        raise ValueError(
            f"{what}.outputs is empty, no postprocess.top_k is requested and derived lists nothing: nothing could leave"
        )
    return clean


def _reads_a_file(spec: Mapping[str, Any]) -> bool:
    if spec.get("kind") == "multiple":
        return any(_reads_a_file(s) for s in spec.get("inputs", []))
    return spec.get("kind") == "file"


def timeout_ms(timeout: float) -> int:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout < 0:
        raise ValueError("timeout must be a number of seconds >= 0 (0 means no limit)")
    return int(round(timeout * 1000))
