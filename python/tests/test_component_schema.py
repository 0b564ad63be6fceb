"""The component validates and copies results, and checks requests, by the engine's schema.

The component's real `protocol.ts` and `schema_check.ts` are bundled (esbuild) next to a
`schema.ts` generated (`gen_schema.mjs`) from the shipped schema, or from the schema with a
field and an NMS method added, as a Rust change and `ssc schema` would add them; then run in
Node on a result the engine itself computed.
"""

import copy
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from streamlit_secure_context._schema import SCHEMA

ROOT = Path(__file__).resolve().parents[2]
COMPONENT = ROOT / "component"
PROBE = """
import { cleanResult, isResult, parseHostToSandbox } from "./protocol";
const { result, request } = JSON.parse(process.argv[2]);
const configure = { v: 1, type: "configure", runId: 1, modelSha256: "0".repeat(64), request, limits: null,
                    accept: [], timeoutMs: 0, batch: null };
console.log(JSON.stringify({
  result: isResult(result), clean: isResult(result) ? cleanResult(result) : null,
  request: parseHostToSandbox(configure) !== null,
}));
"""
DETECTION = {
    "boxes": "b", "scores": "s", "coordinate_order": "xy", "box_scale": [1, 1, 1, 1], "threshold": 0.5,
    "nms": {"method": "soft", "iou_threshold": 0.3},
    "anchors": {"input_size": [8, 8], "num_layers": 1, "min_scale": 0.1, "max_scale": 0.5, "strides": [8], "aspect_ratios": [1.0]},
}


def component_with(schema: dict, tmp_path: Path) -> Path:
    """The component's validation code, built against `schema`, as one Node script."""
    src = tmp_path / "src"
    (src / "generated").mkdir(parents=True)
    for name in ("protocol.ts", "schema_check.ts"):
        shutil.copy(COMPONENT / "src" / name, src / name)
    (src / "probe.ts").write_text(PROBE)
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    subprocess.run(["node", str(COMPONENT / "gen_schema.mjs"), str(tmp_path / "schema.json"), str(src / "generated" / "schema.ts")],
                   check=True)
    out = tmp_path / "probe.js"
    subprocess.run([str(COMPONENT / "node_modules" / ".bin" / "esbuild"), str(src / "probe.ts"), "--bundle", "--platform=node",
                    f"--outfile={out}", "--log-level=warning"], check=True)
    return out


def verdict(probe: Path, result: dict, request: dict) -> dict:
    run = subprocess.run(["node", str(probe), json.dumps({"result": result, "request": request})],
                         capture_output=True, text=True, check=True)
    return json.loads(run.stdout)


@pytest.fixture(scope="module")
def engine_result(cli: str) -> dict:
    request = {"input": {"kind": "tensor", "shape": [1, 64], "data": [0.0] * 64},
               "postprocess": {"output": "probabilities", "top_k": 2, "labels": [str(d) for d in range(10)]}}
    run = subprocess.run([cli, "run", str(ROOT / "examples" / "models" / "digits_mlp.onnx"), "--config", json.dumps(request)],
                         capture_output=True, text=True, check=True)
    return {**json.loads(run.stdout), "cross_origin_isolated": False}


def test_a_field_and_a_method_added_on_the_rust_side_are_validated_and_kept_by_regenerating(engine_result, tmp_path):
    with_field = copy.deepcopy(engine_result)
    for entry in with_field["top_k"]:
        entry["calibrated"] = True
    soft_nms = {"input": {"kind": "tensor", "shape": [1], "data": [0.0]}, "postprocess": {"detection": DETECTION}}

    today = component_with(SCHEMA, tmp_path / "today")
    assert verdict(today, engine_result, {"input": {"kind": "tensor", "shape": [1], "data": [0.0]}}) == {
        "result": True, "clean": engine_result, "request": True}
    # A field the schema does not declare is data riding out; a method it does not name is refused.
    assert verdict(today, with_field, soft_nms)["result"] is False
    assert verdict(today, with_field, soft_nms)["request"] is False

    # The same change as a new `TopK` field and `NmsMethod` variant in Rust, then `ssc schema`.
    schema = copy.deepcopy(SCHEMA)
    schema["$defs"]["TopK"]["properties"]["calibrated"] = {"type": "boolean"}
    schema["$defs"]["TopK"]["required"].append("calibrated")
    schema["$defs"]["NmsMethod"]["oneOf"].append({"const": "soft", "type": "string"})
    regenerated = component_with(schema, tmp_path / "regenerated")
    assert verdict(regenerated, with_field, soft_nms) == {"result": True, "clean": with_field, "request": True}
    # And the result without the now-required field is refused.
    assert verdict(regenerated, engine_result, soft_nms)["result"] is False


def test_the_result_validator_still_refuses_what_it_must(engine_result, tmp_path):
    probe = component_with(SCHEMA, tmp_path)
    request = {"input": {"kind": "tensor", "shape": [1], "data": [0.0]}}
    forged = [
        {**engine_result, "timings_ms": {**engine_result["timings_ms"], "PHI 1234": 1.0}},
        {**engine_result, "outputs": {"x" * 300: {"shape": [1], "dtype": "float32", "data": [1.0]}}},
        {**engine_result, "outputs": {"y": {"shape": [2], "dtype": "float32", "data": [1.0]}}},
        {**engine_result, "outputs": {"y": {"shape": [1], "dtype": "complex64", "data": [1.0]}}},
        {**engine_result, "top_k": [{**engine_result["top_k"][0], "label": "x" * 300}]},
        {**engine_result, "model_sha256": "not a sha"},
        {**engine_result, "receipt": {**engine_result["receipt"], "bits": -1}},
        {**engine_result, "status": "fine"},
    ]
    for result in forged:
        assert verdict(probe, result, request)["result"] is False, result
