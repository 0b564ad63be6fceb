"""to_dataframe on a batch result: one row per file, in picking order, errors kept."""

import pytest

from streamlit_secure_context import to_dataframe


def ok(label, score, index=0):
    return {"status": "ok", "model_sha256": "0" * 64, "timings_ms": {}, "outputs": {},
            "top_k": [{"row": 0, "index": index, "label": label, "score": score},
                      {"row": 0, "index": index + 1, "label": "runner-up", "score": 0.01}]}


def failed(code):
    return {"status": "error", "error": {"code": code, "message": "cannot decode"}}


def probabilities(values):
    return {"status": "ok", "model_sha256": "0" * 64, "timings_ms": {},
            "outputs": {"probabilities": {"shape": [1, 2], "dtype": "float32", "data": values}}}


def test_top_1_per_file_with_the_failed_file_in_place():
    frame = to_dataframe({"status": "ok", "batch": [ok("digit 3", 0.9), failed("image_decode"), ok("digit 7", 0.8)]})
    assert list(frame.columns) == ["file", "status", "label", "score", "error_code"]
    assert frame["file"].tolist() == [1, 2, 3]
    assert frame["status"].tolist() == ["ok", "error", "ok"]
    assert frame["label"].tolist()[::2] == ["digit 3", "digit 7"] and frame["score"].tolist()[::2] == [0.9, 0.8]
    assert frame["error_code"].tolist()[1] == "image_decode" and frame["error_code"].isna().tolist() == [True, False, True]


def test_a_failed_first_file_does_not_change_the_columns():
    frame = to_dataframe({"status": "ok", "batch": [failed("csv"), ok("a", 0.5)]})
    assert list(frame.columns) == ["file", "status", "label", "score", "error_code"]


def test_an_output_with_one_sample_per_file_becomes_its_columns():
    frame = to_dataframe({"status": "ok", "batch": [probabilities([0.1, 0.9]), probabilities([0.7, 0.3])]},
                         columns=["benign", "malignant"])
    assert list(frame.columns) == ["file", "status", "benign", "malignant", "error_code"]
    assert frame["malignant"].tolist() == pytest.approx([0.9, 0.3])


def test_several_samples_per_file_or_detections_are_refused_with_a_way_out():
    two_rows = probabilities([0.1, 0.9, 0.2, 0.8])
    two_rows["outputs"]["probabilities"]["shape"] = [2, 2]
    with pytest.raises(ValueError, match="one row per file"):
        to_dataframe({"status": "ok", "batch": [two_rows]})
    with pytest.raises(ValueError, match=r"to_dataframe\(result\['batch'\]\[i\]\)"):
        to_dataframe({"status": "ok", "batch": [ok("a", 0.5)]}, "detections")


def test_a_missing_part_names_the_file():
    with pytest.raises(KeyError, match="file 1 of the batch has no output 'logits'"):
        to_dataframe({"status": "ok", "batch": [probabilities([0.1, 0.9])]}, "logits")
