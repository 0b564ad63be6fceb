"""The shapes of the arguments and results, as TypedDicts, for editors and type checkers.

They are the documented face of the engine's formats (`ssc schema`, shipped as
`schema.json`, which `_params.py` validates against at run time); `python/tests/test_types.py`
holds every one of them to that schema, key for key and value for value. TypedDicts are plain dicts at run
time, so an app may keep passing dict literals: annotating them only adds checking.
"""

# No `from __future__ import annotations` here: before Python 3.13 the TypedDict machinery
# cannot see Required/NotRequired inside string annotations, and would get the required keys wrong.
import sys
from collections.abc import Sequence
from typing import Any, Literal, Protocol, Union, final

# On 3.10, `typing.TypedDict` does not understand Required/NotRequired: both must come from
# typing_extensions there, or the required keys would be computed wrongly.
if sys.version_info >= (3, 11):
    from typing import NotRequired, Required, TypedDict
else:
    from typing_extensions import NotRequired, Required, TypedDict

# --- Preprocessing: how a picked file becomes the model's input --------------------------

#: The channels of an image, in order; ``"grayscale"`` has one.
Color = Literal["rgb", "bgr", "grayscale"]
#: Where channels go in the input tensor: ``[1, C, H, W]``, ``[1, H, W, C]``, or ``[1, H * W * C]``.
Layout = Literal["nchw", "nhwc", "flat"]
#: Scale each axis independently; scale to cover, then cut the overflow evenly; or scale to fit,
#: then pad evenly (as YOLO-style models expect).
Resize = Literal["stretch", "center_crop", "letterbox"]
#: The ONNX spellings of the dtypes the engine can feed a model.
Dtype = Literal[
    "float16", "float32", "float64",
    "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64",
    "bool",
]


class ImagePreprocess(TypedDict, total=False):
    """A picked image (PNG, JPEG, WebP, BMP, GIF's first frame), fitted and normalized.

    Each value becomes ``(pixel * scale - mean[c]) / std[c]``.
    """

    #: Selects this kind of preprocessing.
    kind: Required[Literal["image"]]
    #: ``[width, height]``; taken from the model input's shape when omitted.
    size: list[int]
    #: Default ``"rgb"``; ``"grayscale"`` has one channel, the others three.
    color: Color
    #: Where channels go: default ``"nchw"``; ``"flat"`` is ``[1, height * width * channels]``.
    layout: Layout
    #: How the picture is fitted to ``size``: default ``"stretch"``.
    resize: Resize
    #: The pixel value (0-255, before scaling) of letterbox padding; default 0.
    pad: int
    #: Default ``1 / 255``; use 1 for a uint8 model.
    scale: float
    #: One value per channel (or empty for none).
    mean: list[float]
    #: One non-zero value per channel (or empty for none).
    std: list[float]
    #: The model input dtype the app expects; checked against the model.
    dtype: Dtype


class CsvPreprocess(TypedDict, total=False):
    """A picked CSV file, one sample per row, fed as a ``[rows, columns]`` tensor."""

    #: Selects this kind of preprocessing.
    kind: Required[Literal["csv"]]
    #: Whether the first row names the columns (and so is not data); default True.
    header: bool
    #: One ASCII character; default ``","``.
    delimiter: str
    #: The header's columns to feed, in the model's feature order (needs ``header: True``).
    columns: list[str]


#: Which modality values map to black and white: the file's Window Center and Width
#: (``"file"``), none (``"none"``: the values as they are, CT in HU), or ``[center, width]``.
Window = Union[Literal["file", "none"], list[float]]


