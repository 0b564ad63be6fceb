//! DICOM studies generated with pydicom (scripts/gen_dicom.py), one per transfer syntax and
//! photometric interpretation: the engine's model input must be what pydicom and numpy compute,
//! hostile files must end in typed errors, and no header value may reach a result or an error.

mod onnx_proto;

use std::path::{Path, PathBuf};

use onnx_proto::{fixed, model, node, value_info, FLOAT};
use serde_json::{json, Value};
use ssc_engine::{InstantClock, Limits, RunRequest, Session};
use tract_onnx::pb::GraphProto;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dicom")
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join("expected.json")).unwrap()).unwrap()
}

/// `y = x` for an input of `shape`: the model input comes back as the output.
fn identity(shape: &[i64]) -> Session {
    let bytes = model(GraphProto {
        name: "identity".into(),
        node: vec![node("Identity", &["x"], "y", vec![])],
        input: vec![value_info("x", FLOAT, fixed(shape))],
        output: vec![value_info("y", FLOAT, fixed(shape))],
        ..Default::default()
    });
    Session::load(&bytes, None, Limits::default(), &InstantClock::new()).unwrap()
}

fn request(preprocess: &Value) -> RunRequest {
    serde_json::from_value(json!({
        "input": {"kind": "file", "preprocess": preprocess},
        "disclosure": {"outputs": ["y"]},
    }))
    .unwrap()
}

#[test]
fn every_study_gives_the_model_input_pydicom_computes() {
    let expected = expected();
    let cases = expected["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let shape: Vec<i64> = serde_json::from_value(case["shape"].clone()).unwrap();
        let bytes = std::fs::read(dir().join(case["file"].as_str().unwrap())).unwrap();
        let result = identity(&shape)
            .run(&request(&case["preprocess"]), Some(&bytes), &InstantClock::new())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = &result.outputs["y"].data;
        let want: Vec<f64> = serde_json::from_value(case["expected"].clone()).unwrap();
        let tolerance = case["tolerance"].as_f64().unwrap();
        assert_eq!(got.len(), want.len(), "{name}");
        let worst = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0, f64::max);
        assert!(worst <= tolerance, "{name} ({}): off by up to {worst}", case["syntax"]);
    }
}

