"""The request's parts are checked in Python by the engine's schema and cross-field rules.

Every rule has a case the engine rejects (which must raise here, naming the field) and the
values the engine accepts next to it (which must pass). Each case also goes to the engine
itself (`ssc check`), which must reach the same verdict: Python neither lets a mistake
through to the browser nor refuses a request the engine would run.
"""

import copy
import json
import subprocess

import pytest

from streamlit_secure_context import _schema
from streamlit_secure_context._params import build_disclosure, build_limits, build_request

DETECTION = {
    "boxes": "regressors", "scores": "classificators", "coordinate_order": "xy", "box_scale": [128, 128, 128, 128],
    "threshold": 0.5, "nms": {"method": "weighted", "iou_threshold": 0.3},
    "anchors": {"input_size": [128, 128], "num_layers": 4, "min_scale": 0.1484375, "max_scale": 0.75,
                "strides": [8, 16, 16, 16], "aspect_ratios": [1.0]},
}


def image(**fields):
    return {"source": "file", "preprocess": {"kind": "image", **fields}}


def dicom(**fields):
    return {"source": "file", "preprocess": {"kind": "dicom", **fields}}


def csv(**fields):
    return {"source": "file", "preprocess": {"kind": "csv", **fields}}


def detection(drop=None, **changes):
    """A tensor request with DETECTION, its dotted `changes` set and its dotted key `drop` removed."""
    config = copy.deepcopy(DETECTION)

    def parent(path):
        *parents, last = path.split(".")
        target = config
        for p in parents:
            target = target[p]
        return target, last

    for path, value in changes.items():
        target, last = parent(path)
        target[last] = value
    if drop:
        target, last = parent(drop)
        del target[last]
    return {"input": [0.0], "postprocess": {"detection": config}}