class DicomPreprocess(TypedDict, total=False):
    """A picked DICOM file: one frame, through its modality LUT (rescale: CT in HU) and the VOI
    window to [0, 1], MONOCHROME1 inverted, YBR converted to RGB; then fitted and normalized as
    an image is. Nothing of the header leaves the browser.

    Each value becomes ``(windowed * scale - mean[c]) / std[c]``.
    """

    #: Selects this kind of preprocessing.
    kind: Required[Literal["dicom"]]
    #: Default ``"file"``.
    window: Window
    #: The frame of a multi-frame file, from 0; default 0.
    frame: int
    #: ``[width, height]``; taken from the model input's shape when omitted.
    size: list[int]
    #: The channels the model takes: default ``"grayscale"`` (a colour file is reduced to its
    #: luma); ``"rgb"``/``"bgr"`` repeat a monochrome file in each.
    color: Color
    #: Where channels go: default ``"nchw"``.
    layout: Layout
    #: How the frame is fitted to ``size``: default ``"stretch"``; letterbox pads with 0.
    resize: Resize
    #: Default 1 (the window gives [0, 1]).
    scale: float
    #: One value per channel (or empty for none).
    mean: list[float]
    #: One non-zero value per channel (or empty for none).
    std: list[float]
    #: The model input dtype the app expects; checked against the model.
    dtype: Dtype


Preprocess = Union[ImagePreprocess, CsvPreprocess, DicomPreprocess]

# --- Post-processing ---------------------------------------------------------------------


class SoftmaxStep(TypedDict):
    """Softmax over the last axis."""

    op: Literal["softmax"]


class SigmoidStep(TypedDict):
    """The logistic function, element-wise (multi-label or binary heads)."""

    op: Literal["sigmoid"]


class ArgmaxStep(TypedDict):
    """The best class of each row."""

    op: Literal["argmax"]


class TopKStep(TypedDict):
    """The ``k`` best classes of each row, best first."""

    op: Literal["top_k"]
    k: int


class ThresholdStep(TypedDict):
    """Every class of each row scoring at least ``value``."""

    op: Literal["threshold"]
    value: float


Step = Union[SoftmaxStep, SigmoidStep, ArgmaxStep, TopKStep, ThresholdStep]


#: How an anchor's raw values are laid out: ``[x, y, w, h, kx, ky, ...]`` or ``[y, x, h, w, ky, kx, ...]``.
CoordinateOrder = Literal["xy", "yx"]
#: How overlapping boxes are merged.
NmsMethod = Literal["hard", "weighted"]


class SsdAnchors(TypedDict, total=False):
    """SSD anchors generated from their options, as MediaPipe's SsdAnchorsCalculator does."""

    #: ``[width, height]`` of the model input the anchors tile.
    input_size: Required[list[int]]
    #: At least 1.
    num_layers: Required[int]
    #: The anchor scale of the first layer.
    min_scale: Required[float]
    #: The anchor scale of the last layer.
    max_scale: Required[float]
    #: One positive stride per layer.
    strides: Required[list[int]]
    #: Positive ratios.
    aspect_ratios: Required[list[float]]
    #: Anchor centre within its grid cell, ``[x, y]``; default ``[0.5, 0.5]``.
    offset: list[float]
    #: Adds an anchor per layer at the geometric mean of this and the next scale (0: none).
    interpolated_scale_aspect_ratio: float
    #: Anchors of size 1x1: the model regresses absolute sizes (BlazeFace does).
    fixed_anchor_size: bool


class Nms(TypedDict, total=False):
    """Non-maximum suppression of overlapping boxes."""

    #: ``"hard"`` keeps the best box and drops those overlapping it; ``"weighted"`` replaces it by
    #: the score-weighted mean of the overlapping boxes (MediaPipe's WEIGHTED, steadier faces).
    method: Required[NmsMethod]
    #: In [0, 1]: boxes overlapping a kept box more than this are suppressed.
    iou_threshold: Required[float]
    #: Default 100.
    max_detections: int


class DetectionConfig(TypedDict, total=False):
    """Decoding of SSD-style detector outputs (BlazeFace, MediaPipe) into boxes and keypoints."""

    #: The output holding, per anchor, the box (and keypoint) regressions.
    boxes: Required[str]
    #: The output holding one score (a logit when ``sigmoid``) per anchor.
    scores: Required[str]
    anchors: Required[SsdAnchors]
    #: ``"xy"``: ``[x, y, w, h, ...]`` per anchor; ``"yx"``: ``[y, x, h, w, ...]``.
    coordinate_order: Required[CoordinateOrder]
    #: Non-zero divisors of the raw x, y, w, h values (the input size for BlazeFace).
    box_scale: Required[list[float]]
    #: Minimum score (after the sigmoid) of a detection.
    threshold: Required[float]
    nms: Required[Nms]
    #: Keypoints per anchor; default 0.
    keypoints: int
    #: Index of the first keypoint value within an anchor's values; default 4.
    keypoint_offset: int
    #: Apply the logistic function to the scores; default False.
    sigmoid: bool
    #: Raw scores are clamped to plus or minus this before the sigmoid.
    score_clip: float


