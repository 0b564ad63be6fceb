//! Inputs that once crashed the engine, replayed through the same code paths as the fuzz
//! targets in `fuzz/` (see `scripts/fuzz`), so they run in every `cargo test` without a fuzzer.
//!
//! Each file under `fuzz_regressions/<target>/` is one input of that target. A new crash
//! input goes there once the crash is fixed; the test fails if any of them panics or aborts.

use std::path::{Path, PathBuf};

use serde_json::json;
use ssc_engine::{EngineError, InstantClock, Limits, RunRequest, Session};

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
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut found: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    found.sort();
    found
}

fn run(session: &Session, request: serde_json::Value, file: &[u8]) -> Result<(), EngineError> {
    let request: RunRequest = serde_json::from_value(request).unwrap();
    session.run(&request, Some(file), &InstantClock::new()).map(drop)
}

#[test]
fn model_load_inputs() {
    for (name, data) in inputs("model_load") {
        let result = Session::load(&data, None, LIMITS, &InstantClock::new());
        println!("model_load/{name}: {:?}", result.map(|_| ()).map_err(|e| e.code()));
    }
}

#[test]
fn image_preprocess_inputs() {
    let digits = session("digits_mlp.onnx");
    for (name, data) in inputs("image_preprocess") {
        let Some((&choice, image)) = data.split_first() else { continue };
        let (color, channels) = [("grayscale", 1), ("rgb", 3), ("bgr", 3)][usize::from(choice % 3)];
        let layout = ["flat", "nchw", "nhwc"][usize::from(choice / 3 % 3)];
        let size = if choice & 0xc0 == 0xc0 { json!(null) } else { json!([8, 8]) };
        let preprocess = json!({"kind": "image", "size": size, "color": color, "layout": layout,
                                "scale": 1.0 / 255.0, "mean": vec![0.5; channels], "std": vec![0.25; channels]});
        let request =
            json!({"input": {"kind": "file", "preprocess": preprocess}, "postprocess": {"softmax": true, "top_k": 3}});
        println!("image_preprocess/{name}: {:?}", run(&digits, request, image).map_err(|e| e.code()));
    }
}

#[test]
fn csv_preprocess_inputs() {
    let cancer = session("breast_cancer_logreg.onnx");
    for (name, data) in inputs("csv_preprocess") {
        let Some((&choice, csv)) = data.split_first() else { continue };
        let delimiter = [",", ";", "\t", "|"][usize::from(choice % 4)];
        let preprocess = json!({"kind": "csv", "header": choice & 0x10 != 0, "delimiter": delimiter});
        let request = json!({"input": {"kind": "file", "preprocess": preprocess}});
        println!("csv_preprocess/{name}: {:?}", run(&cancer, request, csv).map_err(|e| e.code()));
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
