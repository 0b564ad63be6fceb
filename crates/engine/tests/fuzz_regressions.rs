//! Inputs that once crashed the engine, replayed through the same code paths as the fuzz
//! targets in `fuzz/` (see `scripts/fuzz`), so they run in every `cargo test` without a fuzzer.
//!
//! Each file under `fuzz_regressions/<target>/` is one input of that target. A new crash
//! input goes there once the crash is fixed; the test fails if any of them panics or aborts.
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

#[test]
fn model_load_inputs() {
    for (name, data) in inputs("model_load") {
        let result = Session::load(&data, None, LIMITS, &InstantClock::new());
        println!("model_load/{name}: {:?}", result.map(|_| ()).map_err(|e| e.code()));
    }
}

#[test]
fn request_decode_inputs() {
    let digits = session("digits_mlp.onnx");
    let digit = std::fs::read(repo().join("examples/data/digit_3.png")).unwrap();
    for (name, data) in inputs("request_decode") {
        let Ok(request) = serde_json::from_slice::<RunRequest>(&data) else { continue };
        let result = digits.run(&request, Some(&digit), &InstantClock::new());
        println!("request_decode/{name}: {:?}", result.as_ref().map(|_| ()).map_err(|e| e.code()));
    }
}

/// Found by review, not by the fuzzer: the image was resized to the requested size before
/// the size was checked, so a request for a 100000x100000 image aborted on allocation.
#[test]
fn a_huge_requested_image_size_is_refused_before_resizing() {
    let request =
        std::fs::read(repo().join("crates/engine/tests/fuzz_regressions/request_decode/resize_to_a_huge_size.json"));
    let request: RunRequest = serde_json::from_slice(&request.unwrap()).unwrap();
    let digit = std::fs::read(repo().join("examples/data/digit_3.png")).unwrap();
    let err = session("digits_mlp.onnx").run(&request, Some(&digit), &InstantClock::new()).unwrap_err();
    assert_eq!(err.code(), "tensor_too_large", "{err}");
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
