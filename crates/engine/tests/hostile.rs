//! The hostile-input table: every malformed, lying or oversized input ends in a typed error
//! (checked by its stable code), never in a panic or an out-of-memory abort.

use std::path::{Path, PathBuf};

use ssc_engine::{
    Disclosure, EngineError, InputSpec, InstantClock, Limits, NamedTensor, Preprocess, RunRequest, Session,
};

fn crate_file(path: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

fn digits_bytes() -> Vec<u8> {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/models/digits_mlp.onnx");
    std::fs::read(path).unwrap()
}

fn load(bytes: &[u8], limits: Limits) -> Result<Session, EngineError> {
    Session::load(bytes, None, limits, &InstantClock::new())
}

fn model(path: &str) -> Session {
    load(&crate_file(path), Limits::default()).unwrap()
}

/// Bytes from a fixed xorshift generator: "random", but the same on every run.
fn noise(len: usize, mut state: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn tensor(name: &str, shape: Vec<usize>, data: Vec<f64>, dtype: Option<&str>) -> InputSpec {
    InputSpec::Tensor(NamedTensor { name: Some(name.into()), shape, data, dtype: dtype.map(String::from) })
}

/// Runs with a policy that names every output, so that what is tested is the input's path.
fn run(session: &Session, input: InputSpec, file: Option<&[u8]>) -> Result<(), EngineError> {
    let outputs = session.model().outputs().iter().map(|o| o.name.clone()).collect();
    let request = RunRequest {
        input,
        postprocess: None,
        disclosure: Some(Disclosure { outputs: Some(outputs), ..Disclosure::default() }),
    };
    session.run(&request, file, &InstantClock::new()).map(|_| ())
}

fn file(preprocess: &str) -> InputSpec {
    InputSpec::File { name: None, preprocess: serde_json::from_str::<Preprocess>(preprocess).unwrap() }
}

/// The dtypes model's inputs, all valid, with one replaced.
fn dtypes_request(replace: InputSpec) -> InputSpec {
    let InputSpec::Tensor(replacement) = &replace else { unreachable!() };
    let inputs = ["f16", "f32", "f64", "i8", "u8", "i32", "i64", "bool"]
        .iter()
        .map(|d| format!("in_{d}"))
        .map(|name| {
            if replacement.name.as_deref() == Some(name.as_str()) {
                replace.clone()
            } else {
                tensor(&name, vec![1, 3], vec![1.0, 0.0, 1.0], None)
            }
        })
        .collect();
    InputSpec::Multiple { inputs }
}

#[test]
fn hostile_inputs_get_typed_errors() {
    let digits = load(&digits_bytes(), Limits::default()).unwrap();
    let dtypes = model("tests/models/dtypes.onnx");
    let huge = model("tests/models/huge_dims.onnx");
    let csv_model = load(&crate_file("../../examples/models/breast_cancer_logreg.onnx"), Limits::default()).unwrap();
    let bytes = digits_bytes();
    let mut onnx_looking_noise = noise(4096, 7);
    onnx_looking_noise[..2].copy_from_slice(&[0x08, 0x07]);
    let bomb = crate_file("tests/data/bomb_8000x8000.png");
    let gray8 = r#"{"kind": "image", "size": [8, 8], "color": "grayscale", "layout": "flat"}"#;
    let csv = r#"{"kind": "csv"}"#;

    let table: Vec<(&str, Result<(), EngineError>, &str)> = vec![
        // Model files
        ("truncated model", load(&bytes[..bytes.len() / 2], Limits::default()).map(drop), "model_invalid"),
        ("model cut after its header", load(&bytes[..40], Limits::default()).map(drop), "model_invalid"),
        ("random bytes", load(&noise(4096, 1), Limits::default()).map(drop), "unsupported_format"),
        ("random bytes behind an ONNX header", load(&onnx_looking_noise, Limits::default()).map(drop), "model_invalid"),
        ("empty file", load(b"", Limits::default()).map(drop), "unsupported_format"),
        (
            "TF.js model.json",
            load(br#"{"format": "layers-model", "modelTopology": {}}"#, Limits::default()).map(drop),
            "unsupported_format",
        ),
        (
            "model over max_model_bytes",
            load(&bytes, Limits { max_model_bytes: 1000, ..Limits::default() }).map(drop),
            "model_too_large",
        ),
        (
            "weight declaring 2^40 floats with 4 bytes of data",
            load(&crate_file("tests/models/lying_weight.onnx"), Limits::default()).map(drop),
            "model_invalid",
        ),
        ("Loop", load(&crate_file("tests/models/loop.onnx"), Limits::default()).map(drop), "unsupported_ops"),
        (
            "Sequence ops",
            load(&crate_file("tests/models/sequence.onnx"), Limits::default()).map(drop),
            "unsupported_ops",
        ),
        (
            "Scaler and ZipMap",
            load(&crate_file("tests/models/skl_scaler_zipmap.onnx"), Limits::default()).map(drop),
            "unsupported_ops",
        ),
        // Tensors
        ("wrong rank", run(&digits, tensor("pixels", vec![64], vec![0.0; 64], None), None), "shape_mismatch"),
        ("wrong dim", run(&digits, tensor("pixels", vec![1, 63], vec![0.0; 63], None), None), "shape_mismatch"),
        (
            "data shorter than shape",
            run(&digits, tensor("pixels", vec![1, 64], vec![0.0; 3], None), None),
            "data_length",
        ),
        (
            "huge declared dims in the request",
            run(&digits, tensor("pixels", vec![1 << 40, 1 << 40], vec![], None), None),
            "tensor_too_large",
        ),
        (
            "huge declared dims in the model, fed from an image",
            run(&huge, file(r#"{"kind": "image"}"#), Some(&crate_file("tests/data/exif_orientation_6.png"))),
            "tensor_too_large",
        ),
        (
            "a one-number input expanded to 10^10 elements",
            run(&model("tests/models/expand_bomb.onnx"), tensor("x", vec![1], vec![1.0], None), None),
            "tensor_too_large",
        ),
        (
            "wrong dtype declared",
            run(&dtypes, dtypes_request(tensor("in_i64", vec![1, 3], vec![1.0; 3], Some("float32"))), None),
            "dtype_mismatch",
        ),
        (
            "fraction for an int64 input",
            run(&dtypes, dtypes_request(tensor("in_i64", vec![1, 3], vec![1.5, 0.0, 0.0], None)), None),
            "value_out_of_range",
        ),
        (
            "256 for a uint8 input",
            run(&dtypes, dtypes_request(tensor("in_u8", vec![1, 3], vec![256.0, 0.0, 0.0], None)), None),
            "value_out_of_range",
        ),
        (
            "2 for a bool input",
            run(&dtypes, dtypes_request(tensor("in_bool", vec![1, 3], vec![2.0, 0.0, 0.0], None)), None),
            "value_out_of_range",
        ),
        (
            "one input missing",
            run(&dtypes, InputSpec::Multiple { inputs: vec![tensor("in_f32", vec![1, 3], vec![0.0; 3], None)] }, None),
            "invalid_request",
        ),
        (
            "an input fed twice",
            run(
                &digits,
                InputSpec::Multiple {
                    inputs: vec![
                        tensor("pixels", vec![1, 64], vec![0.0; 64], None),
                        tensor("pixels", vec![1, 64], vec![0.0; 64], None),
                    ],
                },
                None,
            ),
            "invalid_request",
        ),
        // Files
        ("decompression-bomb PNG (64 Mpx in 62 KB)", run(&digits, file(gray8), Some(&bomb)), "image_too_large"),
        ("random bytes as an image", run(&digits, file(gray8), Some(&noise(2048, 3))), "image_decode"),
        (
            "input over max_input_bytes",
            load(&digits_bytes(), Limits { max_input_bytes: 10, ..Limits::default() })
                .and_then(|s| run(&s, file(gray8), Some(&bomb))),
            "input_too_large",
        ),
        ("CSV with a word in a number column", run(&csv_model, file(csv), Some(b"a,b\n1,x\n")), "csv"),
        ("CSV with a ragged row", run(&csv_model, file(csv), Some(b"a,b\n1,2\n3\n")), "csv"),
        (
            "CSV with an empty cell",
            run(&csv_model, file(r#"{"kind": "csv", "header": false}"#), Some(b"1,,3\n")),
            "csv",
        ),
        ("CSV that is binary noise", run(&csv_model, file(csv), Some(&noise(512, 5))), "csv"),
        ("CSV with only a header", run(&csv_model, file(csv), Some(b"a,b,c\n")), "preprocess"),
    ];

    let mut failures = Vec::new();
    for (case, result, want) in &table {
        match result {
            Err(e) if e.code() == *want => {}
            Err(e) => failures.push(format!("{case}: expected {want}, got [{}] {e}", e.code())),
            Ok(()) => failures.push(format!("{case}: expected {want}, but it succeeded")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn unsupported_ops_are_listed_with_advice() {
    let message = |path: &str| load(&crate_file(path), Limits::default()).unwrap_err().to_string();
    let loop_error = message("tests/models/loop.onnx");
    assert!(loop_error.contains(": Loop") && loop_error.contains("no Loop"), "{loop_error}");
    let sequence_error = message("tests/models/sequence.onnx");
    assert!(sequence_error.contains("ConcatFromSequence, SequenceConstruct"), "{sequence_error}");
    let sklearn_error = message("tests/models/skl_scaler_zipmap.onnx");
    assert!(sklearn_error.contains("ai.onnx.ml.Scaler, ai.onnx.ml.ZipMap"), "{sklearn_error}");
    assert!(sklearn_error.contains("'zipmap': False"), "{sklearn_error}");
}

#[test]
fn tfjs_error_says_how_to_convert() {
    let err = load(br#"{"format": "graph-model"}"#, Limits::default()).unwrap_err();
    assert!(err.to_string().contains("tensorflowjs_converter") && err.to_string().contains("tf2onnx"), "{err}");
}

/// A CSV cell of 7.3 for an int64 input: the full message quotes the value and where it is,
/// for the person in the sandbox; the message an app gets for a file names neither.
#[test]
fn a_files_error_has_a_message_without_the_files_values() {
    let dtypes = model("tests/models/dtypes.onnx");
    let csv_for_i64 = InputSpec::File {
        name: Some("in_i64".into()),
        preprocess: serde_json::from_str::<Preprocess>(r#"{"kind": "csv", "header": false}"#).unwrap(),
    };
    let InputSpec::Multiple { inputs } = dtypes_request(tensor("in_i64", vec![1, 3], vec![0.0; 3], None)) else {
        unreachable!()
    };
    let inputs = inputs.into_iter().map(|i| match &i {
        InputSpec::Tensor(t) if t.name.as_deref() == Some("in_i64") => csv_for_i64.clone(),
        _ => i,
    });
    let err = run(&dtypes, InputSpec::Multiple { inputs: inputs.collect() }, Some(b"1,7.3,0\n")).unwrap_err();
    assert_eq!(err.code(), "value_out_of_range");
    assert!(err.to_string().contains("7.3"), "{err}");
    let safe = err.file_safe_message().expect("a value of the file is in the full message");
    assert!(!safe.contains('7') && !safe.contains("index"), "{safe}");
    assert!(safe.contains("\"in_i64\"") && safe.contains("int64"), "{safe}");
}

/// What the app is told of a file's error: the file-safe message, or the whole one when the
/// engine declared that it holds nothing of the file (as the Worker sends it).
fn told_to_the_app(err: &EngineError) -> String {
    err.file_safe_message().unwrap_or_else(|| err.to_string())
}

/// Every kind of error a file can cause, each from a file that carries a marker (a place, a
/// value, a count, a size or a UID of its own) into the full message. The full message, for the
/// person, must quote the marker (or the case tests nothing); what the app is told must not.
#[test]
fn no_files_error_tells_the_app_anything_of_the_file() {
    let digits = load(&digits_bytes(), Limits::default()).unwrap();
    let csv_model = load(&crate_file("../../examples/models/breast_cancer_logreg.onnx"), Limits::default()).unwrap();
    let dtypes = model("tests/models/dtypes.onnx");
    let gray8 = r#"{"kind": "image", "size": [8, 8], "color": "grayscale", "layout": "flat"}"#;
    let dicom8 = r#"{"kind": "dicom", "size": [8, 8], "layout": "flat"}"#;
    let csv = r#"{"kind": "csv", "header": false}"#;
    let row = |cells: usize, value: &str| vec![value; cells].join(",");
    let int64_from_csv = {
        let InputSpec::Multiple { inputs } = dtypes_request(tensor("in_i64", vec![1, 3], vec![0.0; 3], None)) else {
            unreachable!()
        };
        let inputs = inputs.into_iter().map(|i| match &i {
            InputSpec::Tensor(t) if t.name.as_deref() == Some("in_i64") => {
                InputSpec::File { name: Some("in_i64".into()), preprocess: serde_json::from_str(csv).unwrap() }
            }
            _ => i,
        });
        InputSpec::Multiple { inputs: inputs.collect() }
    };
    // A study whose transfer syntax no registry knows: its UID is the file's own text.
    let mut unknown_syntax = crate_file("tests/dicom/ct_explicit.dcm");
    let at = unknown_syntax.windows(19).position(|w| w == b"1.2.840.10008.1.2.1").unwrap();
    unknown_syntax[at..at + 19].copy_from_slice(b"1.2.840.98765.1.2.1");
    // A PNG signature before noise: the noise is read as the header's width and height.
    let mut huge_header = noise(600, 9);
    huge_header[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
    let many_rows = format!("{}\n", row(30, "1")).repeat(37);
    let word_on_row_23 = format!("{}{},Smithfield\n", format!("{}\n", row(30, "1")).repeat(22), row(29, "1"));
    let bomb = crate_file("tests/data/bomb_8000x8000.png");
    let bomb_len = bomb.len().to_string();
    let bomb_size = [bomb_len.as_str()];

    let cases: Vec<(&str, Result<(), EngineError>, &[&str])> = vec![
        (
            "a word in a CSV cell, by its place",
            run(&csv_model, file(csv), Some(word_on_row_23.as_bytes())),
            &["row 23"],
        ),
        (
            "a ragged CSV row, by its row and column",
            run(&csv_model, file(csv), Some(format!("{}\n1,2\n", row(30, "1")).as_bytes())),
            &["row 2"],
        ),
        ("a value an int64 cannot hold", run(&dtypes, int64_from_csv, Some(b"1,7.3125,0\n")), &["7.3125"]),
        (
            "a CSV of another width, by its shape",
            run(&csv_model, file(csv), Some(format!("{}\n", row(29, "1")).repeat(37).as_bytes())),
            &["29 columns"],
        ),
        (
            "rows over the tensor limit, by their count",
            run(
                &load(
                    &crate_file("../../examples/models/breast_cancer_logreg.onnx"),
                    Limits { max_tensor_elements: 30 * 36, ..Limits::default() },
                )
                .unwrap(),
                file(csv),
                Some(many_rows.as_bytes()),
            ),
            &["[37, 30]"],
        ),
        ("an image's declared size", run(&digits, file(gray8), Some(&huge_header)), &["409659065"]),
        ("an image over the pixel limit, by its size", run(&digits, file(gray8), Some(&bomb)), &["8000"]),
        (
            "a file over the byte limit, by its size",
            load(&digits_bytes(), Limits { max_input_bytes: 10, ..Limits::default() })
                .and_then(|s| run(&s, file(gray8), Some(&bomb))),
            &bomb_size,
        ),
        ("a DICOM study's transfer syntax", run(&digits, file(dicom8), Some(&unknown_syntax)), &["98765"]),
        (
            "a DICOM study's header",
            run(&digits, file(dicom8), Some(&crate_file("tests/dicom/hostile/huge_dims.dcm"))),
            &["65535"],
        ),
    ];
    let mut failures = Vec::new();
    for (case, result, markers) in cases {
        let Err(err) = result else {
            failures.push(format!("{case}: ran without an error"));
            continue;
        };
        let (full, app) = (err.to_string(), told_to_the_app(&err));
        for marker in markers {
            if !full.contains(marker) {
                failures
                    .push(format!("{case}: the full message does not quote {marker:?}, so this tests nothing: {full}"));
            } else if app.contains(marker) {
                failures.push(format!("{case} [{}]: the app is told {marker:?}: {app}", err.code()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