@pytest.mark.parametrize(
    "params",
    [
        *(image(color=c) for c in ("rgb", "bgr", "grayscale")),
        *(image(layout=layout) for layout in ("nchw", "nhwc", "flat")),
        *(image(resize=r) for r in ("stretch", "center_crop", "letterbox")),
        *(image(dtype=d) for d in ("float16", "float32", "float64", "int8", "int16", "int32", "int64",
                                   "uint8", "uint16", "uint32", "uint64", "bool")),
        image(pad=0), image(pad=255), image(scale=1), image(scale=-0.5),
        image(mean=[0.5], std=[0.25], color="grayscale"), image(mean=[1, 2, 3], std=[1.0, 2.0, 3.0]),
        image(mean=[], std=[]), image(size=None, dtype=None), image(size=[1, 4096]),
        csv(header=False), csv(delimiter="\t"), csv(delimiter=";", columns=["age", "bmi"]), csv(columns=[]),
        csv(columns=None, header=False),
        dicom(), dicom(window="none"), dicom(window=[40, 400]), dicom(frame=2, color="rgb", mean=[0.5] * 3, std=[0.2] * 3),
        dicom(size=[256, 256], resize="letterbox", layout="nhwc", scale=2.0, dtype="float32"),
        {"input": [1.0], "postprocess": {"steps": [{"op": "top_k", "k": 1}, {"op": "threshold", "value": -2}]}},
        {"input": [1.0], "postprocess": {"output": None, "top_k": None, "detection": None}},
        detection(),
        detection(keypoints=6), detection(keypoint_offset=0), detection(sigmoid=True),
        detection(score_clip=0), detection(score_clip=None), detection(coordinate_order="yx"),
        detection(**{"nms.method": "hard"}), detection(**{"nms.iou_threshold": 1}), detection(**{"nms.max_detections": 0}),
        detection(**{"anchors.offset": [0.0, 1.0]}), detection(**{"anchors.interpolated_scale_aspect_ratio": 0}),
        detection(**{"anchors.fixed_anchor_size": False}), detection(**{"anchors.min_scale": -1}),
        # Boxes map back onto the picked image through every resize.
        *({**image(resize=r), "postprocess": {"detection": DETECTION}} for r in ("stretch", "center_crop", "letterbox")),
        {**image(resize="letterbox"), "postprocess": {"top_k": 1}},
    ],
)
def test_what_the_engine_accepts_passes(params, cli):
    build_request(params)
    assert engine_verdict(cli, params) == "ok"


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        # image
        (image(color="purple"), ValueError, r"preprocess\.color: 'purple' is not one of 'rgb', 'bgr', 'grayscale'"),
        (image(color="RGB"), ValueError, r"preprocess\.color"),
        (image(layout="chw"), ValueError, r"preprocess\.layout: 'chw' is not one of 'nchw', 'nhwc', 'flat'"),
        (image(resize="crop"), ValueError, r"preprocess\.resize: 'crop' is not one of 'stretch', 'center_crop', 'letterbox'"),
        (image(size=[0, 8]), ValueError, r"preprocess\.size\[0\] must be >= 1"),
        (image(size=[8, 2**32]), ValueError, r"preprocess\.size\[1\] must be between 0 and 4294967295"),
        (image(size=[8.0, 8]), TypeError, r"preprocess\.size\[0\] must be an integer"),
        (image(size=[True, 8]), TypeError, r"preprocess\.size\[0\] must be an integer"),
        (image(size=[8]), ValueError, r"preprocess\.size must hold at least 2 value"),
        (image(size="8x8"), TypeError, r"preprocess\.size must be a list or None"),
        (image(pad=256), ValueError, r"preprocess\.pad must be between 0 and 255"),
        (image(pad=-1), ValueError, r"preprocess\.pad"),
        (image(pad=0.5), TypeError, r"preprocess\.pad must be an integer"),
        (image(scale="1/255"), TypeError, r"preprocess\.scale must be a number"),
        (image(scale=float("inf")), ValueError, r"preprocess\.scale must be a finite number"),
        (image(mean=[0.5, 0.5]), ValueError, r"preprocess\.mean has 2 values, but color 'rgb' has 3 channel\(s\)"),
        (image(std=[0.5, 0.5, 0.5], color="grayscale"), ValueError, r"preprocess\.std has 3 values, but color 'grayscale' has 1"),
        (image(std=[1, 0, 1]), ValueError, r"preprocess\.std\[1\] must not be 0"),
        (image(mean=0.5), TypeError, r"preprocess\.mean must be a list"),
        (image(mean=["0.5", 1, 1]), TypeError, r"preprocess\.mean\[0\] must be a number"),
        (image(mean=[float("nan"), 1, 1]), ValueError, r"preprocess\.mean\[0\] must be a finite number"),
        (image(dtype="float"), ValueError, r"preprocess\.dtype: 'float' is not one of 'bool', 'uint8'"),
        (image(dtype="string"), ValueError, r"preprocess\.dtype"),
        (image(colour="rgb"), ValueError, r"preprocess: unknown key\(s\) \['colour'\]"),
        ({"source": "file", "preprocess": {"kind": "wav"}}, ValueError, r"preprocess\.kind: 'wav' is not one of 'image', 'csv'"),
        # dicom
        (dicom(window="lung"), ValueError, r"preprocess\.window"),
        (dicom(window=[40, 0]), ValueError, r"preprocess\.window is \[center, width\]; its width must be at least 1"),
        (dicom(window=[40]), ValueError, r"preprocess\.window"),
        (dicom(frame=-1), ValueError, r"preprocess\.frame must be between 0"),
        (dicom(mean=[0.5, 0.5, 0.5]), ValueError, r"preprocess\.mean has 3 values, but color 'grayscale' has 1"),
        (dicom(pad=0), ValueError, r"preprocess: unknown key\(s\) \['pad'\]"),
        # csv
        (csv(header="yes"), TypeError, r"preprocess\.header must be True or False"),
        (csv(delimiter=";;"), ValueError, r"preprocess\.delimiter must have at most 1 character"),
        (csv(delimiter=""), ValueError, r"preprocess\.delimiter must have at least 1 character"),
        (csv(delimiter="§"), ValueError, r"preprocess\.delimiter: '§' does not match"),
        (csv(delimiter=59), TypeError, r"preprocess\.delimiter must be a str"),
        (csv(columns=[0, 1]), TypeError, r"preprocess\.columns\[0\] must be a str"),
        (csv(columns="age"), TypeError, r"preprocess\.columns must be a list or None"),
        (csv(columns=["age"], header=False), ValueError, r"preprocess\.columns .* needs header: True"),
        # postprocess and its steps
        ({"input": [1.0], "postprocess": {"top_k": 0}}, ValueError, r"postprocess\.top_k must be >= 1"),
        ({"input": [1.0], "postprocess": {"labels": "a,b"}}, TypeError, r"postprocess\.labels must be a list"),
        ({"input": [1.0], "postprocess": {"steps": [{"op": "top_k", "k": 0}]}}, ValueError, r"steps\[0\]\.k must be >= 1"),
        ({"input": [1.0], "postprocess": {"steps": [{"op": "top_k", "k": "2"}]}}, TypeError, r"steps\[0\]\.k must be an integer"),
        ({"input": [1.0], "postprocess": {"steps": [{"op": "threshold", "value": None}]}}, TypeError,
         r"steps\[0\]\.value must be a number"),
        ({"input": [1.0], "postprocess": {"steps": [{"op": "median"}]}}, ValueError, r"steps\[0\]\.op: 'median' is not one of 'softmax'"),
        ({"input": [1.0], "postprocess": {"steps": [{"op": "softmax", "k": 1}]}}, ValueError, r"steps\[0\]: unknown key\(s\) \['k'\]"),
        # detection: shape
        ({"input": [1.0], "postprocess": {"detection": [1]}}, TypeError, r"postprocess\.detection must be a dict"),
        (detection(drop="nms"), ValueError, r"postprocess\.detection needs \['nms'\]"),
        (detection(iou=0.5), ValueError, r"postprocess\.detection: unknown key\(s\) \['iou'\]"),
        (detection(drop="anchors.strides"), ValueError, r"postprocess\.detection\.anchors needs \['strides'\]"),
        (detection(drop="nms.iou_threshold"), ValueError, r"postprocess\.detection\.nms needs \['iou_threshold'\]"),
        (detection(**{"nms.iou": 0.5}), ValueError, r"postprocess\.detection\.nms: unknown key"),
        # detection: fields
        (detection(boxes=0), TypeError, r"postprocess\.detection\.boxes must be a str"),
        (detection(scores=None), TypeError, r"postprocess\.detection\.scores"),
        (detection(coordinate_order="xyxy"), ValueError, r"coordinate_order: 'xyxy' is not one of 'xy', 'yx'"),
        (detection(box_scale=[128, 128]), ValueError, r"box_scale must hold at least 4 value\(s\), got 2"),
        (detection(box_scale=[128, 0, 128, 128]), ValueError, r"box_scale\[1\] must not be 0"),
        (detection(threshold="0.5"), TypeError, r"detection\.threshold must be a number"),
        (detection(keypoints=-1), ValueError, r"detection\.keypoints must be (>= 0|between 0)"),
        (detection(keypoints=6, keypoint_offset=2), ValueError, r"keypoint_offset must be at least 4"),
        (detection(sigmoid=1), TypeError, r"detection\.sigmoid must be True or False"),
        (detection(score_clip=-1), ValueError, r"score_clip must be >= 0"),
        (detection(**{"nms.method": "soft"}), ValueError, r"nms\.method: 'soft' is not one of 'hard', 'weighted'"),
        (detection(**{"nms.iou_threshold": 1.5}), ValueError, r"iou_threshold must be <= 1"),
        (detection(**{"nms.max_detections": 2.5}), TypeError, r"max_detections must be an integer"),
        (detection(**{"anchors.input_size": [128, 0]}), ValueError, r"anchors\.input_size\[1\] must be >= 1"),
        (detection(**{"anchors.num_layers": 0}), ValueError, r"anchors\.num_layers must be >= 1"),
        (detection(**{"anchors.strides": [8, 16]}), ValueError, r"strides must hold one stride per layer: 4 layer\(s\), 2"),
        (detection(**{"anchors.strides": [8, 16, 0, 16]}), ValueError, r"anchors\.strides\[2\] must be >= 1"),
        (detection(**{"anchors.aspect_ratios": [1.0, 0]}), ValueError, r"aspect_ratios\[1\] must be > 0"),
        (detection(**{"anchors.min_scale": "0.1"}), TypeError, r"anchors\.min_scale must be a number"),
        (detection(**{"anchors.offset": [0.5]}), ValueError, r"anchors\.offset must hold at least 2 value"),
        (detection(**{"anchors.fixed_anchor_size": "yes"}), TypeError, r"fixed_anchor_size must be True or False"),
    ],
)
def test_what_the_engine_rejects_raises_naming_the_field(params, error, match, cli):
    with pytest.raises(error, match=match):
        build_request(params)
    assert engine_verdict(cli, params) != "ok"


