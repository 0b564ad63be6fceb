"""preprocess and postprocess fields are checked in Python, by the engine's own rules.

Every rule has a case the engine rejects (which must raise here, naming the field) and the
values the engine accepts next to it (which must pass), so Python neither lets a mistake
through to the browser nor refuses a request the engine would run.
"""

import copy

import pytest

from streamlit_secure_context._params import build_request

DETECTION = {
    "boxes": "regressors", "scores": "classificators", "coordinate_order": "xy", "box_scale": [128, 128, 128, 128],
    "threshold": 0.5, "nms": {"method": "weighted", "iou_threshold": 0.3},
    "anchors": {"input_size": [128, 128], "num_layers": 4, "min_scale": 0.1484375, "max_scale": 0.75,
                "strides": [8, 16, 16, 16], "aspect_ratios": [1.0]},
}


def image(**fields):
    return {"source": "file", "preprocess": {"kind": "image", **fields}}


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
def test_what_the_engine_accepts_passes(params):
    build_request(params)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        # image
        (image(color="purple"), ValueError, r"preprocess\.color must be one of 'rgb', 'bgr', 'grayscale'; got 'purple'"),
        (image(color="RGB"), ValueError, r"preprocess\.color"),
        (image(layout="chw"), ValueError, r"preprocess\.layout must be one of 'nchw', 'nhwc', 'flat'"),
        (image(resize="crop"), ValueError, r"preprocess\.resize must be one of 'stretch', 'center_crop', 'letterbox'"),
        (image(size=[0, 8]), ValueError, r"preprocess\.size\[0\] must be between 1 and"),
        (image(size=[8, 2**32]), ValueError, r"preprocess\.size\[1\] must be between 1 and 4294967295"),
        (image(size=[8.0, 8]), TypeError, r"preprocess\.size\[0\] must be an integer"),
        (image(size=[True, 8]), TypeError, r"preprocess\.size\[0\] must be an integer"),
        (image(size="8x8"), ValueError, r"preprocess\.size must be \[width, height\]"),
        (image(pad=256), ValueError, r"preprocess\.pad .* between 0 and 255"),
        (image(pad=-1), ValueError, r"preprocess\.pad"),
        (image(pad=0.5), TypeError, r"preprocess\.pad .* must be an integer"),
        (image(scale="1/255"), TypeError, r"preprocess\.scale must be a number"),
        (image(scale=float("inf")), ValueError, r"preprocess\.scale must be a finite number"),
        (image(mean=[0.5, 0.5]), ValueError, r"preprocess\.mean has 2 values, but color 'rgb' has 3 channel\(s\)"),
        (image(std=[0.5, 0.5, 0.5], color="grayscale"), ValueError, r"preprocess\.std has 3 values, but color 'grayscale' has 1"),
        (image(std=[1, 0, 1]), ValueError, r"preprocess\.std must not contain 0"),
        (image(mean=0.5), TypeError, r"preprocess\.mean must be a list"),
        (image(mean=["0.5", 1, 1]), TypeError, r"preprocess\.mean\[0\] must be a number"),
        (image(mean=[float("nan"), 1, 1]), ValueError, r"preprocess\.mean\[0\] must be a finite number"),
        (image(dtype="float"), ValueError, r"preprocess\.dtype must be one of 'float16'"),
        (image(dtype="string"), ValueError, r"preprocess\.dtype"),
        # csv
        (csv(header="yes"), TypeError, r"preprocess\.header must be True or False"),
        (csv(delimiter=";;"), ValueError, r"preprocess\.delimiter must be one ASCII character"),
        (csv(delimiter=""), ValueError, r"preprocess\.delimiter must be one ASCII character"),
        (csv(delimiter="§"), ValueError, r"preprocess\.delimiter must be one ASCII character"),
        (csv(delimiter=59), ValueError, r"preprocess\.delimiter must be one ASCII character"),
        (csv(columns=[0, 1]), TypeError, r"preprocess\.columns must be a list of the header's column names \(str\)"),
        (csv(columns="age"), TypeError, r"preprocess\.columns must be a list"),
        (csv(columns=["age"], header=False), ValueError, r"preprocess\.columns .* needs header: True"),
        # steps
        ({"input": [1.0], "postprocess": {"steps": [{"op": "top_k", "k": 0}]}}, ValueError, r"steps\[0\]\.k must be between 1"),
        ({"input": [1.0], "postprocess": {"steps": [{"op": "top_k", "k": "2"}]}}, TypeError, r"steps\[0\]\.k must be an integer"),
        ({"input": [1.0], "postprocess": {"steps": [{"op": "threshold", "value": None}]}}, TypeError,
         r"steps\[0\]\.value must be a number"),
        # detection: shape
        ({"input": [1.0], "postprocess": {"detection": [1]}}, TypeError, r"postprocess\.detection must be a dict"),
        (detection(drop="nms"), ValueError, r"postprocess\.detection needs \['nms'\]"),
        (detection(iou=0.5), ValueError, r"postprocess\.detection: unknown key\(s\) \['iou'\]"),
        (detection(drop="anchors.strides"), ValueError, r"postprocess\.detection\.anchors needs \['strides'\]"),
        (detection(drop="nms.iou_threshold"), ValueError, r"postprocess\.detection\.nms needs \['iou_threshold'\]"),
        (detection(**{"nms.iou": 0.5}), ValueError, r"postprocess\.detection\.nms: unknown key"),
        # detection: fields
        (detection(boxes=0), TypeError, r"postprocess\.detection\.boxes \(an output name\) must be a str"),
        (detection(scores=None), TypeError, r"postprocess\.detection\.scores"),
        (detection(coordinate_order="xyxy"), ValueError, r"coordinate_order must be one of 'xy', 'yx'"),
        (detection(box_scale=[128, 128]), ValueError, r"box_scale must hold 4 values, got 2"),
        (detection(box_scale=[128, 0, 128, 128]), ValueError, r"box_scale must not contain 0"),
        (detection(threshold="0.5"), TypeError, r"detection\.threshold must be a number"),
        (detection(keypoints=-1), ValueError, r"detection\.keypoints must be between 0"),
        (detection(keypoints=6, keypoint_offset=2), ValueError, r"keypoint_offset must be at least 4"),
        (detection(sigmoid=1), TypeError, r"detection\.sigmoid must be True or False"),
        (detection(score_clip=-1), ValueError, r"score_clip must be >= 0"),
        (detection(**{"nms.method": "soft"}), ValueError, r"nms\.method must be one of 'hard', 'weighted'"),
        (detection(**{"nms.iou_threshold": 1.5}), ValueError, r"iou_threshold must be in \[0, 1\]"),
        (detection(**{"nms.max_detections": 2.5}), TypeError, r"max_detections must be an integer"),
        (detection(**{"anchors.input_size": [128, 0]}), ValueError, r"anchors\.input_size .*\[1\] must be between 1"),
        (detection(**{"anchors.num_layers": 0}), ValueError, r"anchors\.num_layers must be between 1"),
        (detection(**{"anchors.strides": [8, 16]}), ValueError, r"strides must hold one stride per layer: 4 layer\(s\), 2"),
        (detection(**{"anchors.strides": [8, 16, 0, 16]}), ValueError, r"anchors\.strides\[2\] must be between 1"),
        (detection(**{"anchors.aspect_ratios": [1.0, 0]}), ValueError, r"aspect_ratios must be positive"),
        (detection(**{"anchors.min_scale": "0.1"}), TypeError, r"anchors\.min_scale must be a number"),
        (detection(**{"anchors.offset": [0.5]}), ValueError, r"anchors\.offset .* must hold 2 values"),
        (detection(**{"anchors.fixed_anchor_size": "yes"}), TypeError, r"fixed_anchor_size must be True or False"),
    ],
)
def test_what_the_engine_rejects_raises_naming_the_field(params, error, match):
    with pytest.raises(error, match=match):
        build_request(params)
