//! The engine's outputs against onnxruntime's, recorded by `scripts/gen_models.py`.

use std::path::{Path, PathBuf};

use serde_json::Value;
use ssc_engine::{InputSpec, InstantClock, Limits, RunRequest, Session};

const TOLERANCE: f64 = 1e-4;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn check_golden(file: &str) {
    let golden: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("crates/engine/tests/golden").join(file)).unwrap())
            .unwrap();
    let model = std::fs::read(repo().join("examples/models").join(golden["model"].as_str().unwrap())).unwrap();
    let clock = InstantClock::new();
    let session = Session::load(&model, None, Limits::default(), &clock).unwrap();
    let cases = golden["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let (input, file) = match case.get("file") {
            Some(path) => (
                InputSpec::File { name: None, preprocess: serde_json::from_value(case["preprocess"].clone()).unwrap() },
                Some(std::fs::read(repo().join(path.as_str().unwrap())).unwrap()),
            ),
            None => (serde_json::from_value(case["input"].clone()).unwrap(), None),
        };
        let request = RunRequest { input, postprocess: None, disclosure: None };
        let result = session.run(&request, file.as_deref(), &clock).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = case["expected"].as_object().unwrap();
        assert_eq!(result.outputs.len(), expected.len(), "{name}: output count");
        for (output, want) in expected {
            let got = &result.outputs[output];
            let shape: Vec<usize> = serde_json::from_value(want["shape"].clone()).unwrap();
            assert_eq!(got.shape, shape, "{name}/{output}: shape");
            let want: Vec<f64> = serde_json::from_value(want["data"].clone()).unwrap();
            let worst = got.data.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(worst <= TOLERANCE, "{name}/{output}: max abs diff {worst} > {TOLERANCE}");
        }
    }
}

#[test]
fn digits_mlp_matches_onnxruntime() {
    check_golden("digits_mlp.json");
}

#[test]
fn breast_cancer_logreg_matches_onnxruntime() {
    check_golden("breast_cancer_logreg.json");
}