class Postprocess(TypedDict, total=False):
    """What to derive from the raw outputs in the browser, before they are returned."""

    #: The output to score; the model's first output when omitted.
    output: str
    #: Softmax over the last axis before ranking (for models that emit logits).
    softmax: bool
    #: How many best classes to return per sample (``result["top_k"]``).
    top_k: int
    #: Class names by index; an index past the end is returned without a label.
    labels: list[str]
    #: A pipeline over the scored output, each step's result in ``result["postprocessed"]``.
    steps: list[Step]
    #: Decode detector outputs into ``result["detections"]``: boxes and keypoints in pixels
    #: of the picked image, mapped back through any ``resize`` (stretch, crop or letterbox).
    detection: DetectionConfig


# --- Security ------------------------------------------------------------------------------


class Limits(TypedDict, total=False):
    """Upper bounds the browser engine enforces; each a positive integer."""

    #: The size of the model file.
    max_model_bytes: int
    #: The size of the picked file.
    max_input_bytes: int
    #: Width times height of a picked image, read from its header before decoding.
    max_image_pixels: int
    #: The number of values of any input tensor.
    max_tensor_elements: int


#: A result field computed from raw outputs: post-processing steps or decoded detections.
DerivedField = Literal["postprocessed", "detections"]


#: The DICOM header attributes a disclosure policy may let leave: acquisition and geometry
#: facts that identify no one (``ssc schema``'s ``DicomAttribute``). Names, IDs, dates, UIDs,
#: institution and the rest of what the PS3.15 Basic Profile removes are not among them.
DicomAttribute = Literal[
    "Modality", "BodyPartExamined", "ImageType", "PhotometricInterpretation", "Rows", "Columns",
    "NumberOfFrames", "SamplesPerPixel", "BitsStored", "PixelSpacing", "ImagerPixelSpacing", "SliceThickness",
    "SpacingBetweenSlices", "RescaleSlope", "RescaleIntercept", "RescaleType", "WindowCenter", "WindowWidth",
    "KVP", "ViewPosition", "PatientPosition", "Laterality", "ImageLaterality",
]


class Disclosure(TypedDict, total=False):
    """What of a result may leave the browser; the engine enforces it in its Worker."""

    #: The raw outputs that may leave (default: none of a picked file's, every one of numbers
    #: the app supplied). A policy changes only what it names: the rest stays the default.
    outputs: list[str]
    #: Only the ranked classes leave, no raw tensor (needs ``postprocess.top_k``).
    top_k_only: bool
    #: Derived results that may leave although their source outputs stay in the browser,
    #: e.g. ``["detections"]`` with ``outputs: []``: the boxes leave, the raw anchor tensors do not
    #: (default, for a picked file: those the request's postprocess computes).
    derived: list[DerivedField]
    #: Round every output value and score to this many decimals (0 to 15).
    decimals: int
    #: No raw output, derived result or ranking with more values than this leaves.
    max_output_elements: int
    #: How many rows a ranking or a step may cover (default: the input's own, one per picture or
    #: CSV row).
    max_rows: int
    #: An upper bound on the bits a result may carry about the input (docs/disclosure.md).
    max_bits: int
    #: What a field over a limit does: withheld (default) or the whole run fails.
    on_violation: Literal["withhold", "error"]
    #: Header attributes of a picked DICOM file that may leave (``result["dicom_attributes"]``),
    #: from an allow-list of facts that identify no one; none by default.
    dicom_attributes: list[DicomAttribute]


class SecurityConfig(TypedDict, total=False):
    """The ``security_config`` argument."""

    limits: Limits
    #: A page without cross-origin isolation returns the error ``not_isolated``.
    require_isolation: bool
    disclosure: Disclosure


# --- Inference parameters: where the input comes from ------------------------------------

class ArrayLike(Protocol):
    """Anything with numpy's ``tolist()``: numpy arrays and scalars, without importing numpy."""

    def tolist(self) -> Any: ...


