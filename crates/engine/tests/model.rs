//! How the engine treats real models: metadata, symbolic dims, bad requests.

use std::path::Path;

use ssc_engine::{Disclosure, InputSpec, InstantClock, Limits, NamedTensor, Postprocess, RunRequest, Session};

fn digits_bytes() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/models/digits_mlp.onnx")).unwrap()
}

fn digits() -> Session {
    Session::load(&digits_bytes(), None, Limits::default(), &InstantClock::new()).unwrap()
}

fn tensor(shape: Vec<usize>, data: Vec<f64>) -> RunRequest {
    RunRequest {
        input: InputSpec::Tensor(NamedTensor { name: None, shape, data, dtype: None }),
        postprocess: None,
        disclosure: None,
    }
}

fn error_code(session: &Session, request: RunRequest) -> &'static str {
    session.run(&request, None, &InstantClock::new()).unwrap_err().code()
}

#[test]
fn reports_sha256_and_symbolic_io() {
    let info = digits().info();
    assert_eq!(info.sha256.len(), 64);
    assert_eq!(info.inputs[0].name, "pixels");
    assert_eq!(info.inputs[0].shape, vec!["N", "64"]);
    assert_eq!(info.inputs[0].dtype, "float32");
    let outputs: Vec<_> = info.outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(outputs, vec!["logits", "probabilities"]);
}

#[test]
fn verifies_the_expected_sha256() {
    let bytes = digits_bytes();
    let clock = InstantClock::new();
    let sha = digits().info().sha256;
    assert!(Session::load(&bytes, Some(&sha.to_uppercase()), Limits::default(), &clock).is_ok());
    let wrong = "0".repeat(64);
    let err = Session::load(&bytes, Some(&wrong), Limits::default(), &clock).unwrap_err();
    assert_eq!(err.code(), "sha256_mismatch");
}

#[test]
fn batch_dim_follows_the_input_across_calls() {
    let session = digits();
    let clock = InstantClock::new();
    for batch in [1, 3, 1] {
        let result = session.run(&tensor(vec![batch, 64], vec![1.0; batch * 64]), None, &clock).unwrap();
        assert_eq!(result.outputs["probabilities"].shape, vec![batch, 10]);
        let sum: f64 = result.outputs["probabilities"].data[..10].iter().sum();
        assert!((sum - 1.0).abs() < 1e-5);
    }
}

#[test]
fn plan_building_is_timed_apart_from_inference_once_per_shape() {
    let session = digits();
    let clock = InstantClock::new();
    let request = tensor(vec![2, 64], vec![1.0; 2 * 64]);
    let first = session.run(&request, None, &clock).unwrap().timings_ms;
    let again = session.run(&request, None, &clock).unwrap().timings_ms;
    // Building an optimized plan takes milliseconds; finding the cached one, microseconds.
    assert!(first.plan > 0.0);
    assert!(again.plan < first.plan / 10.0, "plan rebuilt for the same shape: {first:?} then {again:?}");
}

#[test]
fn bad_requests_get_typed_errors() {
    let session = digits();
    assert_eq!(error_code(&session, tensor(vec![1, 63], vec![0.0; 63])), "shape_mismatch");
    assert_eq!(error_code(&session, tensor(vec![64], vec![0.0; 64])), "shape_mismatch");
    assert_eq!(error_code(&session, tensor(vec![1, 64], vec![0.0; 10])), "data_length");
    let mut named = tensor(vec![1, 64], vec![0.0; 64]);
    if let InputSpec::Tensor(t) = &mut named.input {
        t.name = Some("image".into());
    }
    assert_eq!(error_code(&session, named), "unknown_input");
    let mut post = tensor(vec![1, 64], vec![0.0; 64]);
    post.postprocess = Some(Postprocess { output: Some("nope".into()), top_k: Some(1), ..Default::default() });
    assert_eq!(error_code(&session, post), "invalid_request");
}

#[test]
fn top_k_uses_labels_and_optional_softmax() {
    let session = digits();
    let clock = InstantClock::new();
    let labels: Vec<String> = (0..10).map(|d| format!("digit {d}")).collect();
    let mut request = tensor(vec![1, 64], vec![3.0; 64]);
    request.postprocess = Some(Postprocess {
        output: Some("logits".into()),
        softmax: true,
        top_k: Some(3),
        labels,
        steps: vec![],
        detection: None,
    });
    let result = session.run(&request, None, &clock).unwrap();
    let top = result.top_k.unwrap();
    assert_eq!(top.len(), 3);
    // Softmax over logits must reproduce the model's own probabilities output.
    let probabilities = &result.outputs["probabilities"].data;
    assert!((top[0].score - probabilities[top[0].index]).abs() < 1e-5);
    assert_eq!(top[0].label.as_deref(), Some(format!("digit {}", top[0].index).as_str()));
    assert!(top[0].score >= top[1].score && top[1].score >= top[2].score);
}

#[test]
fn garbage_and_truncated_models_are_errors_not_panics() {
    let clock = InstantClock::new();
    let bytes = digits_bytes();
    let err = Session::load(&bytes[..bytes.len() / 2], None, Limits::default(), &clock).unwrap_err();
    assert_eq!(err.code(), "model_invalid");
    let err = Session::load(b"not a model at all", None, Limits::default(), &clock).unwrap_err();
    assert_eq!(err.code(), "unsupported_format");
    let tiny = Limits { max_model_bytes: 100, ..Limits::default() };
    assert_eq!(Session::load(&bytes, None, tiny, &clock).unwrap_err().code(), "model_too_large");
}

