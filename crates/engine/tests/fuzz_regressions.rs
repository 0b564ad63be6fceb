//! Inputs that once crashed the engine, replayed through the same code paths as the fuzz
//! targets in `fuzz/` (see `scripts/fuzz`), so they run in every `cargo test` without a fuzzer.
//!
//! Each file under `fuzz_regressions/<target>/` is one input of that target. A new crash
//! input goes there once the crash is fixed, with the outcome the fix decided (`expected`);
//! the test fails if any of them panics, aborts, no longer decodes or gives another outcome.
//! Targets with no kept input yet (image and CSV preprocessing) get a test with their first.

use std::path::{Path, PathBuf};

use ssc_engine::{InstantClock, Limits, RunRequest, Session};

/// The fuzz targets' limits (`fuzz/src/lib.rs`).
const LIMITS: Limits = Limits {
    max_model_bytes: 1 << 20,
    max_input_bytes: 1 << 20,
    max_image_pixels: 1 << 20,
    max_tensor_elements: 1 << 20,
};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn session(model: &str) -> Session {
    let bytes = std::fs::read(repo().join("examples/models").join(model)).unwrap();
    Session::load(&bytes, None, LIMITS, &InstantClock::new()).unwrap()
}

/// Every input kept for `target`, with its file name.
fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions").join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut found: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    found.sort();
    assert!(!found.is_empty(), "{} holds no input", dir.display());
    found
}

/// What each kept input must still give: the error code, or "ok". A kept input without an
/// entry fails the test, so a new crash input comes with the outcome its fix decided.
fn expected(target: &str, name: &str) -> &'static str {
    let table: &[(&str, &str, &str)] = &[
        ("model_load", "unproduced_graph_output.onnx", "model_invalid"),
        // Found by review, not by the fuzzer: the image was resized to the requested size
        // before the size was checked, so a request for a 100000x100000 image aborted.
        ("request_decode", "resize_to_a_huge_size.json", "tensor_too_large"),
    ];
    table
        .iter()
        .find(|(t, n, _)| *t == target && *n == name)
        .map(|(_, _, outcome)| *outcome)
        .unwrap_or_else(|| panic!("{target}/{name} has no expected outcome in fuzz_regressions.rs"))
}

fn outcome<T>(result: &Result<T, ssc_engine::EngineError>) -> &'static str {
    result.as_ref().map(|_| "ok").unwrap_or_else(|e| e.code())
}

#[test]
fn model_load_inputs() {
    for (name, data) in inputs("model_load") {
        let result = Session::load(&data, None, LIMITS, &InstantClock::new());
        assert_eq!(outcome(&result), expected("model_load", &name), "model_load/{name}");
    }
}

/// A kept request that no longer decodes fails here: a schema change must not quietly turn a
/// kept crash into an input that never reaches the code it once crashed.
#[test]
fn request_decode_inputs() {
    let digits = session("digits_mlp.onnx");
    let digit = std::fs::read(repo().join("examples/data/digit_3.png")).unwrap();
    for (name, data) in inputs("request_decode") {
        let request = serde_json::from_slice::<RunRequest>(&data)
            .unwrap_or_else(|e| panic!("request_decode/{name} no longer decodes: {e}"));
        let result = digits.run(&request, Some(&digit), &InstantClock::new());
        assert_eq!(outcome(&result), expected("request_decode", &name), "request_decode/{name}");
    }
}

/// Found by the `dicom_preprocess` target: a 2 KB study declaring a value of 4 GB, which
/// dicom-rs reserved before reading (4.2 GB resident natively) and then failed on, one whose
/// element had no valid VR (2.1 GB), and a deflated one whose meta group length ended the group
/// elsewhere than its tags did, so that dicom-rs inflated another data set than the engine's
/// length walk checked (4.2 GB), and one with an AT value of 2 bytes, after which dicom-rs read
/// every header 2 bytes early and took 4 GB for a length out of the next; a JPEG that
/// decodes to more than the header's Rows and Columns, an RLE segment that decodes to fewer,
/// and a Bits Stored past 32, each of which made dicom-rs panic. The engine's own checks refuse
/// them first, and say which.
#[test]
fn dicom_preprocess_inputs() {
    let digits = session("digits_mlp.onnx");
    let request: RunRequest = serde_json::from_value(serde_json::json!({
        "input": {"kind": "file", "preprocess": {"kind": "dicom", "size": [8, 8], "layout": "flat"}},
        "postprocess": {"top_k": 1},
    }))
    .unwrap();
    for (name, data) in inputs("dicom_preprocess") {
        let err = digits.run(&request, Some(&data), &InstantClock::new()).unwrap_err();
        assert_eq!(err.code(), "dicom", "{name}: {err}");
        let message = err.to_string();
        let named = ["more than", "fewer bytes", "bits allocated", "no valid VR", "not a whole number"]
            .iter()
            .any(|check| message.contains(check));
        assert!(named, "{name}: {message}");
    }
}
