import pytest

from streamlit_secure_context import to_dataframe

OK = {"status": "ok", "model_sha256": "0" * 64, "timings_ms": {}}


def test_top_k_is_one_row_per_ranked_class():
    result = {**OK, "outputs": {}, "top_k": [{"row": 0, "index": 3, "label": "digit 3", "score": 0.9},
                                            {"row": 1, "index": 7, "label": None, "score": 0.6}]}
    frame = to_dataframe(result)
    assert list(frame.columns) == ["row", "index", "label", "score"]
    assert frame["label"][0] == "digit 3" and frame["label"].isna().tolist() == [False, True]  # no label: missing
    assert frame["score"].tolist() == [0.9, 0.6]


def test_an_output_is_one_row_per_sample():
    result = {**OK, "outputs": {"probabilities": {"shape": [3, 2], "dtype": "float32", "data": [0.1, 0.9, 0.8, 0.2, 0.5, 0.5]}}}
    frame = to_dataframe(result, columns=["benign", "malignant"])
    assert frame.shape == (3, 2) and frame["malignant"].tolist() == [0.9, 0.2, 0.5]
    assert list(to_dataframe(result).columns) == ["probabilities[0]", "probabilities[1]"]
    with pytest.raises(ValueError, match="columns has 1 names, but output 'probabilities' has 2 columns"):
        to_dataframe(result, columns=["only"])


def test_detections_become_boxes():
    result = {**OK, "outputs": {}, "detections": [{"score": 0.97, "box": [1.0, 2.0, 30.0, 40.0], "keypoints": [[3.0, 4.0]]}]}
    frame = to_dataframe(result)
    assert frame.to_dict("records") == [{"score": 0.97, "xmin": 1.0, "ymin": 2.0, "xmax": 30.0, "ymax": 40.0}]


def test_what_cannot_be_a_table_says_why():
    with pytest.raises(ValueError, match="no result yet"):
        to_dataframe(None)
    with pytest.raises(ValueError, match=r"\[csv\] CSV row 2"):
        to_dataframe({"status": "error", "error": {"code": "csv", "message": "CSV row 2, column 3: the cell is not a number"}})
    two = {**OK, "outputs": {"a": {"shape": [1], "dtype": "float32", "data": [1.0]}, "b": {"shape": [1], "dtype": "float32", "data": [2.0]}}}
    with pytest.raises(ValueError, match="has 2 outputs"):
        to_dataframe(two)
    assert to_dataframe(two, "b")["b"].tolist() == [2.0]
    with pytest.raises(KeyError, match="no 'top_k'; it has: 'a', 'b'"):
        to_dataframe(two, "top_k")
    cube = {**OK, "outputs": {"x": {"shape": [1, 2, 2], "dtype": "float32", "data": [0.0] * 4}}}
    with pytest.raises(ValueError, match=r"only \[N\] or \[N, C\]"):
        to_dataframe(cube)
