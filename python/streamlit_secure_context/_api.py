from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from typing import Any

from ._component import component_func
from ._model import model_url, resolve_model
from ._params import (
    PROTOCOL_VERSION,
    build_disclosure,
    build_limits,
    build_request,
    build_ui,
    model_pin,
    require_isolation,
    timeout_ms,
)


def streamlit_secure_context(
    model_path: str | os.PathLike[str],
    security_config: Mapping[str, Any] | None = None,
    inference_params: Mapping[str, Any] | None = None,
    key: str | None = None,
    timeout: float = 0,
    sha256: str | None = None,
    *,
    on_change: Callable[[], None] | None = None,
    disabled: bool = False,
    height: int | None = None,
    help: str | None = None,
    label: str | None = None,
    **kwargs: Any,
) -> dict[str, Any] | None:
    """Run an ONNX model in the person's browser and return only its result.

    The model runs in a Rust/WebAssembly engine inside a sandboxed iframe with no network
    access. A file the person picks is read only there; the server receives the result.

    Parameters
    ----------
    model_path
        Path to an ONNX model on the server. It is sent to the browser by content
        address and verified there against its sha256 before it runs.
    security_config
        Optional ``{"limits": {"max_model_bytes": ..., "max_input_bytes": ...,
        "max_image_pixels": ..., "max_tensor_elements": ...}, "require_isolation": bool,
        "disclosure": {...}}``.
        With ``require_isolation=True``, a page that is not cross-origin isolated returns the
        error ``not_isolated`` instead of running (serve the app with `security_middleware`).

        ``disclosure`` declares what of a result may leave the browser; the engine enforces
        it before the result leaves its Worker. All keys are optional::

            {"outputs": ["probabilities"],   # raw outputs that may leave (default: all)
             "top_k_only": True,             # only the ranked classes leave, no raw tensor
             "decimals": 3,                  # round every output value and score
             "max_output_elements": 100,     # no raw output larger than this leaves
             "on_violation": "withhold"}     # or "error": an oversized output fails the run

        Withheld outputs are named in the result's ``receipt["withheld"]``; a policy that
        leaves nothing to send ends in the error ``disclosure_empty``.
    inference_params
        Either a tensor that Python supplies (not PHI, runs without user action)::

            {"input": [[...]], "shape": [1, 64], "inputName": "pixels"}

        or a file the person picks inside the sandbox::

            {"source": "file", "accept": [".png"],
             "preprocess": {"kind": "image", "size": [8, 8], "color": "grayscale", "layout": "flat"},
             "postprocess": {"softmax": True, "top_k": 3, "labels": [...]}}

        or, for a model with several inputs, one tensor per input name::

            {"inputs": {"input_ids": [[101, 2023]], "attention_mask": [[1, 1]]}}

        ``preprocess`` kinds: ``"image"`` (PNG/JPEG/WebP/BMP/GIF; size, color, layout,
        resize: stretch/center_crop/letterbox, pad, scale, mean, std, dtype) and ``"csv"``
        (header, delimiter, columns; one sample per row). ``postprocess.steps`` lists
        ``{"op": ...}`` steps: softmax, sigmoid, argmax, top_k (k), threshold (value).
    key
        The Streamlit widget key. Give one whenever the page has more than one component.
    timeout
        Seconds an inference may take before the engine is stopped; 0 means no limit.
    on_change
        Called (with no arguments, before the rerun) when a new result arrives, like a
        Streamlit widget's ``on_change``.
    disabled
        Greys out the file picker and drop zone; a tensor request still runs.
    height
        The component's height in pixels, its content scrolling inside; None (default) fits
        the content.
    help
        Help text shown under the picker and read out with it by screen readers.
    label
        The picker's visible label and accessible name; default "Choose a file", or
        "Choose files" for ``"source": "files"``.
    sha256
        Optional pin: the sha256 (hex) of the model you vetted. A model file with another
        hash raises here, and the browser engine verifies the bytes it downloads against
        the same value, so only the pinned model ever runs. ``doctor --app`` checks pins.

    Returns
    -------
    None until a result exists, then either::

        {"status": "ok", "model_sha256": str,
         "outputs": {name: {"shape": [...], "dtype": str, "data": [...]}},
         "top_k": [{"row", "index", "label", "score"}],   # when postprocess.top_k is set
         "postprocessed": [{"op": ..., ...}],              # when postprocess.steps is set
         "detections": [{"score", "box", "keypoints"}],    # when postprocess.detection is set
         "timings_ms": {...},
         "cross_origin_isolated": bool,   # whether the engine's Worker ran isolated
         "receipt": {"model_sha256": str, "input_kind": "file" | "tensor" | "multiple",
                     "input_hmac_sha256": str,   # keyed hash of the input, see below
                     "sent": [{"field", "name", "elements", "bytes"}],
                     "withheld": [{"output", "elements", "reason"}]}}

    The receipt lists every field that left the browser with its size. Its input hash is
    HMAC-SHA256 under a random key that exists only inside the browser's engine Worker for
    the session: equal within a session for equal inputs, and not reversible or comparable
    by anyone without that key.

    or ``{"status": "error", "error": {"code": str, "message": str}}``.

    Example
    -------
    >>> result = streamlit_secure_context(
    ...     "models/digits.onnx",
    ...     inference_params={"source": "file", "preprocess": {"kind": "image", "size": [8, 8]}},
    ...     key="digits",
    ... )
    >>> if result and result["status"] == "ok":
    ...     st.write(result["top_k"])
    """
    if kwargs:
        raise TypeError(f"streamlit_secure_context() got unexpected keyword argument(s): {sorted(kwargs)}")
    if on_change is not None and not callable(on_change):
        raise TypeError(f"on_change must be a function (called when a new result arrives), got {type(on_change).__name__}")
    pin = model_pin(sha256)
    model = resolve_model(model_path)
    if pin is not None and pin != model.sha256:
        raise ValueError(
            f"model file {model.path} has sha256 {model.sha256}, but sha256= pins {pin}: the file changed since it "
            "was pinned. Vet the new model (ssc inspect), then update the pin."
        )
    browser = build_request(inference_params)
    ui = build_ui(label=label, help=help, disabled=disabled, height=height, batch=browser.max_files is not None)
    limits = build_limits(security_config)
    isolation_required = require_isolation(security_config)
    disclosure = build_disclosure(security_config, browser.request)
    request = browser.request if disclosure is None else {**browser.request, "disclosure": disclosure}
    timeout_in_ms = timeout_ms(timeout)
    # Identifies this exact request, so a result computed for an earlier request (before a
    # rerun changed the inputs) is never returned as if it answered the current one.
    request_key = hashlib.sha256(
        json.dumps([model.sha256, request, limits, isolation_required, browser.max_files], sort_keys=True).encode()
    ).hexdigest()[:32]
    url = model_url(model, coordinates=f"streamlit_secure_context.{key or model.sha256}")
    value = component_func()(
        protocol=PROTOCOL_VERSION,
        # The browser engine refuses bytes that do not hash to this: the pin when there is one.
        model={"url": url, "sha256": pin or model.sha256, "name": model.path.name, "size": model.size},
        request=request,
        accept=browser.accept,
        timeout_ms=timeout_in_ms,
        limits=limits,
        request_key=request_key,
        require_isolation=isolation_required,
        batch=None if browser.max_files is None else {"max_files": browser.max_files},
        ui=ui,
        key=key,
        on_change=on_change,
        default=None,
    )
    if not isinstance(value, dict) or value.get("request_key") != request_key:
        return None
    return {k: v for k, v in value.items() if k != "request_key"}
