"""Generate the example app's digit classifier, its sample scans and the face-detection files.

Reproducible and idempotent: the classifier is trained with fixed seeds on scikit-learn's
bundled digits (nothing is downloaded), and the face detector and its sample photo are copied
from the engine's test files after their sha256 is checked. Running it twice writes the same
bytes; tests/e2e/test_examples.py regenerates into a temporary folder and compares.

The tabular risk-score model (breast_cancer_logreg.onnx) and the 8x8 digits model used by the
quick-start page come from scripts/gen_models.py, which also writes their engine goldens.

Usage:
  python scripts/gen_example_models.py              # writes into examples/
  python scripts/gen_example_models.py --out DIR    # writes DIR/models and DIR/data
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

import gen_dicom
from gen_models import mlp_nodes

ROOT = Path(__file__).resolve().parent.parent
SEED = 0
OPSET = 13

# A scan is dark ink on light paper at any size. The model sees it resized to 16x16 and each
# pixel normalized as (gray / 255 - MEAN) / STD, with MEAN and STD measured on the training set.
MODEL_SIZE = 16
SCAN_SIZE = 96
# The DICOM page's phantom slices, and its model's input, are CT_SIZE x CT_SIZE.
CT_SIZE = 64

# The engine's test files (written by scripts/gen_tflite_models.py from the mediapipe wheel and
# scikit-image's astronaut()), pinned so a changed source is noticed rather than copied.
FACE_FILES = {
    "models/face_detection_short_range.tflite": (
        "crates/engine/tests/models/tflite/face_detection_short_range.tflite",
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    ),
    "data/astronaut_face.png": (
        "crates/engine/tests/data/astronaut_face_256.png",
        "a666f4b992acb070914feeadb3b369a6139f6ae7cd798b34273a07885f0e0e29",
    ),
}
FACE_GOLDEN = "crates/engine/tests/golden/tflite_blazeface_detections.json"


class MispredictedSample(RuntimeError):
    """A generated sample scan is not classified as its digit."""


class SourceChanged(RuntimeError):
    """A pinned source file has other bytes than the ones this script was written for."""


def ink_to_scan(ink8: np.ndarray, size: int) -> Image.Image:
    """An 8x8 digit (ink 0..16) as a size x size grayscale image of dark ink on white paper."""
    paper = np.rint(255 - ink8.reshape(8, 8) * 255 / 16).astype(np.uint8)
    return Image.fromarray(paper, mode="L").resize((size, size), Image.BILINEAR)


def model_pixels(scan: Image.Image) -> np.ndarray:
    """What the model's preprocessing starts from: the scan resized to 16x16, gray / 255."""
    small = scan.resize((MODEL_SIZE, MODEL_SIZE), Image.BILINEAR)
    return np.asarray(small, dtype=np.float32).reshape(-1) / np.float32(255)


def digit_classifier(models: Path, data: Path) -> None:
    """Trains the 16x16 digit MLP; writes it, its preprocessing and one sample scan per digit."""
    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data, digits.target, test_size=0.25, random_state=SEED, stratify=digits.target
    )
    # Trained on scans as the browser sees them: drawn at SCAN_SIZE, then resized to 16x16.
    train = np.stack([model_pixels(ink_to_scan(row, SCAN_SIZE)) for row in x_train])
    test = np.stack([model_pixels(ink_to_scan(row, SCAN_SIZE)) for row in x_test])
    # float32 to float: the JSON holds exactly the numbers the engine will use.
    mean, std = float(np.float32(train.mean())), float(np.float32(train.std()))
    mlp = MLPClassifier(hidden_layer_sizes=(64,), max_iter=500, random_state=SEED)
    mlp.fit((train - mean) / std, y_train)
    accuracy = mlp.score((test - mean) / std, y_test)

    nodes, inits = mlp_nodes(mlp, "pixels")
    features = MODEL_SIZE * MODEL_SIZE
    graph = helper.make_graph(
        nodes, "digits16_mlp",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["N", features])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10]),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="gen_example_models.py")
    model.ir_version = 8
    model.doc_string = (f"MLP on scikit-learn digits drawn as {SCAN_SIZE}x{SCAN_SIZE} scans, resized to 16x16; "
                        f"input (gray/255 - {mean:.6f}) / {std:.6f}; test accuracy {accuracy:.3f}")
    onnx.checker.check_model(model)
    path = models / "digits16_mlp.onnx"
    path.write_bytes(model.SerializeToString())
    print(f"{path.name}: test accuracy {accuracy:.3f}, pixel mean {mean:.6f}, std {std:.6f}")

    # The first test-set scan of each digit, as a person would pick it: bigger than the model's input.
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for digit in range(10):
        row = int(np.flatnonzero(y_test == digit)[0])
        scan = ink_to_scan(x_test[row], SCAN_SIZE)
        scan_path = data / f"scan_{digit}.png"
        scan.save(scan_path)
        x = ((model_pixels(Image.open(scan_path)) - mean) / std).astype(np.float32)[None]
        predicted = int(np.argmax(session.run(["probabilities"], {"pixels": x})[0]))
        if predicted != digit:
            # A sample the model gets wrong would make the demo look broken: pick another seed or row.
            raise MispredictedSample(f"{scan_path.name} is predicted as {predicted} by onnxruntime")
    # The page reads its preprocessing from here, so it always matches the trained model.
    preprocess = {"kind": "image", "size": [MODEL_SIZE, MODEL_SIZE], "color": "grayscale", "layout": "flat",
                  "scale": 1 / 255, "mean": [mean], "std": [std]}
    (models / "digits16_mlp.preprocess.json").write_text(json.dumps(preprocess, indent=1) + "\n")