RANKED_CSV = {**csv(), "postprocess": {"top_k": 1}}
STEPS_CSV = {**csv(), "postprocess": {"steps": [{"op": "sigmoid"}]}}


@pytest.mark.parametrize(
    ("params", "policy", "accepted"),
    [
        (RANKED_CSV, None, True),
        (csv(), None, False),  # a file, no policy, nothing computed: nothing could leave
        (RANKED_CSV, {"top_k_only": True, "decimals": 2}, True),
        (RANKED_CSV, {"top_k_only": True, "outputs": ["p"]}, False),
        (RANKED_CSV, {"top_k_only": True, "derived": ["postprocessed"]}, False),
        (STEPS_CSV, {"top_k_only": True}, False),  # top_k_only without a ranking
        (RANKED_CSV, {"outputs": ["p", "p"]}, False),
        (RANKED_CSV, {"outputs": [""]}, False),
        (RANKED_CSV, {"outputs": None}, True),
        (RANKED_CSV, {"derived": ["postprocessed"]}, False),  # nothing computes it
        (STEPS_CSV, {"derived": ["postprocessed"], "outputs": []}, True),
        (STEPS_CSV, {"derived": ["postprocessed", "postprocessed"]}, True),
        (csv(), {"outputs": []}, False),
        # An explicit policy changes only what it names: a picked file's raw outputs still stay.
        (csv(), {"decimals": 2}, False),
        (STEPS_CSV, {"decimals": 2}, True),  # the steps it computes still leave
        (RANKED_CSV, {"decimals": 15, "max_rows": 0, "max_bits": 2**63, "on_violation": "error"}, True),
        (RANKED_CSV, {"decimals": 16}, False),
        (RANKED_CSV, {"on_violation": "warn"}, False),
        (RANKED_CSV, {"max_output_elements": -1}, False),
        (RANKED_CSV, {"top_k": True}, False),
        ({**dicom(), "postprocess": {"top_k": 1}}, {"dicom_attributes": ["Modality", "PixelSpacing"]}, True),
        ({**dicom(), "postprocess": {"top_k": 1}}, {"dicom_attributes": ["PatientName"]}, False),
        ({**dicom(), "postprocess": {"top_k": 1}}, {"dicom_attributes": ["StudyInstanceUID"]}, False),
        (RANKED_CSV, {"dicom_attributes": ["Modality"]}, False),
    ],
)
def test_a_policy_gets_the_same_verdict_in_python_and_in_the_engine(params, policy, accepted, cli):
    def python():
        build_disclosure({"disclosure": policy}, build_request(params).request)

    if accepted:
        python()
    else:
        with pytest.raises((TypeError, ValueError), match="disclosure|file"):
            python()
    assert (engine_verdict(cli, params, policy) == "ok") == accepted


