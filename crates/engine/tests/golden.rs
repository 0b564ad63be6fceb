//! The engine's outputs against onnxruntime's, recorded by `scripts/gen_models.py`.
//!
//! Two kinds of golden files: the demo models' (`model` is a file name under examples/models,
//! inputs are requests), and the golden test set's (`model` is `{"path": ...}` for a model
//! committed under tests/models, or `{"cache": ...}` for one too big to commit; inputs are
//! named tensors). Cache models are built by `python scripts/gen_models.py --cache-only`
//! (scripts/test runs it) into $SSC_MODEL_CACHE, default $SSC_CACHE/models;
//! the golden records their sha256, so a test never compares against a different model.
//!
//! Tolerances (per golden file, set in scripts/golden_set.py), passing when
//! |engine - onnxruntime| <= abs + rel * |onnxruntime| + rel_max * max |onnxruntime| for
//! every value of an output:
//! - ONNX-ML ops, dtypes, If: abs 1e-6, rel 1e-6;
//! - shallow float32 nets (MLP, CNN, one transformer block): abs 1e-5, rel 1e-4;
//! - deep nets (light_* with random weights, all-MiniLM-L6-v2): abs 1e-4, rel 1e-3, rel_max 1e-5.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use ssc_engine::{Disclosure, InputSpec, InstantClock, Limits, NamedTensor, RunRequest, Session};

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
        let expected = case["expected"].as_object().unwrap();
        // A picked file's raw outputs leave only when named, as an app names them.
        let disclosure = Disclosure { outputs: Some(expected.keys().cloned().collect()), ..Default::default() };
        let request = RunRequest { input, postprocess: None, disclosure: Some(disclosure) };
        let result = session.run(&request, file.as_deref(), &clock).unwrap_or_else(|e| panic!("{name}: {e}"));
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

#[derive(Deserialize)]
struct GoldenSet {
    model: ModelSource,
    sha256: String,
    tolerance: Tolerance,
    cases: Vec<GoldenCase>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum ModelSource {
    Path(String),
    Cache(String),
}

#[derive(Deserialize, Clone, Copy)]
struct Tolerance {
    abs: f64,
    rel: f64,
    #[serde(default)]
    rel_max: f64,
}

#[derive(Deserialize)]
struct GoldenCase {
    name: String,
    inputs: Vec<GoldenInput>,
    expected: std::collections::BTreeMap<String, Expected>,
}

#[derive(Deserialize)]
struct GoldenInput {
    name: String,
    shape: Vec<usize>,
    dtype: String,
    #[serde(default)]
    data: Option<Vec<f64>>,
    #[serde(default)]
    pattern: Option<u64>,
}

#[derive(Deserialize)]
struct Expected {
    shape: Vec<usize>,
    dtype: String,
    data: Vec<f64>,
}

/// The inputs of big models, as `pattern()` in scripts/golden_set.py computes them.
fn pattern(seed: u64, len: usize) -> Vec<f64> {
    (0..len as u64).map(|i| ((i * 7919 + seed * 104729) % 2003) as f64 / 2003.0 * 2.0 - 1.0).collect()
}

/// $SSC_MODEL_CACHE, else $SSC_CACHE/models, else ~/.cache/streamlit-secure-context/models, as
/// scripts/golden_set.py decides.
fn model_cache() -> PathBuf {
    if let Some(dir) = std::env::var_os("SSC_MODEL_CACHE") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("SSC_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/streamlit-secure-context")
    });
    cache.join("models")
}

fn read_model(source: &ModelSource) -> Vec<u8> {
    match source {
        ModelSource::Path(path) => std::fs::read(repo().join(path)).unwrap(),
        ModelSource::Cache(name) => {
            let path = model_cache().join(name);
            std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}. This model is too big to commit; create it with \
                     `python scripts/gen_models.py --cache-only` (scripts/test does), or point \
                     SSC_MODEL_CACHE at the directory that holds it",
                    path.display()
                )
            })
        }
    }
}

