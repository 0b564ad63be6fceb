"""The checks of the engine's request parts, before anything reaches the browser.

Each part is checked against the engine's own schema (``_schema.py``); what is left here are
the rules that relate one field to another, which a schema of independent fields cannot
state. The engine applies the same rules (``crates/engine/src/request_checks.rs``), and
``tests/test_request_parity.py`` holds the two to the same verdicts. Checking here makes a
mistake raise in the app author's traceback, naming the field, before the page loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._schema import SCHEMA, check

# The user-facing place of each request part: the engine's request is built from these.
PREPROCESS = "inference_params.preprocess"
POSTPROCESS = "inference_params.postprocess"
DISCLOSURE = "security_config.disclosure"
LIMITS = "security_config.limits"
# The kinds of preprocessing with channels, and their color when the request gives none, as
# the engine's schema states them.
DEFAULT_COLOR = {
    variant["properties"]["kind"]["const"]: variant["properties"]["color"]["default"]
    for variant in SCHEMA["$defs"]["Preprocess"]["oneOf"]
    if "color" in variant["properties"]
}
# A derived result field, and the part of postprocess that computes it.
DERIVED_FROM = {"postprocessed": "steps", "detections": "detection"}


def check_preprocess(pre: Any) -> None:
    check(pre, "Preprocess", PREPROCESS)
    if pre["kind"] in DEFAULT_COLOR:
        # How many values mean and std need depends on color.
        color = pre.get("color", DEFAULT_COLOR[pre["kind"]])
        channels = 1 if color == "grayscale" else 3
        for field in ("mean", "std"):
            values = pre.get(field, [])
            if values and len(values) != channels:
                raise ValueError(
                    f"{PREPROCESS}.{field} has {len(values)} values, but color {color!r} has "
                    f"{channels} channel(s): give one value per channel, or none"
                )
    # A window's width must be at least 1; the schema types the [center, width] pair as two
    # numbers and cannot bound the second alone.
    window = pre.get("window")
    if pre["kind"] == "dicom" and isinstance(window, list) and window[1] < 1:
        raise ValueError(f"{PREPROCESS}.window is [center, width]; its width must be at least 1, got {window[1]!r}")
    # Columns are picked by their header names, so they need a header.
    if pre["kind"] == "csv" and pre.get("columns") is not None and not pre.get("header", True):
        raise ValueError(f"{PREPROCESS}.columns picks columns by their header names, so it needs header: True")


def check_postprocess(post: Any) -> None:
    check(post, "Postprocess", POSTPROCESS)
    detection = post.get("detection")
    if detection is None:
        return
    what = f"{POSTPROCESS}.detection"
    # Keypoints are read after an anchor's 4 box values.
    if detection.get("keypoints", 0) > 0 and detection.get("keypoint_offset", 4) < 4:
        raise ValueError(f"{what}.keypoint_offset must be at least 4: an anchor's first 4 values are its box")
    # One stride per layer.
    anchors = detection["anchors"]
    if len(anchors["strides"]) != anchors["num_layers"]:
        raise ValueError(
            f"{what}.anchors.strides must hold one stride per layer: {anchors['num_layers']} layer(s), "
            f"{len(anchors['strides'])} stride(s)"
        )


def check_limits(limits: Any) -> None:
    check(limits, "Limits", LIMITS)


def check_disclosure(policy: Mapping[str, Any] | None, request: Mapping[str, Any]) -> None:
    """The policy, and how it relates to the request it governs (what the request computes)."""
    post = request.get("postprocess") or {}
    computes = {field for field, part in DERIVED_FROM.items() if post.get(part)}
    ranked = post.get("top_k") is not None
    if policy is not None:
        check(policy, "Disclosure", DISCLOSURE)
        _check_policy_against_request(policy, request, ranked, computes)
    _check_something_leaves(policy or {}, _reads_a_file(request.get("input") or {}), ranked, computes)


def _check_policy_against_request(policy: Mapping[str, Any], request: Mapping[str, Any], ranked: bool, computes: set[str]) -> None:
    # Header attributes come from a picked DICOM file; any other input has none to give.
    if policy.get("dicom_attributes") and not any(
        s.get("kind") == "file" and s["preprocess"]["kind"] == "dicom" for s in _specs(request.get("input") or {})
    ):
        raise ValueError(f'{DISCLOSURE}.dicom_attributes needs a picked DICOM file (preprocess "kind": "dicom")')
    derived = policy.get("derived")
    if policy.get("top_k_only"):
        if policy.get("outputs") is not None or derived is not None:
            raise ValueError(f"{DISCLOSURE}: top_k_only withholds every raw output and derived result, so outputs and derived cannot list any")
        if not ranked:
            raise ValueError(f'{DISCLOSURE}.top_k_only needs inference_params["postprocess"]["top_k"]: nothing else may leave')
    for field in derived or []:
        if field not in computes:
            raise ValueError(
                f'{DISCLOSURE}.derived lists "{field}", but inference_params["postprocess"] has no '
                f'"{DERIVED_FROM[field]}" to compute it'
            )


def _check_something_leaves(policy: Mapping[str, Any], reads_a_file: bool, ranked: bool, computes: set[str]) -> None:
    """The engine runs a request under its own policy on top of the default, which for a picked
    file keeps every raw output and sends what postprocess computes: an explicit policy changes
    only what it names. A request under which nothing could leave is a mistake; say so here."""
    outputs, derived = policy.get("outputs"), policy.get("derived")
    if reads_a_file:
        outputs = [] if outputs is None else outputs
        derived = sorted(computes) if derived is None else derived
    if ranked or outputs != [] or derived:
        return
    if policy.get("outputs") is None:
        raise ValueError(
            "a picked file's raw outputs leave the browser only when the app names them: add "
            'security_config={"disclosure": {"outputs": ["<output name>", ...]}}, or ask for a ranking '
            '(inference_params["postprocess"]["top_k"]) or detections'
        )
    raise ValueError(f"{DISCLOSURE}.outputs is empty, no postprocess.top_k is requested and derived lists nothing: nothing could leave")


def check_engine_request(request: Mapping[str, Any], limits: Mapping[str, Any] | None = None) -> None:
    """Every check above, on a request in the engine's format (what ``ssc check`` takes)."""
    for spec in _specs(request["input"]):
        if spec.get("kind") == "file":
            check_preprocess(spec["preprocess"])
    if request.get("postprocess") is not None:
        check_postprocess(request["postprocess"])
    check_disclosure(request.get("disclosure"), request)
    if limits is not None:
        check_limits(limits)


def _specs(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(spec.get("inputs", [])) if spec.get("kind") == "multiple" else [spec]


def _reads_a_file(spec: Mapping[str, Any]) -> bool:
    return any(s.get("kind") == "file" for s in _specs(spec))