#[test]
fn a_frame_fitted_to_another_size_keeps_the_window() {
    // The CT study at half its size, letterboxed: still in [0, 1] after the window.
    let bytes = std::fs::read(dir().join("ct_explicit.dcm")).unwrap();
    let preprocess = json!({"kind": "dicom", "size": [40, 40], "resize": "letterbox"});
    let result = identity(&[1, 1, 40, 40]).run(&request(&preprocess), Some(&bytes), &InstantClock::new()).unwrap();
    let data = &result.outputs["y"].data;
    assert_eq!(data.len(), 1600);
    assert!(data.iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(data.iter().any(|v| *v > 0.0));
}

#[test]
fn hostile_files_end_in_typed_errors_that_quote_nothing_of_the_header() {
    let canary = expected()["canary"].as_str().unwrap().to_string();
    let session = identity(&[1, 1, 48, 64]);
    let preprocess = json!({"kind": "dicom"});
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(dir().join("hostile")).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let err = session.run(&request(&preprocess), Some(&bytes), &InstantClock::new()).unwrap_err();
        let want = match name.as_str() {
            "jpeg_ls.dcm" | "jpeg2000.dcm" => "dicom_unsupported_syntax",
            "huge_dims.dcm" => "image_too_large",
            _ => "dicom",
        };
        assert_eq!(err.code(), want, "{name}: {err}");
        for text in [err.to_string(), err.file_safe_message().unwrap_or_default()] {
            assert!(!text.contains(&canary), "{name}: {text}");
        }
        seen.push(name);
    }
    assert_eq!(seen.len(), 8, "{seen:?}");
    let err = session
        .run(
            &request(&preprocess),
            Some(&std::fs::read(dir().join("hostile/jpeg_ls.dcm")).unwrap()),
            &InstantClock::new(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("JPEG-LS"), "{err}");
    let bytes = std::fs::read(dir().join("hostile/jpeg2000.dcm")).unwrap();
    let err = session.run(&request(&preprocess), Some(&bytes), &InstantClock::new()).unwrap_err();
    assert!(err.to_string().contains("JPEG 2000"), "{err}");
}

#[test]
fn a_frame_past_the_last_and_a_file_without_a_window_are_explained() {
    let session = identity(&[1, 1, 48, 64]);
    let bytes = std::fs::read(dir().join("mr_multiframe.dcm")).unwrap();
    let err =
        session.run(&request(&json!({"kind": "dicom", "frame": 3})), Some(&bytes), &InstantClock::new()).unwrap_err();
    assert_eq!(err.code(), "dicom");
    assert!(err.to_string().contains("3 frame(s)"), "{err}");
    // The app is told the request did not fit the file, not the file's frame count.
    assert!(!err.file_safe_message().unwrap().contains('3'));
}

#[test]
fn only_allowed_header_attributes_leave_and_they_count_in_the_receipt() {
    let bytes = std::fs::read(dir().join("ct_explicit.dcm")).unwrap();
    let session = identity(&[1, 1, 48, 64]);
    let run = |policy: Value| {
        let request: RunRequest = serde_json::from_value(json!({
            "input": {"kind": "file", "preprocess": {"kind": "dicom"}}, "disclosure": policy,
        }))
        .unwrap();
        serde_json::to_value(session.run(&request, Some(&bytes), &InstantClock::new()).unwrap()).unwrap()
    };
    let without = run(json!({"outputs": ["y"]}));
    assert!(without.get("dicom_attributes").is_none(), "{without}");
    let with = run(json!({"outputs": ["y"], "dicom_attributes": ["Modality", "BodyPartExamined", "SliceThickness"]}));
    assert_eq!(
        with["dicom_attributes"],
        json!({"Modality": "CT", "BodyPartExamined": "CHEST", "SliceThickness": null})
    );
    let sent: Vec<_> = with["receipt"]["sent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].clone(), f["elements"].clone()))
        .collect();
    assert!(sent.contains(&(json!("dicom_attributes"), json!(3))), "{sent:?}");
    // 8 bits per character and 8 for each attribute's presence: "CT", "CHEST", and a null.
    let added = with["receipt"]["bits"].as_u64().unwrap() - without["receipt"]["bits"].as_u64().unwrap();
    assert_eq!(added, 8 * (1 + 2) + 8 * (1 + 5) + 8);
    // Identifying attributes are not in the allow-list: the request itself is refused.
    for identifying in ["PatientName", "PatientID", "StudyInstanceUID", "InstitutionName", "AccessionNumber"] {
        let request = json!({"input": {"kind": "file", "preprocess": {"kind": "dicom"}},
                             "disclosure": {"dicom_attributes": [identifying]}});
        assert!(serde_json::from_value::<RunRequest>(request).is_err(), "{identifying} was accepted");
    }
    // Over max_bits, the run fails: the attributes were asked for by name. A budget that
    // holds the output alone does not hold it with "CT".
    let budget = without["receipt"]["bits"].as_u64().unwrap() + 8;
    let request: RunRequest = serde_json::from_value(json!({
        "input": {"kind": "file", "preprocess": {"kind": "dicom"}},
        "disclosure": {"outputs": ["y"], "dicom_attributes": ["Modality"], "max_bits": budget},
    }))
    .unwrap();
    let err = session.run(&request, Some(&bytes), &InstantClock::new()).unwrap_err();
    assert_eq!(err.code(), "disclosure_over_budget", "{err}");
}

#[test]
fn header_attributes_need_a_dicom_input() {
    let request: RunRequest = serde_json::from_value(json!({
        "input": {"kind": "file", "preprocess": {"kind": "csv"}},
        "postprocess": {"top_k": 1},
        "disclosure": {"dicom_attributes": ["Modality"]},
    }))
    .unwrap();
    let err = request.validate().unwrap_err();
    assert!(err.to_string().contains("needs a picked DICOM file"), "{err}");
}