#: A number, a numpy array, or (nested) sequences of numbers.
Numbers = Union[float, ArrayLike, Sequence["Numbers"]]


class TensorParams(TypedDict, total=False):
    """A tensor Python supplies (not PHI); it runs without any user action."""

    #: The values; nested lists give the shape.
    input: Required[Numbers]
    #: Default: the nesting of ``input``.
    shape: list[int]
    #: The model input to feed; the first when omitted.
    inputName: str
    postprocess: Postprocess


class InputsParams(TypedDict, total=False):
    """One tensor per named input, for models with several inputs."""

    #: Input name to its values.
    inputs: Required[dict[str, Numbers]]
    postprocess: Postprocess


class FileParams(TypedDict, total=False):
    """A file (``"file"``) or a batch of files (``"files"``) the person picks in the sandbox."""

    #: One file, or a batch of files each run through the same request, in order.
    source: Required[Literal["file", "files"]]
    #: How the file's bytes become the model's input.
    preprocess: Required[Preprocess]
    #: MIME types or extensions the picker offers; default per preprocess kind.
    accept: list[str]
    postprocess: Postprocess
    #: The model input to feed; the first when omitted.
    inputName: str
    #: For ``"files"`` only: how many files one batch may hold (default 100).
    max_files: int


InferenceParams = Union[TensorParams, InputsParams, FileParams]

# --- Results ---------------------------------------------------------------------------------


class OutputTensor(TypedDict):
    """One raw model output."""

    shape: list[int]
    #: ONNX spelling, e.g. ``"float32"``.
    dtype: Dtype
    #: Row-major values.
    data: list[float]


class Timings(TypedDict):
    """Milliseconds per stage of a run."""

    preprocess: float
    #: Building the optimized plan for this input shape: nonzero only on its first run.
    plan: float
    inference: float
    postprocess: float


class TopKEntry(TypedDict):
    """One ranked class of one sample (``row`` is the sample's index in the batch)."""

    row: int
    #: The class index along the output's last axis.
    index: int
    #: ``labels[index]``, or None past the end of ``labels``.
    label: str | None
    score: float


class Detection(TypedDict):
    """A detected object in the pixel coordinates of the picked image."""

    score: float
    #: ``[xmin, ymin, xmax, ymax]``.
    box: list[float]
    #: ``[x, y]`` per keypoint.
    keypoints: list[list[float]]


class SoftmaxResult(TypedDict):
    """The values after a softmax step."""

    op: Literal["softmax"]
    values: OutputTensor


class SigmoidResult(TypedDict):
    """The values after a sigmoid step."""

    op: Literal["sigmoid"]
    values: OutputTensor


class ArgmaxResult(TypedDict):
    """The best class of each row."""

    op: Literal["argmax"]
    classes: list[TopKEntry]


class TopKResult(TypedDict):
    """The ``k`` best classes of each row, best first."""

    op: Literal["top_k"]
    classes: list[TopKEntry]


class ThresholdResult(TypedDict):
    """Every class of each row scoring at least ``value``."""

    op: Literal["threshold"]
    value: float
    classes: list[TopKEntry]


StepResult = Union[SoftmaxResult, SigmoidResult, ArgmaxResult, TopKResult, ThresholdResult]


class SentField(TypedDict):
    """One field of the result as it left the browser, with its size."""

    field: Literal["outputs", "top_k", "postprocessed", "detections", "dicom_attributes", "timings_ms"]
    #: The output's name, for ``"outputs"``.
    name: str | None
    #: Values for an output; entries for ``top_k``, ``postprocessed`` and ``detections``; stages
    #: for ``timings_ms``.
    elements: int
    #: The bytes of the field's JSON encoding.
    bytes: int


class Withheld(TypedDict):
    """An output the disclosure policy kept in the browser: its name and size, never its values."""

    output: str
    #: The number of values it holds, where the model fixes it for the input's shape; ``None``
    #: where the input's values decide it (a detector's boxes), since that count is withheld too.
    elements: int | None
    reason: Literal["not_listed", "top_k_only", "too_large", "too_many_rows", "over_budget"]


