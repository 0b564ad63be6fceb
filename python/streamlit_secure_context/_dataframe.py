"""Results as pandas DataFrames, the form Streamlit apps show and store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def to_dataframe(result: Mapping[str, Any] | None, part: str | None = None, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """One part of a result as a pandas DataFrame, the form Streamlit apps show and store.

    Parameters
    ----------
    result : Result or None
        What `streamlit_secure_context` returned.
    part : str, optional
        What to tabulate: ``"top_k"`` (one row per ranked class: ``row``, ``index``,
        ``label``, ``score``), ``"detections"`` (one row per object: ``score``, ``xmin``,
        ``ymin``, ``xmax``, ``ymax``), or the name of a model output (one row per sample of
        a ``[N]`` or ``[N, C]`` output). By default ``top_k`` when the result has it, else
        ``detections``, else the model's only output.
    columns : sequence of str, optional
        Names of the C columns of an output; default ``"<output>[i]"``.

    Returns
    -------
    pandas.DataFrame
        For a batch result (`BatchResult`, ``"source": "files"``), one row per file in the
        order they were picked: ``file`` (its 1-based position), ``status``, then the
        file's best class (``label``, ``score``) when top-k was asked for, or, with
        ``part`` naming an output of one sample per file, that output's columns;
        ``error_code`` holds the error of a file that failed.

    Raises
    ------
    ValueError
        ``result`` is None or an error, or the output is not ``[N]`` or ``[N, C]``, or
        ``columns`` does not match its width.
    KeyError
        The result has no such ``part``; the message lists the parts it has.

    Examples
    --------
    >>> result = streamlit_secure_context(
    ...     "risk.onnx", inference_params={"source": "file", "preprocess": {"kind": "csv"}}, key="risk")
    >>> if result and result["status"] == "ok":
    ...     st.dataframe(to_dataframe(result, "probabilities", columns=["benign", "malignant"]))
    """
    import pandas as pd

    if result is None:
        raise ValueError("there is no result yet (None until the person has picked a file): check `if result:` first")
    if result.get("status") != "ok":
        error = result.get("error") or {}
        raise ValueError(f"the result is an error, not a table: [{error.get('code')}] {error.get('message')}")
    if "batch" in result:
        return _batch_frame(result["batch"], part, columns)
    outputs: Mapping[str, Any] = result.get("outputs", {})
    if part is None:
        part = "top_k" if "top_k" in result else "detections" if "detections" in result else _only_output(outputs)
    if part == "top_k" and "top_k" in result:
        return pd.DataFrame(result["top_k"], columns=["row", "index", "label", "score"])
    if part == "detections" and "detections" in result:
        rows = [{"score": d["score"], **dict(zip(("xmin", "ymin", "xmax", "ymax"), d["box"]))} for d in result["detections"]]
        return pd.DataFrame(rows, columns=["score", "xmin", "ymin", "xmax", "ymax"])
    if part not in outputs:
        available = [p for p in ("top_k", "detections") if p in result] + list(outputs)
        raise KeyError(f"the result has no {part!r}; it has: {', '.join(map(repr, available)) or 'nothing to tabulate'}")
    return _output_frame(part, outputs[part], columns)


def _only_output(outputs: Mapping[str, Any]) -> str:
    if len(outputs) != 1:
        raise ValueError(f"the result has {len(outputs)} outputs ({', '.join(map(repr, outputs))}): name one as `part`")
    return next(iter(outputs))


def _output_frame(name: str, tensor: Mapping[str, Any], columns: Sequence[str] | None) -> pd.DataFrame:
    import pandas as pd

    shape, data = list(tensor["shape"]), list(tensor["data"])
    if len(shape) == 1:
        shape = [shape[0], 1]
    if len(shape) != 2:
        raise ValueError(f"output {name!r} has shape {shape}: only [N] or [N, C] outputs become a table")
    rows, width = shape
    names = list(columns) if columns is not None else [name] if width == 1 else [f"{name}[{i}]" for i in range(width)]
    if len(names) != width:
        raise ValueError(f"columns has {len(names)} names, but output {name!r} has {width} columns")
    return pd.DataFrame([data[r * width:(r + 1) * width] for r in range(rows)], columns=names)


def _batch_frame(items: Sequence[Mapping[str, Any]], part: str | None, columns: Sequence[str] | None) -> pd.DataFrame:
    """One row per file: its position, status, and its top-1 class or one sample of an output."""
    import pandas as pd

    ok = [item for item in items if item.get("status") == "ok"]
    if part is None:
        part = "top_k" if any("top_k" in item for item in ok) else _only_output(ok[0]["outputs"]) if ok else "top_k"
    if part == "detections":
        raise ValueError("a batch has a list of detections per file: tabulate one file's with to_dataframe(result['batch'][i])")
    rows: list[pd.DataFrame] = []
    for position, item in enumerate(items, start=1):
        head = pd.DataFrame({"file": [position], "status": [item.get("status")]})
        if item.get("status") != "ok":
            rows.append(head.assign(error_code=(item.get("error") or {}).get("code")))
            continue
        if part == "top_k":
            best = next((t for t in item.get("top_k", []) if t["row"] == 0), None)
            if best is None:
                raise KeyError(f"file {position} of the batch has no top_k: ask for postprocess.top_k, or name an output as `part`")
            rows.append(head.assign(label=best["label"], score=best["score"]))
            continue
        if part not in item["outputs"]:
            raise KeyError(f"file {position} of the batch has no output {part!r}; it has: {', '.join(map(repr, item['outputs']))}")
        values = _output_frame(part, item["outputs"][part], columns)
        if len(values) != 1:
            raise ValueError(f"output {part!r} has {len(values)} rows for file {position}: a batch table takes one row per file")
        rows.append(pd.concat([head, values], axis=1))
    frame = pd.concat(rows, ignore_index=True)
    value_columns = [c for c in frame.columns if c not in ("file", "status", "error_code")]
    return frame.reindex(columns=["file", "status", *value_columns, "error_code"])
