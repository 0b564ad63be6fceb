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

    let error = json!({"outputs": ["logits"], "max_output_elements": 5, "on_violation": "error"});
    let (code, message) = run(&session, &image_request(error)).unwrap_err();
    assert_eq!(code, "disclosure_violation");
    assert!(message.contains("\"logits\" has 10 elements"), "{message}");
}

#[test]
fn an_explicit_policy_changes_only_what_it_names() {
    // A team that only wanted rounding: the raw outputs still stay, the ranking still leaves.
    let result = run(&digits(), &image_request(json!({"decimals": 2}))).unwrap();
    assert_eq!(result["outputs"], json!({}));
    assert_eq!(result["top_k"].as_array().unwrap().len(), 3);
    assert!(result["top_k"].as_array().unwrap().iter().all(|t| {
        let score = t["score"].as_f64().unwrap();
        (score * 100.0 - (score * 100.0).round()).abs() < 1e-9
    }));
    assert_eq!(
        result["receipt"]["withheld"],
        json!([{"output": "logits", "elements": 10, "reason": "not_listed"},
               {"output": "probabilities", "elements": 10, "reason": "not_listed"}])
    );
    // Naming outputs is what lets them out; numbers the app supplied keep their default (all).
    let named = run(&digits(), &image_request(json!({"decimals": 2, "outputs": ["logits"]}))).unwrap();
    assert_eq!(named["outputs"].as_object().unwrap().keys().collect::<Vec<_>>(), ["logits"]);
    let tensor: RunRequest = serde_json::from_value(json!({
        "input": {"kind": "tensor", "name": "pixels", "shape": [1, 64], "data": vec![0.0; 64]},
        "disclosure": {"decimals": 2},
    }))
    .unwrap();
    let result = serde_json::to_value(digits().run(&tensor, None, &InstantClock::new()).unwrap()).unwrap();
    assert_eq!(result["outputs"].as_object().unwrap().len(), 2);
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

/// The attack of issue 23, on the pixel-per-row model: raw scores read out through an `argmax`
/// step, under a ranking flag (`softmax`) that the steps do not use, rounded to 0 decimals.
/// The step's rows are cut to the input's one, and its score is priced as the raw value it is.
#[test]
fn a_step_cannot_spread_the_file_over_rows_nor_pass_raw_scores_as_probabilities() {
    let session = Session::load(&pixel_per_row_model(), None, Limits::default(), &InstantClock::new()).unwrap();
    let request: RunRequest = serde_json::from_value(json!({
        "input": {"kind": "file", "preprocess": {"kind": "image", "size": [8, 8], "color": "grayscale", "layout": "flat",
                                                 "scale": 1.0 / 255.0}},
        "postprocess": {"output": "rows", "softmax": true, "steps": [{"op": "argmax"}]},
        "disclosure": {"decimals": 0, "outputs": [], "derived": ["postprocessed"]},
    }))
    .unwrap();
    let result = run(&session, &request).unwrap();
    assert_eq!(result["postprocessed"][0]["classes"].as_array().unwrap().len(), 1, "{result}");
    assert!(result["receipt"]["withheld"]
        .as_array()
        .unwrap()
        .contains(&json!({"output": "postprocessed", "elements": 63, "reason": "too_many_rows"})));
    // 1 entry × (log2 of 2 classes + log2 of 1 row + a raw score's 32 bits) + log2(2).
    assert_eq!(result["receipt"]["bits"], json!(34));
}

/// A model whose four raw values are the input's, as two rows of two classes: every raw output
/// a model could give, on a small domain, is a tensor input here.
fn two_rows_of_two() -> Session {
    use onnx_proto::{fixed, model, node, value_info, FLOAT, INT64};
    use tract_onnx::pb::{GraphProto, TensorProto};
    let shape = TensorProto {
        name: "shape".into(),
        dims: vec![2],
        data_type: INT64,
        int64_data: vec![2, 2],
        ..Default::default()
    };
    let bytes = model(GraphProto {
        name: "two_rows".into(),
        node: vec![node("Reshape", &["x", "shape"], "y", vec![])],
        initializer: vec![shape],
        input: vec![value_info("x", FLOAT, fixed(&[1, 4]))],
        output: vec![value_info("y", FLOAT, fixed(&[2, 2]))],
        ..Default::default()
    });
    Session::load(&bytes, None, Limits::default(), &InstantClock::new()).unwrap()
}

/// The bound as a property: over every raw output of a small domain (huge, negative, fractional,
/// tied values), the distinct results the engine lets out for one request number at most
/// 2^bits, bits being the most any of them states. Counted exactly, for the ranking and every
/// step, rounded and not.
#[test]
fn no_postprocess_lets_out_more_distinct_results_than_its_bound_allows() {
    let session = two_rows_of_two();
    let domain = [-3.0e38, -2.5, -1.0, 0.0, 0.4, 0.5, 1.0, 7.25, 3.0e38];
    let kinds = [
        json!({"output": "y", "top_k": 2}),
        json!({"output": "y", "softmax": true, "top_k": 1}),
        json!({"output": "y", "steps": [{"op": "argmax"}]}),
        json!({"output": "y", "softmax": true, "steps": [{"op": "top_k", "k": 2}]}),
        json!({"output": "y", "steps": [{"op": "softmax"}, {"op": "argmax"}]}),
        json!({"output": "y", "steps": [{"op": "sigmoid"}, {"op": "threshold", "value": 0.5}]}),
        json!({"output": "y", "steps": [{"op": "threshold", "value": 0.5}]}),
        json!({"output": "y", "steps": [{"op": "softmax"}]}),
    ];
    for post in kinds {
        let derived = if post.get("steps").is_some() { json!(["postprocessed"]) } else { json!([]) };
        for decimals in [json!(0), json!(1)] {
            let mut distinct = std::collections::BTreeSet::new();
            let mut most_bits = 0;
            for i in 0..domain.len().pow(4) {
                let data: Vec<f64> = (0..4).map(|k| domain[i / domain.len().pow(k) % domain.len()]).collect();
                let request: RunRequest = serde_json::from_value(json!({
                    "input": {"kind": "tensor", "name": "x", "shape": [1, 4], "data": data},
                    "postprocess": post,
                    "disclosure": {"decimals": decimals, "outputs": [], "derived": derived},
                }))
                .unwrap();
                // An input the engine refuses (a ranking of infinities, a value too large to
                // round) sends no result.
                let Ok(result) = session.run(&request, None, &InstantClock::new()) else { continue };
                let result = serde_json::to_value(result).unwrap();
                most_bits = most_bits.max(result["receipt"]["bits"].as_u64().unwrap());
                distinct.insert(json!([result["top_k"], result["postprocessed"], result["outputs"]]).to_string());
            }
            assert!(!distinct.is_empty(), "{post} ran on no input");
            assert!(
                (distinct.len() as f64).log2() <= most_bits as f64,
                "{post} at {decimals} decimals: {} distinct results, but at most {most_bits} bits stated",
                distinct.len()
            );
        }
    }
}
