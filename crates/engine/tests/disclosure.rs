//! The disclosure policy and the receipt on a real model, through the same `Session::run`
//! the browser's Worker calls.

mod onnx_proto;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use ssc_engine::{InstantClock, Limits, RunRequest, Session};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn digits() -> Session {
    let bytes = std::fs::read(repo().join("examples/models/digits_mlp.onnx")).unwrap();
    Session::load(&bytes, None, Limits::default(), &InstantClock::new()).unwrap()
}

fn digit_3() -> Vec<u8> {
    std::fs::read(repo().join("examples/data/digit_3.png")).unwrap()
}

/// A file request on the digits model: an 8x8 grayscale image, ranked by its probabilities.
fn image_request(disclosure: Value) -> RunRequest {
    serde_json::from_value(json!({
        "input": {"kind": "file", "preprocess": {"kind": "image", "size": [8, 8], "color": "grayscale",
                                                 "layout": "flat", "scale": 16.0 / 255.0}},
        "postprocess": {"output": "probabilities", "top_k": 3},
        "disclosure": disclosure,
    }))
    .unwrap()
}

fn run(session: &Session, request: &RunRequest) -> Result<Value, (&'static str, String)> {
    session
        .run(request, Some(&digit_3()), &InstantClock::new())
        .map(|r| serde_json::to_value(r).unwrap())
        .map_err(|e| (e.code(), e.to_string()))
}

#[test]
fn without_a_policy_a_files_result_is_the_minimum_necessary() {
    // Only what the request's post-processing asks for leaves: the ranking, not the tensors.
    let result = run(&digits(), &image_request(Value::Null)).unwrap();
    assert_eq!(result["outputs"], json!({}));
    assert_eq!(result["top_k"].as_array().unwrap().len(), 3);
    let receipt = &result["receipt"];
    assert_eq!(receipt["input_kind"], "file");
    assert_eq!(
        receipt["withheld"],
        json!([{"output": "logits", "elements": 10, "reason": "not_listed"},
               {"output": "probabilities", "elements": 10, "reason": "not_listed"}])
    );
    // A file request that asks for nothing derived, with no policy, could send nothing: refused
    // before it runs, saying what to name.
    let bare: RunRequest = serde_json::from_value(json!({
        "input": {"kind": "file", "preprocess": {"kind": "image", "size": [8, 8], "color": "grayscale", "layout": "flat"}}
    }))
    .unwrap();
    let (code, message) = run(&digits(), &bare).unwrap_err();
    assert_eq!(code, "invalid_request");
    assert!(message.contains("disclosure.outputs"), "{message}");
}

#[test]
fn named_outputs_leave_and_the_receipt_lists_exactly_what_left() {
    let result = run(&digits(), &image_request(json!({"outputs": ["logits", "probabilities"]}))).unwrap();
    let outputs = result["outputs"].as_object().unwrap();
    assert_eq!(outputs.keys().collect::<Vec<_>>(), ["logits", "probabilities"]);
    let receipt = &result["receipt"];
    assert_eq!(receipt["model_sha256"], result["model_sha256"]);
    let sent: Vec<(&str, Value, u64)> = receipt["sent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap(), f["name"].clone(), f["elements"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        sent,
        [
            ("outputs", json!("logits"), 10),
            ("outputs", json!("probabilities"), 10),
            ("top_k", Value::Null, 3),
            ("timings_ms", Value::Null, 4)
        ]
    );
    // The byte count is the size of exactly what left.
    let logits_bytes = serde_json::to_string(&result["outputs"]["logits"]).unwrap().len() as u64;
    assert_eq!(receipt["sent"][0]["bytes"].as_u64().unwrap(), logits_bytes);
    assert_eq!(receipt["withheld"], json!([]));
}

#[test]
fn without_a_policy_numbers_the_app_supplied_get_every_output_back() {
    let request: RunRequest =
        serde_json::from_value(json!({"input": {"kind": "tensor", "shape": [1, 64], "data": vec![0.5; 64]}})).unwrap();
    let result = serde_json::to_value(digits().run(&request, None, &InstantClock::new()).unwrap()).unwrap();
    assert_eq!(result["outputs"].as_object().unwrap().len(), 2);
}

#[test]
fn top_k_only_sends_rounded_scores_and_no_tensor() {
    let result = run(&digits(), &image_request(json!({"top_k_only": true, "decimals": 2}))).unwrap();
    assert_eq!(result["outputs"], json!({}));
    let top = result["top_k"].as_array().unwrap();
    assert_eq!(top[0]["index"], 3);
    for t in top {
        let score = t["score"].as_f64().unwrap();
        assert_eq!(score, (score * 100.0).round() / 100.0, "{score} has more than 2 decimals");
    }
    let withheld = &result["receipt"]["withheld"];
    assert_eq!(
        *withheld,
        json!([{"output": "logits", "elements": 10, "reason": "top_k_only"},
               {"output": "probabilities", "elements": 10, "reason": "top_k_only"}])
    );
    let fields: Vec<&str> =
        result["receipt"]["sent"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["top_k", "timings_ms"]);
}