def face_detector(out: Path) -> None:
    """Copies the detector and its sample photo (sha256 checked) and writes its settings."""
    for target, (source, sha256) in FACE_FILES.items():
        found = hashlib.sha256((ROOT / source).read_bytes()).hexdigest()
        if found != sha256:
            raise SourceChanged(f"{source} has sha256 {found}, expected {sha256}: "
                                "update FACE_FILES only after checking the new file")
        shutil.copyfile(ROOT / source, out / target)
    # MediaPipe's preprocessing and SSD decoding for this detector, as the engine's golden uses them.
    golden = json.loads((ROOT / FACE_GOLDEN).read_text())
    config = {"preprocess": golden["preprocess"], "detection": golden["detection"]}
    (out / "models" / "face_detection_short_range.json").write_text(json.dumps(config, indent=1) + "\n")


def ct_triage(models: Path, data: Path) -> None:
    """A stand-in CT model and two phantom studies for the DICOM page.

    The model is not trained: it is the mean of a lung-windowed slice (the share of bright
    pixels), as a two-class softmax ("mostly air", "mostly tissue"), which is enough to show a
    study read in the browser. The studies are a disc of soft tissue (40 HU) in air (-1000 HU),
    small or large, with demo values in every identifying attribute of the header.
    """
    size, sharpness = CT_SIZE, 20.0
    nodes = [
        helper.make_node("GlobalAveragePool", ["slice"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["bright"]),
        helper.make_node("Gemm", ["bright", "w", "b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    inits = [helper.make_tensor("w", TensorProto.FLOAT, [1, 2], [-sharpness, sharpness]),
             helper.make_tensor("b", TensorProto.FLOAT, [2], [sharpness / 2, -sharpness / 2])]
    graph = helper.make_graph(nodes, "ct_air_tissue", [helper.make_tensor_value_info("slice", TensorProto.FLOAT, [1, 1, size, size])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, 2])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="gen_example_models.py")
    model.ir_version = 8
    model.doc_string = "Not trained: the mean of a lung-windowed slice, as P(mostly air), P(mostly tissue)"
    onnx.checker.check_model(model)
    (models / "ct_air_tissue.onnx").write_bytes(model.SerializeToString())
    y, x = np.mgrid[0:size, 0:size] - (size - 1) / 2
    for name, radius in (("ct_small_disc", 10), ("ct_large_disc", 30)):
        hu = np.where(x * x + y * y <= radius * radius, 40, -1000)
        ds = gen_dicom.study("ct", gen_dicom.ExplicitVRLittleEndian, "DEMO-0001", ct=hu + 1024)
        ds.PatientName = "Demo^Patient"
        gen_dicom.save(ds, data / f"{name}.dcm")


def generate(out: Path) -> None:
    models, data = out / "models", out / "data"
    models.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    digit_classifier(models, data)
    face_detector(out)
    ct_triage(models, data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "examples", help="folder for models/ and data/")
    generate(parser.parse_args().out)


if __name__ == "__main__":
    main()