@pytest.mark.parametrize(("limits", "accepted"), [({"max_input_bytes": 1}, True), ({"max_input_bytes": 0}, False),
                                                  ({"max_model_bytes": 2**32 - 1}, True), ({"max_tensor_elements": "1"}, False)])
def test_limits_get_the_same_verdict_in_python_and_in_the_engine(limits, accepted, cli):
    # (Python holds usize limits to 32 bits, the browser engine's; the native `ssc` takes more.)
    if accepted:
        build_limits({"limits": limits})
    else:
        with pytest.raises((TypeError, ValueError), match=r"security_config\.limits"):
            build_limits({"limits": limits})
    verdict = subprocess.run([cli, "check", "--limits", json.dumps(limits), "--config", json.dumps(engine_request(RANKED_CSV))],
                             capture_output=True, text=True)
    assert (verdict.returncode == 0) == accepted, verdict.stderr


def test_a_method_added_to_the_rust_enum_is_accepted_with_no_python_change(monkeypatch):
    """What adding an NMS method to `NmsMethod` and regenerating schema.json does: Python takes it."""
    with pytest.raises(ValueError, match="is not one of 'hard', 'weighted'"):
        build_request(detection(**{"nms.method": "soft"}))
    schema = copy.deepcopy(_schema.SCHEMA)
    methods = schema["$defs"]["NmsMethod"]
    methods["oneOf"].append({"const": "soft", "type": "string"})
    schema["$defs"]["Postprocess"]["properties"]["calibrate"] = {"type": "boolean"}
    monkeypatch.setattr(_schema, "SCHEMA", schema)
    build_request(detection(**{"nms.method": "soft"}))
    build_request({"input": [1.0], "postprocess": {"top_k": 1, "calibrate": True}})
    with pytest.raises(TypeError, match=r"postprocess\.calibrate must be True or False"):
        build_request({"input": [1.0], "postprocess": {"calibrate": 1}})


# The cases about other parts than the policy name an output that may leave (`ssc check` has no
# model to hold the name to): a file request that computes nothing is otherwise refused for that
# alone, since an explicit policy keeps a picked file's raw outputs unless it names them.
EVERY_OUTPUT: dict = {"outputs": ["y"]}


def engine_request(params, policy=EVERY_OUTPUT):
    """`params` in the engine's request format, unchecked: what the engine is asked to judge."""
    if "source" in params:
        spec = {"kind": "file", "name": params.get("inputName"), "preprocess": params["preprocess"]}
    else:
        spec = {"kind": "tensor", "name": None, "shape": [len(params["input"])], "data": params["input"]}
    return {"input": spec, "postprocess": params.get("postprocess"), "disclosure": policy}


def engine_verdict(cli, params, policy=EVERY_OUTPUT):
    request = engine_request(params, policy)
    try:
        config = json.dumps(request, allow_nan=False)
    except ValueError:
        return "error: --config: JSON has no NaN or infinity"
    result = subprocess.run([cli, "check", "--config", config], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else result.stderr.strip()
