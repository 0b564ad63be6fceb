"""Fetch, generate and golden-test the TFLite model set, reproducibly.

- Real models: copied out of the `mediapipe` wheel (Apache-2.0) fetched from PyPI with pip.
- Generated models: one small CNN with seeded weights, converted by TensorFlow to float32,
  fp16-weight and full-integer int8 TFLite files.
- Goldens: outputs of the LiteRT interpreter (`ai-edge-litert`) on real images, and the
  BlazeFace detections decoded from LiteRT's raw outputs with the same SSD anchors,
  sigmoid, threshold and weighted NMS the engine implements.

The test image is scikit-image's `astronaut()` (public domain, NASA), shipped in its wheel.

Usage (in a venv with python/requirements-dev.txt and python/requirements-tflite-gen.txt):
    python scripts/gen_tflite_models.py
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "crates" / "engine" / "tests"
MODELS = TESTS / "models" / "tflite"
DATA = TESTS / "data"
GOLDEN = TESTS / "golden"
MEDIAPIPE = "mediapipe==0.10.21"  # the last wheels that ship the .tflite files in the package
MEDIAPIPE_FILES = {
    "face_detection_short_range.tflite": "mediapipe/modules/face_detection/face_detection_short_range.tflite",
    "face_detection_full_range_sparse.tflite": "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
    "face_landmark.tflite": "mediapipe/modules/face_landmark/face_landmark.tflite",
    "hand_recrop.tflite": "mediapipe/modules/holistic_landmark/hand_recrop.tflite",
    "selfie_segmentation.tflite": "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
}
# Images in [-1, 1], as MediaPipe's models and the generated CNN expect.
SIGNED_UNIT = {"kind": "image", "layout": "nhwc", "scale": 1 / 127.5, "mean": [1.0, 1.0, 1.0], "std": [1.0, 1.0, 1.0]}

# MediaPipe's face_detection_short_range graph: SsdAnchorsCalculator and
# TensorsToDetectionsCalculator options, then NonMaxSuppressionCalculator (weighted, IoU 0.3).
BLAZEFACE = {
    "boxes": "regressors",
    "scores": "classificators",
    "anchors": {
        "input_size": [128, 128],
        "num_layers": 4,
        "min_scale": 0.1484375,
        "max_scale": 0.75,
        "strides": [8, 16, 16, 16],
        "aspect_ratios": [1.0],
        "offset": [0.5, 0.5],
        "interpolated_scale_aspect_ratio": 1.0,
        "fixed_anchor_size": True,
    },
    "coordinate_order": "xy",
    "box_scale": [128.0, 128.0, 128.0, 128.0],
    "keypoints": 6,
    "keypoint_offset": 4,
    "sigmoid": True,
    "score_clip": 100.0,
    "threshold": 0.5,
    "nms": {"method": "weighted", "iou_threshold": 0.3, "max_detections": 100},
}


def fetch_mediapipe_models() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, MEDIAPIPE], check=True)
        (wheel,) = Path(tmp).glob("mediapipe-*.whl")
        with zipfile.ZipFile(wheel) as zf:
            for name, member in MEDIAPIPE_FILES.items():
                (MODELS / name).write_bytes(zf.read(member))


def generate_cnn() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    keras = tf.keras
    keras.utils.set_random_seed(0)
    inp = keras.Input((32, 32, 3), batch_size=1, name="image")
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same")(inp)
    x = keras.layers.PReLU(shared_axes=[1, 2])(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    x = keras.layers.Conv2D(16, 1, activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(10)(x)
    model = keras.Model(inp, keras.layers.Softmax(name="probabilities")(x))

    def representative():
        rng = np.random.default_rng(1)
        for _ in range(64):
            yield [rng.uniform(-1, 1, (1, 32, 32, 3)).astype(np.float32)]

    variants = {
        "tiny_cnn_float32.tflite": {},
        "tiny_cnn_fp16.tflite": {"optimizations": [tf.lite.Optimize.DEFAULT], "types": [tf.float16]},
        "tiny_cnn_int8.tflite": {"optimizations": [tf.lite.Optimize.DEFAULT], "int8": True},
    }
    for name, v in variants.items():
        conv = tf.lite.TFLiteConverter.from_keras_model(model)
        if "optimizations" in v:
            conv.optimizations = v["optimizations"]
        if "types" in v:
            conv.target_spec.supported_types = v["types"]
        if v.get("int8"):
            conv.representative_dataset = representative
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        (MODELS / name).write_bytes(conv.convert())


def generate_ops_model() -> None:
    """The operators tract-tflite lacks and the engine rewrites, as TF's converter writes them."""
    import tensorflow as tf

    class Ops(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 4, 6], tf.float32, name="x")])
        def __call__(self, x):
            a, b = tf.split(x, 2, axis=2)  # SPLIT
            c, d, e = tf.split(x, [1, 2, 3], axis=2)  # SPLIT_V
            rows = tf.unstack(x, axis=1)  # UNPACK
            stacked = tf.stack([rows[0], rows[3]], axis=1)  # PACK
            tiled = tf.tile(a, [1, 1, 2])  # TILE
            gathered = tf.gather(x, [5, 0, 2], axis=2)  # GATHER
            best = tf.cast(tf.argmax(x, axis=2), tf.float32)  # ARG_MAX, CAST
            mixed = tf.concat([a * b, d, e * 2.0, tiled, gathered], axis=2)
            return {"mixed": mixed, "stacked": stacked, "best": best, "first": tf.nn.relu(c)}

    ops = Ops()
    conv = tf.lite.TFLiteConverter.from_concrete_functions([ops.__call__.get_concrete_function()], ops)
    (MODELS / "tiny_ops.tflite").write_bytes(conv.convert())

    # A clip to [-1, 1] after a convolution is fused into it as RELU_N1_TO_1.
    keras = tf.keras
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 3), batch_size=1, name="x")
    clipped = keras.layers.Lambda(lambda t: tf.clip_by_value(t, -1.0, 1.0))(keras.layers.Conv2D(4, 3, padding="same")(inp))
    model = keras.Model(inp, keras.layers.Add()([keras.layers.Conv2D(4, 3, padding="same", activation="tanh")(inp), clipped]))
    (MODELS / "tiny_activations.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())

    # TRANSPOSE_CONV: SAME and VALID padding, equal and unequal strides, with and without bias.
    keras.utils.set_random_seed(0)
    inp = keras.Input((5, 6, 3), batch_size=1, name="x")
    outputs = [
        keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same")(inp),
        keras.layers.Conv2DTranspose(2, 3, strides=2, padding="valid", activation="relu")(inp),
        keras.layers.Conv2DTranspose(2, (2, 3), strides=(1, 2), padding="same", use_bias=False)(inp),
    ]
    model = keras.Model(inp, outputs)
    (MODELS / "tiny_transpose_conv.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())


def write_tensor_golden(name: str, model: Path) -> None:
    it = Interpreter(model_path=str(model))
    shape = [int(d) for d in it.get_input_details()[0]["shape"]]
    # Rounded to float32 first, so the JSON holds exactly what both runtimes see.
    x = np.random.default_rng(7).uniform(-1, 1, shape).astype(np.float32)
    case = {"name": "seeded uniform tensor", "input": {"kind": "tensor", "shape": shape, "data": [float(v) for v in x.ravel()]}}
    case["expected"] = golden_outputs(run_litert(model, x))
    golden = {"model": rel(model), "reference": "ai-edge-litert Interpreter", "cases": [case]}
    (GOLDEN / name).write_text(json.dumps(golden, indent=1) + "\n")


def write_images() -> dict[str, Path]:
    from skimage.data import astronaut

    full = Image.fromarray(astronaut())
    # The head, square; the short-range face detector wants a face that fills the frame.
    face = full.crop((100, 0, 356, 256))
    images = {
        "astronaut_face_128.png": face.resize((128, 128), Image.BILINEAR),
        "astronaut_face_192.png": face.resize((192, 192), Image.BILINEAR),
        "astronaut_face_256.png": face,
        "astronaut_32.png": full.resize((32, 32), Image.BILINEAR),
    }
    for name, img in images.items():
        img.save(DATA / name, optimize=True)
    return {name: DATA / name for name in images}


def image_tensor(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """The tensor SIGNED_UNIT preprocessing yields for an image already at the model's size."""
    img = Image.open(path).convert("RGB")
    if size is not None and img.size != size:
        img = img.resize(size, Image.BILINEAR)
    pixels = np.asarray(img, dtype=np.float32)
    return (pixels * np.float32(1 / 127.5) - np.float32(1.0))[None]


def run_litert(model: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    it = Interpreter(model_path=str(model))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return {o["name"]: it.get_tensor(o["index"]) for o in it.get_output_details()}


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def golden_outputs(outputs: dict[str, np.ndarray]) -> dict:
    return {
        name: {"shape": list(v.shape), "data": [float(f"{x:.7g}") for x in v.astype(np.float64).ravel()]}
        for name, v in outputs.items()
    }


def write_golden(name: str, model: Path, image: Path) -> dict[str, np.ndarray]:
    outputs = run_litert(model, image_tensor(image))
    case = {"name": f"{image.name} through LiteRT", "file": rel(image), "preprocess": SIGNED_UNIT}
    case["expected"] = golden_outputs(outputs)
    golden = {"model": rel(model), "reference": "ai-edge-litert Interpreter", "cases": [case]}
    (GOLDEN / name).write_text(json.dumps(golden, indent=1) + "\n")
    return outputs


# --- BlazeFace decoding, as MediaPipe's calculators do it ------------------------------------


def ssd_anchors(o: dict) -> np.ndarray:
    def scale(i: int) -> float:
        n = o["num_layers"]
        return o["min_scale"] + (o["max_scale"] - o["min_scale"]) * i / (n - 1) if n > 1 else (o["min_scale"] + o["max_scale"]) / 2

    anchors = []
    width, height = o["input_size"]
    layer = 0
    while layer < o["num_layers"]:
        ratios, scales = [], []
        last = layer
        while last < o["num_layers"] and o["strides"][last] == o["strides"][layer]:
            for ar in o["aspect_ratios"]:
                ratios.append(ar)
                scales.append(scale(last))
            if o["interpolated_scale_aspect_ratio"] > 0:
                nxt = 1.0 if last == o["num_layers"] - 1 else scale(last + 1)
                scales.append(math.sqrt(scale(last) * nxt))
                ratios.append(o["interpolated_scale_aspect_ratio"])
            last += 1
        stride = o["strides"][layer]
        rows, cols = math.ceil(height / stride), math.ceil(width / stride)
        for y in range(rows):
            for x in range(cols):
                for s, r in zip(scales, ratios):
                    w, h = (1.0, 1.0) if o["fixed_anchor_size"] else (s * math.sqrt(r), s / math.sqrt(r))
                    anchors.append(((x + o["offset"][0]) / cols, (y + o["offset"][1]) / rows, w, h))
        layer = last
    return np.array(anchors, dtype=np.float64)


def decode(raw_boxes: np.ndarray, raw_scores: np.ndarray, cfg: dict) -> list[dict]:
    anchors = ssd_anchors(cfg["anchors"])
    boxes = raw_boxes.reshape(len(anchors), -1).astype(np.float64)
    scores = np.clip(raw_scores.reshape(len(anchors)).astype(np.float64), -cfg["score_clip"], cfg["score_clip"])
    scores = 1 / (1 + np.exp(-scores))
    sx, sy, sw, sh = cfg["box_scale"]
    out = []
    for i in np.flatnonzero(scores >= cfg["threshold"]):
        ax, ay, aw, ah = anchors[i]
        cx, cy, w, h = boxes[i, :4]
        cx, cy, w, h = cx / sx * aw + ax, cy / sy * ah + ay, w / sw * aw, h / sh * ah
        kps = []
        for k in range(cfg["keypoints"]):
            kx, ky = boxes[i, cfg["keypoint_offset"] + 2 * k : cfg["keypoint_offset"] + 2 * k + 2]
            kps.append([kx / sx * aw + ax, ky / sy * ah + ay])
        out.append({"score": float(scores[i]), "box": [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], "keypoints": kps})
    return out


def iou(a: list[float], b: list[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def weighted_nms(dets: list[dict], threshold: float, max_detections: int) -> list[dict]:
    remaining = sorted(dets, key=lambda d: -d["score"])
    kept = []
    while remaining and len(kept) < max_detections:
        top = remaining[0]
        overlapping = [d for d in remaining if iou(d["box"], top["box"]) > threshold]
        rest = [d for d in remaining if iou(d["box"], top["box"]) <= threshold]
        total = sum(d["score"] for d in overlapping)
        box = [sum(d["box"][j] * d["score"] for d in overlapping) / total for j in range(4)]
        kps = [
            [sum(d["keypoints"][k][j] * d["score"] for d in overlapping) / total for j in range(2)]
            for k in range(len(top["keypoints"]))
        ]
        kept.append({"score": top["score"], "box": box, "keypoints": kps})
        remaining = rest
    return kept


def to_pixels(dets: list[dict], width: int, height: int) -> list[dict]:
    return [
        {
            "score": d["score"],
            "box": [d["box"][0] * width, d["box"][1] * height, d["box"][2] * width, d["box"][3] * height],
            "keypoints": [[x * width, y * height] for x, y in d["keypoints"]],
        }
        for d in dets
    ]


def write_blazeface_golden(model: Path, images: list[Path]) -> None:
    cases = []
    for image in images:
        width, height = Image.open(image).size
        raw = run_litert(model, image_tensor(image, (128, 128)))
        dets = decode(raw["regressors"], raw["classificators"], BLAZEFACE)
        nms = BLAZEFACE["nms"]
        dets = to_pixels(weighted_nms(dets, nms["iou_threshold"], nms["max_detections"]), width, height)
        print(f"{image.name}: {len(dets)} face(s)", [round(d["score"], 3) for d in dets])
        cases.append({"name": image.name, "file": rel(image), "detections": dets})
    golden = {
        "model": rel(model),
        "reference": "ai-edge-litert raw outputs, decoded by scripts/gen_tflite_models.py",
        "preprocess": SIGNED_UNIT,
        "detection": BLAZEFACE,
        "cases": cases,
    }
    (GOLDEN / "tflite_blazeface_detections.json").write_text(json.dumps(golden, indent=1) + "\n")


def main() -> None:
    for d in (MODELS, DATA, GOLDEN):
        d.mkdir(parents=True, exist_ok=True)
    fetch_mediapipe_models()
    generate_cnn()
    generate_ops_model()
    images = write_images()
    write_golden("tflite_face_detection_short_range.json", MODELS / "face_detection_short_range.tflite", images["astronaut_face_128.png"])
    write_golden(
        "tflite_face_detection_full_range_sparse.json",
        MODELS / "face_detection_full_range_sparse.tflite",
        images["astronaut_face_192.png"],
    )
    write_golden("tflite_face_landmark.json", MODELS / "face_landmark.tflite", images["astronaut_face_192.png"])
    write_golden("tflite_hand_recrop.json", MODELS / "hand_recrop.tflite", images["astronaut_face_256.png"])
    for variant in ("float32", "fp16", "int8"):
        write_golden(f"tflite_tiny_cnn_{variant}.json", MODELS / f"tiny_cnn_{variant}.tflite", images["astronaut_32.png"])
    write_tensor_golden("tflite_tiny_ops.json", MODELS / "tiny_ops.tflite")
    write_tensor_golden("tflite_tiny_activations.json", MODELS / "tiny_activations.tflite")
    write_tensor_golden("tflite_tiny_transpose_conv.json", MODELS / "tiny_transpose_conv.tflite")
    write_blazeface_golden(
        MODELS / "face_detection_short_range.tflite", [images["astronaut_face_128.png"], images["astronaut_face_256.png"]]
    )


if __name__ == "__main__":
    main()