#[test]
fn requests_round_trip_through_json() {
    let json = r#"{"input": {"kind": "file", "preprocess": {"kind": "image", "size": [8, 8], "color": "grayscale", "layout": "flat"}},
                   "postprocess": {"top_k": 3, "labels": ["a"]}}"#;
    let request: RunRequest = serde_json::from_str(json).unwrap();
    assert!(matches!(request.input, InputSpec::File { .. }));
    let typo = r#"{"input": {"kind": "tensor", "shape": [1], "data": [1], "nmae": "x"}}"#;
    assert!(serde_json::from_str::<RunRequest>(typo).is_err());
}

#[test]
fn postprocess_steps_run_on_the_scored_output() {
    let data: Vec<String> = (0..128).map(|i| format!("{}", (i % 17) as f64 / 4.0)).collect();
    let json = format!(
        r#"{{"input": {{"kind": "tensor", "shape": [2, 64], "data": [{}]}},
             "postprocess": {{"output": "logits", "labels": ["zero"], "steps": [{{"op": "softmax"}}, {{"op": "argmax"}}]}}}}"#,
        data.join(",")
    );
    let request: RunRequest = serde_json::from_str(&json).unwrap();
    let result = digits().run(&request, None, &InstantClock::new()).unwrap();
    let probabilities = &result.outputs["probabilities"].data;
    let value = serde_json::to_value(&result.postprocessed).unwrap();
    assert_eq!(value[0]["op"], "softmax");
    let softmaxed: Vec<f64> = serde_json::from_value(value[0]["values"]["data"].clone()).unwrap();
    assert!(softmaxed.iter().zip(probabilities).all(|(a, b)| (a - b).abs() < 1e-5));
    assert_eq!(value[1]["op"], "argmax");
    for row in 0..2 {
        let scores = &probabilities[row * 10..row * 10 + 10];
        let best = (0..10).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap();
        assert_eq!(value[1]["classes"][row]["index"], best);
    }
}

#[test]
fn several_named_inputs_from_json() {
    let bytes =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models/transformer_block.onnx")).unwrap();
    let session = Session::load(&bytes, None, Limits::default(), &InstantClock::new()).unwrap();
    let names: Vec<_> =
        session.info().inputs.iter().map(|i| (i.name.clone(), i.shape.join(","), i.dtype.clone())).collect();
    assert_eq!(
        names,
        vec![
            ("hidden_states".into(), "batch,seq,32".into(), "float32".into()),
            ("attention_mask".into(), "batch,seq".into(), "int64".into())
        ]
    );
    let hidden: Vec<String> = (0..2 * 4 * 32).map(|i| format!("{}", (i % 7) as f64 - 3.0)).collect();
    let json = format!(
        r#"{{"input": {{"kind": "multiple", "inputs": [
            {{"kind": "tensor", "name": "attention_mask", "shape": [2, 4], "data": [1, 1, 1, 1, 1, 1, 0, 0], "dtype": "int64"}},
            {{"kind": "tensor", "name": "hidden_states", "shape": [2, 4, 32], "data": [{}]}}]}}}}"#,
        hidden.join(",")
    );
    let request: RunRequest = serde_json::from_str(&json).unwrap();
    let result = session.run(&request, None, &InstantClock::new()).unwrap();
    assert_eq!(result.outputs["output"].shape, vec![2, 4, 32]);
}

#[test]
fn image_pixels_feed_a_uint8_model_exactly_or_not_at_all() {
    let bytes = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models/uint8_image.onnx")).unwrap();
    let session = Session::load(&bytes, None, Limits::default(), &InstantClock::new()).unwrap();
    // Any small picture will do; it is resized to the model's 2x2.
    let png = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/exif_orientation_6.png")).unwrap();
    let request = |preprocess: &str| RunRequest {
        input: InputSpec::File { name: None, preprocess: serde_json::from_str(preprocess).unwrap() },
        postprocess: None,
        disclosure: Some(Disclosure { outputs: Some(vec!["total".into()]), ..Default::default() }),
    };
    let clock = InstantClock::new();
    let raw = r#"{"kind": "image", "size": [2, 2], "layout": "nhwc", "scale": 1, "dtype": "uint8"}"#;
    let result = session.run(&request(raw), Some(&png), &clock).unwrap();
    let total = result.outputs["total"].data[0];
    assert!(total > 0.0 && total.fract() == 0.0, "{total}");
    // The default scale (1/255) makes fractions, which a uint8 input cannot hold.
    let scaled = r#"{"kind": "image", "size": [2, 2], "layout": "nhwc"}"#;
    assert_eq!(session.run(&request(scaled), Some(&png), &clock).unwrap_err().code(), "value_out_of_range");
    let declared = r#"{"kind": "image", "size": [2, 2], "layout": "nhwc", "scale": 1, "dtype": "float32"}"#;
    assert_eq!(session.run(&request(declared), Some(&png), &clock).unwrap_err().code(), "dtype_mismatch");
}
