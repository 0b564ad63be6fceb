"""Argument errors surface in Python, before anything reaches the browser."""

import pytest

from streamlit_secure_context._params import build_disclosure, build_limits, build_request, require_isolation, timeout_ms


def test_nested_tensor_is_flattened_with_its_shape():
    r = build_request({"input": [[1, 2, 3], [4, 5, 6]], "inputName": "x"})
    assert r.request["input"] == {"kind": "tensor", "name": "x", "shape": [2, 3], "data": [1, 2, 3, 4, 5, 6]}
    assert r.accept == []


def test_flat_tensor_with_explicit_shape():
    r = build_request({"input": [1, 2, 3, 4], "shape": [1, 2, 2]})
    assert r.request["input"]["shape"] == [1, 2, 2]


def test_numpy_arrays_are_accepted():
    import numpy as np
    r = build_request({"input": np.zeros((1, 3), dtype=np.float32)})
    assert r.request["input"]["shape"] == [1, 3]


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"input": [1, 2, 3], "shape": [2, 2]}, ValueError, r"holds 4 values, but input has 3"),
        ({"input": [[1, 2], [3]]}, ValueError, "ragged"),
        ({"input": [1, float("nan")]}, ValueError, "not a finite number"),
        ({"input": ["a"]}, TypeError, "expected numbers"),
        ({"input": [1], "shpae": [1]}, ValueError, r"unknown key\(s\) \['shpae'\]"),
        ({"source": "file"}, TypeError, "preprocess must be a dict whose 'kind' is one of 'image', 'csv'"),
        ({"source": "file", "preprocess": {"kind": "image", "sise": [8, 8]}}, ValueError, "sise"),
        ({"source": "file", "preprocess": {"kind": "image", "size": [8]}}, ValueError, r"preprocess\.size must hold at least 2 value"),
        ({"source": "url", "preprocess": {"kind": "csv"}}, ValueError, 'source must be "file"'),
        ({"source": "file", "preprocess": {"kind": "csv"}, "postprocess": {"top_k": 0}}, ValueError, r"postprocess\.top_k must be >= 1"),
        ({"source": "file", "preprocess": {"kind": "csv"}, "postprocess": {"labels": "ab"}}, TypeError, r"postprocess\.labels must be a list"),
        ({"source": "file", "preprocess": {"kind": "csv"}, "accept": ".csv"}, TypeError, "accept"),
        (None, ValueError, "inference_params is required"),
        ({"input": [1], "postprocess": {"steps": [{"op": "median"}]}}, ValueError, "one of"),
        ({"input": [1], "postprocess": {"steps": [{"op": "top_k"}]}}, ValueError, r"needs \['k'\]"),
        ({"input": [1], "postprocess": {"steps": [{"op": "sigmoid", "k": 1}]}}, ValueError, "unknown key"),
        ({"inputs": {"a": [1]}, "shape": [1]}, ValueError, "unknown key"),
        ({"inputs": [[1]]}, TypeError, "dict of input name"),
    ],
)
def test_bad_params_fail_fast(params, error, match):
    with pytest.raises(error, match=match):
        build_request(params)


def test_file_request_gets_default_accept_per_kind():
    r = build_request({"source": "file", "preprocess": {"kind": "csv"}, "postprocess": {"top_k": 1}})
    assert r.request == {
        "input": {"kind": "file", "name": None, "preprocess": {"kind": "csv"}},
        "postprocess": {"top_k": 1, "labels": []},
    }
    assert ".csv" in r.accept


def test_limits_and_timeout():
    assert build_limits(None) is None
    assert build_limits({"limits": {"max_input_bytes": 10}}) == {"max_input_bytes": 10}
    with pytest.raises(ValueError, match="max_input_byte"):
        build_limits({"limits": {"max_input_byte": 10}})
    with pytest.raises(ValueError, match=r"security_config\.limits\.max_input_bytes must be >= 1"):
        build_limits({"limits": {"max_input_bytes": 0}})
    with pytest.raises(TypeError, match="limits must be a dict"):
        build_limits({"limits": ["max_input_bytes"]})
    assert timeout_ms(1.5) == 1500
    with pytest.raises(ValueError):
        timeout_ms(-1)


def test_several_named_inputs_become_one_multiple_request():
    r = build_request({"inputs": {"ids": [[101, 2023]], "mask": [[1, 1]]}, "postprocess": {"steps": [{"op": "argmax"}]}})
    assert r.request["input"] == {
        "kind": "multiple",
        "inputs": [
            {"kind": "tensor", "name": "ids", "shape": [1, 2], "data": [101, 2023]},
            {"kind": "tensor", "name": "mask", "shape": [1, 2], "data": [1, 1]},
        ],
    }
    assert r.request["postprocess"]["steps"] == [{"op": "argmax"}]