fn check_golden_set(stem: &str) {
    let text = std::fs::read_to_string(repo().join("crates/engine/tests/golden").join(format!("{stem}.json"))).unwrap();
    let golden: GoldenSet = serde_json::from_str(&text).unwrap();
    let clock = InstantClock::new();
    let session = Session::load(&read_model(&golden.model), Some(&golden.sha256), Limits::default(), &clock)
        .unwrap_or_else(|e| panic!("{stem}: [{}] {e}", e.code()));
    assert!(!golden.cases.is_empty());
    let Tolerance { abs, rel, rel_max } = golden.tolerance;
    for case in &golden.cases {
        let inputs = case
            .inputs
            .iter()
            .map(|i| {
                let len = i.shape.iter().product();
                let data = match (&i.data, i.pattern) {
                    (Some(data), None) => data.clone(),
                    (None, Some(seed)) => pattern(seed, len),
                    _ => panic!("{stem}/{}: input {} needs data or pattern", case.name, i.name),
                };
                InputSpec::Tensor(NamedTensor {
                    name: Some(i.name.clone()),
                    shape: i.shape.clone(),
                    data,
                    dtype: Some(i.dtype.clone()),
                })
            })
            .collect();
        let request = RunRequest { input: InputSpec::Multiple { inputs }, postprocess: None, disclosure: None };
        let result =
            session.run(&request, None, &clock).unwrap_or_else(|e| panic!("{stem}/{}: [{}] {e}", case.name, e.code()));
        assert_eq!(
            result.outputs.keys().collect::<Vec<_>>(),
            case.expected.keys().collect::<Vec<_>>(),
            "{stem}/{}: outputs",
            case.name
        );
        for (output, want) in &case.expected {
            let got = &result.outputs[output];
            let what = format!("{stem}/{}/{output}", case.name);
            assert_eq!(got.shape, want.shape, "{what}: shape");
            assert_eq!(got.dtype, want.dtype, "{what}: dtype");
            assert_eq!(got.data.len(), want.data.len(), "{what}: length");
            let max = want.data.iter().fold(0.0f64, |m, w| m.max(w.abs()));
            for (ix, (g, w)) in got.data.iter().zip(&want.data).enumerate() {
                assert!(
                    (g - w).abs() <= abs + rel * w.abs() + rel_max * max,
                    "{what}[{ix}]: engine {g}, onnxruntime {w}; tolerance abs {abs} rel {rel} rel_max {rel_max} (max {max})"
                );
            }
        }
    }
}

macro_rules! golden_set {
    ($($test:ident => $stem:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                check_golden_set($stem);
            }
        )*
    };
}

golden_set! {
    sklearn_logistic_regression_matches_onnxruntime => "skl_logreg",
    sklearn_mlp_matches_onnxruntime => "skl_mlp",
    sklearn_random_forest_matches_onnxruntime => "skl_forest",
    sklearn_gradient_boosting_matches_onnxruntime => "skl_gboost",
    sklearn_binary_random_forest_matches_onnxruntime => "skl_forest_binary",
    sklearn_binary_gradient_boosting_matches_onnxruntime => "skl_gboost_binary",
    small_cnn_matches_onnxruntime => "small_cnn",
    transformer_block_matches_onnxruntime => "transformer_block",
    every_dtype_matches_onnxruntime => "dtypes",
    if_subgraph_matches_onnxruntime => "if_branch",
    light_squeezenet_matches_onnxruntime => "light_squeezenet",
    light_shufflenet_matches_onnxruntime => "light_shufflenet",
    light_inception_v1_matches_onnxruntime => "light_inception_v1",
    light_densenet121_matches_onnxruntime => "light_densenet121",
    light_resnet50_matches_onnxruntime => "light_resnet50",
    light_inception_v2_matches_onnxruntime => "light_inception_v2",
    pretrained_all_minilm_l6_v2_matches_onnxruntime => "all_minilm_l6_v2",
}

// The three heaviest light_* models (244 to 575 MB of weights): run on demand, after
// `python scripts/gen_models.py --cache-only --all-light`, with `-- --ignored`.

#[test]
#[ignore = "hundreds of MB: run scripts/gen_models.py --cache-only --all-light first"]
fn light_bvlc_alexnet_matches_onnxruntime() {
    check_golden_set("light_bvlc_alexnet");
}

#[test]
#[ignore = "hundreds of MB: run scripts/gen_models.py --cache-only --all-light first"]
fn light_zfnet512_matches_onnxruntime() {
    check_golden_set("light_zfnet512");
}

#[test]
#[ignore = "hundreds of MB: run scripts/gen_models.py --cache-only --all-light first"]
fn light_vgg19_matches_onnxruntime() {
    check_golden_set("light_vgg19");
}
