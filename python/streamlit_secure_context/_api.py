from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from typing import Any, cast

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
from ._types import InferenceParams, Result, SecurityConfig


def streamlit_secure_context(
    model_path: str | os.PathLike[str],
    security_config: SecurityConfig | None = None,
    inference_params: InferenceParams | None = None,
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
) -> Result | None:
    """Run an ONNX model in the person's browser and return only its result.

    The model runs in a Rust/WebAssembly engine inside a sandboxed iframe with no network
    access. A file the person picks is read only there; the server receives the result.
    Every argument is validated here first, so a mistake raises in the app's traceback
    instead of failing in the browser.

    Parameters
    ----------
    model_path : str or os.PathLike
        Path to an ONNX model on the server. It is sent to the browser by content address
        and verified there against its sha256 before it runs.
    security_config : SecurityConfig, optional
        ``limits`` (`Limits`: upper bounds on the model, the input file, image pixels and
        tensor elements), ``require_isolation`` (a page that is not cross-origin isolated
        returns the error ``not_isolated`` instead of running: serve the app with
        `security_middleware`) and ``disclosure`` (`Disclosure`: what of a result may leave
        the browser; the engine enforces it before the result leaves its Worker). Withheld
        outputs are named in the result's ``receipt["withheld"]``; a policy that could send
        nothing raises here, and one whose every output turns out withheld ends in the error
        ``disclosure_empty``.
    inference_params : InferenceParams
        Where the model's input comes from, one of:

        - `TensorParams`: a tensor Python supplies (not PHI, runs without user action),
          ``{"input": [[...]], "shape": [1, 64], "inputName": "pixels"}``;
        - `InputsParams`: one tensor per input name, for a model with several inputs,
          ``{"inputs": {"input_ids": [[101, 2023]], "attention_mask": [[1, 1]]}}``;
        - `FileParams`: a file the person picks inside the sandbox (``"source": "file"``),
          or a batch of files (``"source": "files"``, at most ``max_files``), turned into
          the input by ``preprocess`` (`ImagePreprocess` or `CsvPreprocess`).

        Each may carry a ``postprocess`` (`Postprocess`): softmax, ``top_k`` with
        ``labels``, a ``steps`` pipeline, or SSD ``detection`` (`DetectionConfig`).
    key : str, optional
        The Streamlit widget key. Give one whenever the page has more than one component.
    timeout : float, default 0
        Seconds an inference may take before the engine is stopped; 0 means no limit.
    sha256 : str, optional
        A pin: the sha256 (64 lowercase hex digits) of the model you vetted. A model file
        with another hash raises here, and the browser engine verifies the bytes it
        downloads against the same value, so only the pinned model ever runs.
        ``python -m streamlit_secure_context doctor --app`` checks pins.
    on_change : callable, optional
        Keyword-only. Called with no arguments, before the rerun, when a new result
        arrives, like a Streamlit widget's ``on_change``.
    disabled : bool, default False
        Keyword-only. Disables the file picker and drop zone; tensor requests still run.
        The picker is also disabled while Streamlit disables its widgets (when the app has
        lost its server connection, say).
    height : int, optional
        Keyword-only. A fixed height in pixels; by default the component sizes itself to
        its content.
    help : str, optional
        Keyword-only. Help text shown under the file picker and read out with it by
        screen readers.
    label : str, optional
        Keyword-only. The picker's visible label and accessible name (default
        "Choose a file", or "Choose files" for a batch).

    Returns
    -------
    Result or None
        None until a result exists (and while the request changed since the last one),
        then one of:

        - `OkResult`: ``{"status": "ok", "model_sha256", "outputs", "timings_ms",
          "cross_origin_isolated", "receipt"}`` plus ``top_k``, ``postprocessed`` and
          ``detections`` when the ``postprocess`` asked for them;
        - `ErrorResult`: ``{"status": "error", "error": {"code", "message"}}``;
        - `BatchResult`: ``{"status": "ok", "batch": [...]}`` for ``"source": "files"``,
          one `OkResult` or `ErrorResult` per file in the order they were picked.

        The receipt lists every field that left the browser with its size. Its input hash
        is HMAC-SHA256 under a random key that exists only inside the browser's engine
        Worker for the session: equal within a session for equal inputs, and not
        reversible or comparable by anyone without that key.

    Raises
    ------
    FileNotFoundError
        ``model_path`` is not a file.
    TypeError, ValueError
        An argument does not have the documented shape; the message names the field.

    See Also
    --------
    to_dataframe : a result as a pandas DataFrame.
    security_middleware : the headers that make the page cross-origin isolated.

    Examples
    --------
    A digit classifier on an image the person picks:

    >>> result = streamlit_secure_context(
    ...     "models/digits.onnx",
    ...     inference_params={
    ...         "source": "file",
    ...         "preprocess": {"kind": "image", "size": [8, 8], "color": "grayscale", "layout": "flat"},
    ...         "postprocess": {"softmax": True, "top_k": 3, "labels": [str(d) for d in range(10)]},
    ...     },
    ...     security_config={"disclosure": {"top_k_only": True, "decimals": 3}},
    ...     key="digits",
    ... )
    >>> if result and result["status"] == "ok" and "top_k" in result:
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
    # The host frame checked the value against the result format before sending it.
    return cast("Result", {k: v for k, v in value.items() if k != "request_key"})