class Receipt(TypedDict):
    """What left the browser with one result."""

    #: The sha256 of the model bytes the engine ran.
    model_sha256: str
    #: The person's file (which stayed in the browser), numbers the app supplied, or several inputs.
    input_kind: Literal["file", "tensor", "multiple"]
    #: HMAC-SHA256 of the input under a key that exists only in the browser's engine Worker.
    input_hmac_sha256: str
    sent: list[SentField]
    withheld: list[Withheld]
    #: An upper bound on the information the sent fields carry about the input, in bits.
    bits: int


# The result types are final: nothing extends them, so a type checker may tell them apart by
# their keys (``"batch" in result``) as well as by ``status``.


#: Every code an error can carry: the engine's, then those the component's frames raise
#: (``ssc schema``'s ``ErrorCode`` and ``ComponentErrorCode``; ``docs/troubleshooting.md``
#: explains each).
ErrorCode = Literal[
    "model_too_large", "input_too_large", "unsupported_format", "sha256_mismatch", "model_invalid",
    "model_unsupported", "unsupported_ops", "invalid_request", "unknown_input", "shape_mismatch",
    "data_length", "tensor_too_large", "unsupported_dtype", "dtype_mismatch", "value_out_of_range",
    "image_decode", "image_too_large", "csv", "dicom", "dicom_unsupported_syntax", "non_finite_output", "preprocess",
    "postprocess", "inference",
    "disclosure_violation", "disclosure_empty", "disclosure_rows", "disclosure_unroundable",
    "disclosure_over_budget", "randomness", "fetch_failed", "engine_invalid", "not_embedded", "not_isolated",
    "not_ready", "result_too_large", "timeout", "too_many_files", "version_mismatch", "worker_failed",
    "internal",
]


class ErrorInfo(TypedDict):
    """Why a run failed: a stable ``code`` to branch on and a message to show."""

    code: ErrorCode
    message: str


@final
class OkResult(TypedDict):
    """A successful run on one input."""

    status: Literal["ok"]
    #: The sha256 of the model that ran.
    model_sha256: str
    #: The raw outputs by name (those the disclosure policy lets leave).
    outputs: dict[str, OutputTensor]
    #: When ``postprocess.top_k`` is set.
    top_k: NotRequired[list[TopKEntry]]
    #: When ``postprocess.steps`` is set, one entry per step.
    postprocessed: NotRequired[list[StepResult]]
    #: When ``postprocess.detection`` is set.
    detections: NotRequired[list[Detection]]
    #: When ``disclosure.dicom_attributes`` is set: each attribute's value, None where the file
    #: has none.
    dicom_attributes: NotRequired[dict[str, Union[str, None]]]
    timings_ms: Timings
    #: Whether the engine's Worker ran cross-origin isolated.
    cross_origin_isolated: bool
    receipt: Receipt


@final
class ErrorResult(TypedDict):
    """A failed run (or a failed file of a batch)."""

    status: Literal["error"]
    error: ErrorInfo


@final
class BatchResult(TypedDict):
    """A batch (``source: "files"``): one item per file, in the order they were picked."""

    status: Literal["ok"]
    #: One complete result per file: one bad file never fails the batch.
    batch: list[OkResult | ErrorResult]


Result = Union[OkResult, ErrorResult, BatchResult]

__all__ = [
    "ArgmaxResult", "ArgmaxStep", "ArrayLike", "BatchResult", "Color", "CoordinateOrder", "CsvPreprocess", "DerivedField", "Detection",
    "DetectionConfig", "DicomAttribute", "DicomPreprocess", "Disclosure", "Dtype", "ErrorCode", "ErrorInfo", "ErrorResult", "FileParams", "ImagePreprocess", "InferenceParams",
    "InputsParams", "Layout", "Limits", "Nms", "NmsMethod", "Numbers", "OkResult", "OutputTensor", "Postprocess", "Preprocess",
    "Receipt", "Resize", "Result", "SecurityConfig", "SentField", "SigmoidResult", "SigmoidStep", "SoftmaxResult",
    "SoftmaxStep", "SsdAnchors", "Step", "StepResult", "TensorParams", "ThresholdResult", "ThresholdStep", "Timings",
    "TopKEntry", "TopKResult", "TopKStep", "Window", "Withheld",
]