def test_new_preprocess_options_pass_through():
    r = build_request({"source": "file", "preprocess": {"kind": "csv", "columns": ["age", "bmi"]}})
    assert r.request["input"]["preprocess"]["columns"] == ["age", "bmi"]
    r = build_request({"source": "file", "preprocess": {"kind": "image", "resize": "letterbox", "pad": 114}})
    assert r.request["input"]["preprocess"]["resize"] == "letterbox"


def test_require_isolation_is_a_bool_defaulting_to_false():
    assert require_isolation(None) is False
    assert require_isolation({"limits": {"max_input_bytes": 10}}) is False
    assert require_isolation({"require_isolation": True}) is True
    with pytest.raises(TypeError, match="require_isolation must be True or False.*security_middleware"):
        require_isolation({"require_isolation": "yes"})
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['require_isolaton'\]"):
        require_isolation({"require_isolaton": True})


RANKED = {"postprocess": {"top_k": 3}}
DETECTING = {"postprocess": {"detection": {"boxes": "regressors"}}}


def test_no_disclosure_policy_leaves_the_default_to_the_engine():
    assert build_disclosure(None, RANKED) is None
    assert build_disclosure({"limits": {"max_input_bytes": 10}}, RANKED) is None
    # Numbers the app supplied: every output comes back, no policy needed.
    assert build_disclosure(None, {"input": {"kind": "tensor", "data": [1.0]}}) is None


@pytest.mark.parametrize("inputs", [
    {"kind": "file", "preprocess": {"kind": "csv"}},
    {"kind": "multiple", "inputs": [{"kind": "tensor", "name": "a", "data": [1.0]}, {"kind": "file", "preprocess": {"kind": "csv"}}]},
])
def test_a_file_request_that_asks_for_nothing_must_name_the_outputs_that_may_leave(inputs):
    with pytest.raises(ValueError, match=r'raw outputs leave the browser only when the app names them.*"outputs"'):
        build_disclosure(None, {"input": inputs})
    assert build_disclosure({"disclosure": {"outputs": ["probabilities"]}}, {"input": inputs}) == {"outputs": ["probabilities"]}


def test_disclosure_policy_is_passed_to_the_engine_as_declared():
    policy = {"outputs": ["probabilities"], "decimals": 3, "max_output_elements": 100, "on_violation": "error"}
    assert build_disclosure({"disclosure": policy}, RANKED) == policy
    assert build_disclosure({"disclosure": {"top_k_only": True}}, RANKED) == {"top_k_only": True}
    # An empty allow-list is fine while the ranking can still leave.
    assert build_disclosure({"disclosure": {"outputs": []}}, RANKED) == {"outputs": []}
    # So is one that lets only the detector's boxes leave, not its raw tensors.
    boxes_only = {"outputs": [], "derived": ["detections"]}
    assert build_disclosure({"disclosure": boxes_only}, DETECTING) == boxes_only


@pytest.mark.parametrize(
    ("policy", "request_", "error", "match"),
    [
        ({"output": ["p"]}, RANKED, ValueError, r"unknown key\(s\) \['output'\]"),
        ("top_k_only", RANKED, TypeError, "disclosure must be a dict"),
        ({"outputs": "probabilities"}, RANKED, TypeError, r"disclosure\.outputs must be a list or None"),
        ({"outputs": [""]}, RANKED, ValueError, r"disclosure\.outputs\[0\] must have at least 1 character"),
        ({"outputs": ["p", "p"]}, RANKED, ValueError, "lists 'p' twice"),
        ({"top_k_only": 1}, RANKED, TypeError, "True or False"),
        ({"decimals": 16}, RANKED, ValueError, r"decimals must be <= 15"),
        ({"decimals": -1}, RANKED, ValueError, r"decimals must be between 0 and"),
        ({"decimals": 2.5}, RANKED, TypeError, r"decimals must be an integer"),
        ({"max_output_elements": True}, RANKED, TypeError, r"max_output_elements must be an integer or None"),
        ({"on_violation": "drop"}, RANKED, ValueError, "'drop' is not one of 'withhold', 'error'"),
        ({"top_k_only": True}, {"postprocess": None}, ValueError, "top_k_only needs"),
        ({"top_k_only": True, "outputs": ["p"]}, RANKED, ValueError, "cannot list any"),
        ({"outputs": []}, {"postprocess": {"softmax": True}}, ValueError, "nothing could leave"),
        ({"derived": "detections"}, DETECTING, TypeError, r"derived must be a list or None"),
        ({"derived": ["outputs"]}, DETECTING, ValueError, "'outputs' is not one of 'postprocessed', 'detections'"),
        ({"derived": ["postprocessed"]}, DETECTING, ValueError, 'no "steps" to compute it'),
        ({"top_k_only": True, "derived": ["detections"]}, {"postprocess": {"top_k": 1, **DETECTING["postprocess"]}}, ValueError,
         "cannot list any"),
    ],
)
def test_bad_disclosure_policies_fail_fast(policy, request_, error, match):
    with pytest.raises(error, match=match):
        build_disclosure({"disclosure": policy}, request_)
