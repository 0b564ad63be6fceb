"""(e) onnxruntime native, one thread: times one model and prints JSON. Run by bench/run.py in
its own process, so that the process's peak RSS is this model's alone.

    python bench/ort_native.py MODELS_DIR NAME WARMUP RUNS
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort


def main() -> None:
    models, name, warmup, runs = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    entry = next(e for e in json.loads((models / "models.json").read_text()) if e["name"] == name)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    start = time.perf_counter()
    session = ort.InferenceSession(str(models / entry["model"]), options, providers=["CPUExecutionProvider"])
    create_ms = (time.perf_counter() - start) * 1000
    feeds = {entry["input"]: np.fromfile(models / entry["input_bin"], dtype=entry["dtype"]).reshape(entry["shape"])}
    for _ in range(warmup):
        session.run(None, feeds)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feeds)
        times.append((time.perf_counter() - start) * 1000)
    print(json.dumps({"create_ms": create_ms, "wall_ms": times}))


if __name__ == "__main__":
    main()