#[test]
fn an_oversized_output_is_withheld_or_fails_the_run_as_the_policy_says() {
    let session = digits();
    let withhold = json!({"outputs": ["probabilities"], "max_output_elements": 5});
    let result = run(&session, &image_request(withhold)).unwrap();
    assert_eq!(result["outputs"], json!({}), "probabilities has 10 elements, over 5");
    assert_eq!(
        result["receipt"]["withheld"][1],
        json!({"output": "probabilities", "elements": 10, "reason": "too_large"})
    );
    assert_eq!(result["top_k"].as_array().unwrap().len(), 3, "the ranking still leaves");

    let error = json!({"max_output_elements": 5, "on_violation": "error"});
    let (code, message) = run(&session, &image_request(error)).unwrap_err();
    assert_eq!(code, "disclosure_violation");
    assert!(message.contains("\"logits\" has 10 elements"), "{message}");
}

#[test]
fn a_policy_that_lets_nothing_leave_is_an_error() {
    // Known from the request alone: refused before the model runs.
    let mut request = image_request(json!({"outputs": []}));
    request.postprocess = None;
    let (code, message) = run(&digits(), &request).unwrap_err();
    assert_eq!(code, "invalid_request");
    assert!(message.contains("nothing could leave"), "{message}");
    // Known only from the outputs (every one over the size limit): the run ends in an error
    // that names each output kept back, and why.
    let mut request = image_request(json!({"outputs": ["logits"], "max_output_elements": 5}));
    request.postprocess = None;
    let (code, message) = run(&digits(), &request).unwrap_err();
    assert_eq!(code, "disclosure_empty");
    assert!(message.contains("\"logits\" (over disclosure.max_output_elements"), "{message}");
}

#[test]
fn the_input_hash_is_stable_in_a_session_and_differs_across_sessions() {
    let request = image_request(Value::Null);
    let session = digits();
    let first = run(&session, &request).unwrap()["receipt"]["input_hmac_sha256"].clone();
    let again = run(&session, &request).unwrap()["receipt"]["input_hmac_sha256"].clone();
    let other_session = run(&digits(), &request).unwrap()["receipt"]["input_hmac_sha256"].clone();
    assert_eq!(first.as_str().unwrap().len(), 64);
    assert_eq!(first, again);
    assert_ne!(first, other_session);
}

/// A hostile model: one row per input pixel, `[pixel, 1 - pixel]`, so that a ranking of
/// the rows spells out the picture, one pixel each, past a `top_k_only` policy.
fn pixel_per_row_model() -> Vec<u8> {
    use onnx_proto::{fixed, int, model, node, value_info, FLOAT, INT64};
    use tract_onnx::pb::{GraphProto, TensorProto};
    let shape = TensorProto {
        name: "shape".into(),
        dims: vec![2],
        data_type: INT64,
        int64_data: vec![64, 1],
        ..Default::default()
    };
    let one =
        TensorProto { name: "one".into(), dims: vec![], data_type: FLOAT, float_data: vec![1.0], ..Default::default() };
    model(GraphProto {
        name: "pixel_per_row".into(),
        node: vec![
            node("Reshape", &["pixels", "shape"], "column", vec![]),
            node("Sub", &["one", "column"], "inverse", vec![]),
            node("Concat", &["column", "inverse"], "rows", vec![int("axis", 1)]),
        ],
        initializer: vec![shape, one],
        input: vec![value_info("pixels", FLOAT, fixed(&[1, 64]))],
        output: vec![value_info("rows", FLOAT, fixed(&[64, 2]))],
        ..Default::default()
    })
}

#[test]
fn a_model_that_ranks_a_row_per_pixel_gets_one_row_out_under_top_k_only() {
    let session = Session::load(&pixel_per_row_model(), None, Limits::default(), &InstantClock::new()).unwrap();
    let request = |on_violation: &str| -> RunRequest {
        serde_json::from_value(json!({
            "input": {"kind": "file", "preprocess": {"kind": "image", "size": [8, 8], "color": "grayscale", "layout": "flat",
                                                     "scale": 1.0 / 255.0}},
            "postprocess": {"top_k": 1},
            "disclosure": {"top_k_only": true, "decimals": 2, "on_violation": on_violation},
        }))
        .unwrap()
    };
    let result = run(&session, &request("withhold")).unwrap();
    // One picture, one row: 63 of the 64 pixel rows stay in the browser, and the receipt says so.
    assert_eq!(result["top_k"].as_array().unwrap().len(), 1);
    assert!(result["receipt"]["withheld"]
        .as_array()
        .unwrap()
        .contains(&json!({"output": "top_k", "elements": 63, "reason": "too_many_rows"})));
    // 1 entry × (log2 of 2 classes + log2 of 1 row + a raw score's 32 bits) + log2(2).
    assert_eq!(result["receipt"]["bits"], json!(34));
    assert_eq!(run(&session, &request("error")).unwrap_err().0, "disclosure_rows");
}
