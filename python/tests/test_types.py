"""Every TypedDict is held to the engine's schema (schema.json, `ssc schema`): the same keys,
the same required keys, and each Literal the same values as the schema's enumeration.

The schema is what the package validates against at run time, so a field or a value added
to the Rust types and missing here (or the reverse) fails this test, not an app.
"""

import json
import subprocess
import sys
import typing

import pytest

import streamlit_secure_context as ssc
from streamlit_secure_context import _params as params
from streamlit_secure_context import _types as types
from streamlit_secure_context._schema import SCHEMA

# 3.10's typing.get_type_hints keeps typing_extensions' Required/NotRequired around a field's
# type (3.11's strips them); typing_extensions' own strips them on every version.
if sys.version_info >= (3, 11):
    from typing import get_type_hints
else:
    from typing_extensions import get_type_hints

DEFS = SCHEMA["$defs"]


def resolve(schema):
    while "$ref" in schema:
        schema = DEFS[schema["$ref"].removeprefix("#/$defs/")]
    return schema


def variant(definition, tag, name):
    """The schema of a tagged enum's variant (`Preprocess` of kind `image`, `Step` of op `top_k`)."""
    return next(v for v in DEFS[definition]["oneOf"] if v["properties"][tag].get("const") == name)


def choices(schema):
    """The values a property's schema enumerates, or None when it enumerates nothing."""
    schema = resolve(schema)
    if "items" in schema and "enum" not in schema:
        return choices(schema["items"])
    for key in ("anyOf", "oneOf"):
        if key in schema and all("const" in s or "enum" in s or s.get("type") == "null" for s in map(resolve, schema[key])):
            return {v for s in map(resolve, schema[key]) for v in s.get("enum", [s.get("const")]) if v is not None}
        if key in schema:
            # The enumerated alternatives of a field that also takes other forms ("file" or [c, w]).
            found = [f for f in (choices(s) for s in schema[key] if resolve(s).get("type") != "null") if f is not None]
            return set().union(*found) if found else None
    if "enum" in schema:
        return {v for v in schema["enum"] if v is not None}
    return {schema["const"]} if "const" in schema else None


def literals(annotation):
    """The values of the Literal in a field's annotation (inside Optional, list, ...), or None."""
    if typing.get_origin(annotation) is typing.Literal:
        return set(typing.get_args(annotation))
    found = [literals(a) for a in typing.get_args(annotation)]
    found = [f for f in found if f is not None]
    return set().union(*found) if found else None


# TypedDict, its schema, and the keys only the Python result carries (set by the component).
PAIRS = [
    (types.ImagePreprocess, variant("Preprocess", "kind", "image"), set()),
    (types.CsvPreprocess, variant("Preprocess", "kind", "csv"), set()),
    (types.DicomPreprocess, variant("Preprocess", "kind", "dicom"), set()),
    (types.Postprocess, DEFS["Postprocess"], set()),
    (types.SoftmaxStep, variant("Step", "op", "softmax"), set()),
    (types.SigmoidStep, variant("Step", "op", "sigmoid"), set()),
    (types.ArgmaxStep, variant("Step", "op", "argmax"), set()),
    (types.TopKStep, variant("Step", "op", "top_k"), set()),
    (types.ThresholdStep, variant("Step", "op", "threshold"), set()),
    (types.DetectionConfig, DEFS["DetectionPostprocess"], set()),
    (types.SsdAnchors, DEFS["SsdAnchors"], set()),
    (types.Nms, DEFS["Nms"], set()),
    (types.Limits, DEFS["Limits"], set()),
    (types.Disclosure, DEFS["Disclosure"], set()),
    (types.OutputTensor, DEFS["OutputTensor"], set()),
    (types.TopKEntry, DEFS["TopK"], set()),
    (types.Detection, DEFS["Detection"], set()),
    (types.SoftmaxResult, variant("StepResult", "op", "softmax"), set()),
    (types.SigmoidResult, variant("StepResult", "op", "sigmoid"), set()),
    (types.ArgmaxResult, variant("StepResult", "op", "argmax"), set()),
    (types.TopKResult, variant("StepResult", "op", "top_k"), set()),
    (types.ThresholdResult, variant("StepResult", "op", "threshold"), set()),
    (types.Timings, DEFS["Timings"], set()),
    (types.SentField, DEFS["SentField"], set()),
    (types.Withheld, DEFS["Withheld"], set()),
    (types.Receipt, DEFS["Receipt"], set()),
    # The Worker adds whether it ran cross-origin isolated.
    (types.OkResult, DEFS["InferenceResult"], {"cross_origin_isolated"}),
]


@pytest.mark.parametrize(("typed_dict", "schema", "added"), PAIRS, ids=[p[0].__name__ for p in PAIRS])
def test_every_typed_dict_is_the_schemas(typed_dict, schema, added):
    declared = set(typed_dict.__required_keys__) | set(typed_dict.__optional_keys__)
    assert declared - added == set(schema["properties"])
    assert set(typed_dict.__required_keys__) - added == set(schema.get("required", []))
    hints = get_type_hints(typed_dict)
    for key, property_schema in schema["properties"].items():
        assert literals(hints[key]) == choices(property_schema), f"{typed_dict.__name__}.{key}"


def test_every_step_and_step_result_is_typed():
    assert {literals(get_type_hints(s)["op"]).pop() for s in typing.get_args(types.Step)} == choices(DEFS["Step"]["oneOf"][0]["properties"]["op"]) | {
        v["properties"]["op"]["const"] for v in DEFS["Step"]["oneOf"]}
    assert len(typing.get_args(types.Step)) == len(DEFS["Step"]["oneOf"])
    assert len(typing.get_args(types.StepResult)) == len(DEFS["StepResult"]["oneOf"])
    assert len(typing.get_args(types.Preprocess)) == len(DEFS["Preprocess"]["oneOf"])


def test_error_codes_are_the_engines_and_the_components():
    assert literals(types.ErrorCode) == choices(DEFS["ErrorCode"]) | choices(DEFS["ComponentErrorCode"])


def test_the_shared_constants_are_the_engines(cli: str):
    """Python speaks the protocol version the engine (and so the built component) was made for."""
    engine = json.loads(subprocess.run([cli, "schema"], check=True, capture_output=True, text=True).stdout)["x-constants"]
    assert (params.PROTOCOL_VERSION, params.MAX_UI_TEXT) == (engine["protocol_version"], engine["max_ui_text"])


def test_the_package_exports_every_type():
    assert set(types.__all__) <= set(ssc.__all__)
    assert all(getattr(ssc, name) is getattr(types, name) for name in types.__all__)
    public = {n for n, v in vars(types).items() if not n.startswith("_") and getattr(v, "__module__", None) == types.__name__}
    assert public <= set(types.__all__)
