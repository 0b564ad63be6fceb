//! What the fuzz targets share: the example models, loaded once, and tight limits.

use std::sync::OnceLock;

use ssc_engine::{InstantClock, Limits, RunRequest, Session};

/// Tighter than the defaults, so that a dimension bomb costs the fuzzer milliseconds, not
/// gigabytes; the checks that enforce them are the same code as with the defaults.
pub const LIMITS: Limits = Limits {
    max_model_bytes: 1 << 20,
    max_input_bytes: 1 << 20,
    max_image_pixels: 1 << 20,
    max_tensor_elements: 1 << 20,
};

/// The digits MLP: input `pixels` [N, 64], outputs `logits` and `probabilities` [N, 10].
pub fn digits() -> &'static Session {
    static SESSION: OnceLock<Session> = OnceLock::new();
    SESSION.get_or_init(|| load(include_bytes!("../../examples/models/digits_mlp.onnx")))
}

/// The breast-cancer logistic regression: input `features` [N, 30].
pub fn cancer() -> &'static Session {
    static SESSION: OnceLock<Session> = OnceLock::new();
    SESSION.get_or_init(|| load(include_bytes!("../../examples/models/breast_cancer_logreg.onnx")))
}

fn load(bytes: &[u8]) -> Session {
    Session::load(bytes, None, LIMITS, &InstantClock::new()).expect("the example models load")
}

/// Runs a request given as JSON; the fuzz targets only care that it returns, ok or error.
pub fn run(session: &Session, request: serde_json::Value, file: &[u8]) {
    let request: RunRequest = serde_json::from_value(request).expect("the targets build valid requests");
    let _ = session.run(&request, Some(file), &InstantClock::new());
}
