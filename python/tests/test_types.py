"""The TypedDicts describe exactly what `_params.py` and `_config_checks.py` accept.

Both are written by hand; this keeps them from drifting apart: a key added to one and not
the other, an optional key made required, or an enumeration value added on one side fails here.
"""

import sys
import typing

import pytest

import streamlit_secure_context as ssc
from streamlit_secure_context import _config_checks as checks
from streamlit_secure_context import _params as params
from streamlit_secure_context import _types as types

# 3.10's typing.get_type_hints keeps typing_extensions' Required/NotRequired around a field's
# type (3.11's strips them); typing_extensions' own strips them on every version.
if sys.version_info >= (3, 11):
    from typing import get_type_hints
else:
    from typing_extensions import get_type_hints

def keys(typed_dict):
    return set(typed_dict.__required_keys__) | set(typed_dict.__optional_keys__)


@pytest.mark.parametrize(
    ("typed_dict", "allowed"),
    [
        (types.ImagePreprocess, params.PREPROCESS_KEYS["image"]),
        (types.CsvPreprocess, params.PREPROCESS_KEYS["csv"]),
        (types.Postprocess, params.POSTPROCESS_KEYS),
        (types.DetectionConfig, checks.DETECTION_KEYS),
        (types.SsdAnchors, checks.ANCHORS_KEYS),
        (types.Nms, checks.NMS_KEYS),
        (types.Limits, params.LIMIT_KEYS),
        (types.Disclosure, params.DISCLOSURE_KEYS),
        (types.SecurityConfig, params.SECURITY_KEYS),
        (types.TensorParams, params.TENSOR_KEYS),
        (types.InputsParams, params.INPUTS_KEYS),
        (types.FileParams, params.BATCH_KEYS),
    ],
)
def test_typed_dict_keys_are_the_validated_keys(typed_dict, allowed):
    assert keys(typed_dict) == set(allowed)


@pytest.mark.parametrize(
    ("typed_dict", "required"),
    [
        (types.ImagePreprocess, {"kind"}),
        (types.CsvPreprocess, {"kind"}),
        (types.DetectionConfig, checks.DETECTION_REQUIRED),
        (types.SsdAnchors, checks.ANCHORS_REQUIRED),
        (types.Nms, checks.NMS_REQUIRED),
        (types.TensorParams, {"input"}),
        (types.InputsParams, {"inputs"}),
        (types.FileParams, {"source", "preprocess"}),
    ],
)
def test_required_keys_are_the_validated_required_keys(typed_dict, required):
    assert set(typed_dict.__required_keys__) == required


def test_every_step_type_is_a_validated_step():
    steps = typing.get_args(types.Step)
    by_op = {typing.get_args(get_type_hints(step)["op"])[0]: step for step in steps}
    assert set(by_op) == set(params.STEP_KEYS)
    for op, step in by_op.items():
        assert keys(step) == {"op"} | params.STEP_KEYS[op], op


def literal_values(typed_dict, key):
    return set(typing.get_args(get_type_hints(typed_dict)[key]))


@pytest.mark.parametrize(
    ("typed_dict", "key", "accepted"),
    [
        (types.ImagePreprocess, "kind", {"image"}),
        (types.CsvPreprocess, "kind", {"csv"}),
        (types.ImagePreprocess, "color", set(checks.COLORS)),
        (types.ImagePreprocess, "layout", set(checks.LAYOUTS)),
        (types.ImagePreprocess, "resize", set(checks.RESIZES)),
        (types.ImagePreprocess, "dtype", set(checks.DTYPES)),
        (types.DetectionConfig, "coordinate_order", set(checks.COORDINATE_ORDERS)),
        (types.Nms, "method", set(checks.NMS_METHODS)),
        (types.Disclosure, "on_violation", set(params.ON_VIOLATION)),
    ],
)
def test_literal_types_are_the_validated_values(typed_dict, key, accepted):
    assert literal_values(typed_dict, key) == accepted


def test_derived_fields_are_the_validated_fields():
    [field] = typing.get_args(get_type_hints(types.Disclosure)["derived"])
    assert set(typing.get_args(field)) == set(params.DERIVED_FIELDS)


def test_preprocess_kinds_are_the_validated_kinds():
    kinds = {typing.get_args(get_type_hints(t)["kind"])[0] for t in typing.get_args(types.Preprocess)}
    assert kinds == set(params.PREPROCESS_KEYS)


def test_the_package_exports_every_type():
    assert set(types.__all__) <= set(ssc.__all__)
    assert all(getattr(ssc, name) is getattr(types, name) for name in types.__all__)
    public = {n for n, v in vars(types).items() if not n.startswith("_") and getattr(v, "__module__", None) == types.__name__}
    assert public <= set(types.__all__)
