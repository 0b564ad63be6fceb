//! TFLite models against the LiteRT interpreter, recorded by `scripts/gen_tflite_models.py`,
//! and the typed errors of TFLite files that cannot be loaded.

use std::path::{Path, PathBuf};

use serde_json::Value;
use ssc_engine::{
    Detection, DetectionPostprocess, Disclosure, InputSpec, InstantClock, Limits, NamedTensor, Postprocess, Preprocess,
    RunRequest, Session,
};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn model(name: &str) -> Vec<u8> {
    read(&format!("crates/engine/tests/models/tflite/{name}"))
}

fn golden(name: &str) -> Value {
    serde_json::from_slice(&read(&format!("crates/engine/tests/golden/{name}"))).unwrap()
}

fn load(bytes: &[u8]) -> Session {
    Session::load(bytes, None, Limits::default(), &InstantClock::new()).unwrap()
}

/// How far an output value may be from LiteRT's.
enum Tolerance {
    /// A fraction of the output's largest magnitude: LiteRT's XNNPACK kernels sum in another
    /// order than tract's, so float results differ in the last bits.
    Relative(f64),
    Absolute(f64),
}

fn check_golden(file: &str, tolerance: Tolerance) {
    let golden = golden(file);
    let session = load(&read(golden["model"].as_str().unwrap()));
    let clock = InstantClock::new();
    for case in golden["cases"].as_array().unwrap() {
        let (input, image) = match case.get("file") {
            Some(path) => (
                InputSpec::File { name: None, preprocess: serde_json::from_value(case["preprocess"].clone()).unwrap() },
                Some(read(path.as_str().unwrap())),
            ),
            None => (serde_json::from_value(case["input"].clone()).unwrap(), None),
        };
        let expected = case["expected"].as_object().unwrap();
        // A picked file's raw outputs leave only when named, as an app names them.
        let disclosure = Disclosure { outputs: Some(expected.keys().cloned().collect()), ..Default::default() };
        let request = RunRequest { input, postprocess: None, disclosure: Some(disclosure) };
        let result = session.run(&request, image.as_deref(), &clock).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(result.outputs.len(), expected.len(), "{file}: output count");
        for (name, want) in expected {
            let got = &result.outputs[name];
            let shape: Vec<usize> = serde_json::from_value(want["shape"].clone()).unwrap();
            assert_eq!(got.shape, shape, "{file}/{name}: shape");
            let want: Vec<f64> = serde_json::from_value(want["data"].clone()).unwrap();
            let peak = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let allowed = match tolerance {
                Tolerance::Relative(fraction) => fraction * peak,
                Tolerance::Absolute(value) => value,
            };
            let worst = got.data.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(worst <= allowed, "{file}/{name}: max abs diff {worst} > {allowed} (peak {peak})");
        }
    }
}

#[test]
fn blazeface_raw_outputs_match_litert() {
    check_golden("tflite_face_detection_short_range.json", Tolerance::Relative(1e-5));
}

/// Sparse fp16 weights (DENSIFY, DEQUANTIZE) and DEPTH_TO_SPACE.
#[test]
fn sparse_full_range_face_detector_matches_litert() {
    check_golden("tflite_face_detection_full_range_sparse.json", Tolerance::Relative(1e-5));
}

#[test]
fn face_landmark_with_fp16_weights_and_prelu_matches_litert() {
    check_golden("tflite_face_landmark.json", Tolerance::Relative(1e-5));
}

#[test]
fn hand_recrop_float_model_matches_litert() {
    check_golden("tflite_hand_recrop.json", Tolerance::Relative(1e-5));
}

#[test]
fn generated_float32_cnn_matches_litert() {
    check_golden("tflite_tiny_cnn_float32.json", Tolerance::Relative(1e-5));
}

#[test]
fn generated_fp16_weight_cnn_matches_litert() {
    check_golden("tflite_tiny_cnn_fp16.json", Tolerance::Relative(1e-5));
}

/// Simulated int8 rounding can land one quantization step (1/256 for the int8 softmax output)
/// away from the integer kernels'.
#[test]
fn generated_int8_cnn_matches_litert_within_one_step() {
    check_golden("tflite_tiny_cnn_int8.json", Tolerance::Absolute(1.0 / 256.0));
}

/// SPLIT, SPLIT_V, UNPACK, PACK, TILE, GATHER, ARG_MAX and CAST, rewritten into ops
/// tract-tflite loads: only copies and comparisons, so the results are exact up to the 7
/// significant digits the golden keeps.
#[test]
fn rewritten_slicing_and_arg_max_ops_match_litert_exactly() {
    check_golden("tflite_tiny_ops.json", Tolerance::Relative(1e-6));
}

/// A convolution with a fused RELU_N1_TO_1, which tract-tflite does not apply itself.
#[test]
fn fused_relu_n1_to_1_matches_litert() {
    check_golden("tflite_tiny_activations.json", Tolerance::Relative(1e-5));
}

/// TRANSPOSE_CONV, rewritten as a convolution over the zero-stuffed input.
#[test]
fn transpose_conv_matches_litert() {
    check_golden("tflite_tiny_transpose_conv.json", Tolerance::Relative(1e-5));
}

/// Image in, faces out: the engine's preprocessing, model, anchors, sigmoid, threshold and
/// weighted NMS against the same decoding applied in Python to LiteRT's raw outputs.
#[test]
fn blazeface_end_to_end_finds_the_astronauts_face() {
    let golden = golden("tflite_blazeface_detections.json");
    let session = load(&read(golden["model"].as_str().unwrap()));
    let preprocess: Preprocess = serde_json::from_value(golden["preprocess"].clone()).unwrap();
    let detection: DetectionPostprocess = serde_json::from_value(golden["detection"].clone()).unwrap();
    let clock = InstantClock::new();
    for case in golden["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let request = RunRequest {
            input: InputSpec::File { name: None, preprocess: preprocess.clone() },
            postprocess: Some(Postprocess { detection: Some(detection.clone()), ..Default::default() }),
            disclosure: None,
        };
        let image = read(case["file"].as_str().unwrap());
        let result = session.run(&request, Some(&image), &clock).unwrap();
        let got = result.detections.expect("detections requested");
        let want: Vec<Detection> = serde_json::from_value(case["detections"].clone()).unwrap();
        assert!(!want.is_empty(), "{name}: the reference finds a face");
        assert_eq!(got.len(), want.len(), "{name}: detection count");
        // The 128-pixel image is fed as is; the 256-pixel one is resized by the engine (and by
        // PIL for the reference), whose filters round differently: allow 1.5 pixels there.
        let pixels = if name.contains("128") { 1e-3 } else { 1.5 };
        for (g, w) in got.iter().zip(&want) {
            assert!((g.score - w.score).abs() < 0.01, "{name}: score {} vs {}", g.score, w.score);
            for (a, b) in g.bbox.iter().zip(&w.bbox) {
                assert!((a - b).abs() <= pixels, "{name}: box {:?} vs {:?}", g.bbox, w.bbox);
            }
            assert_eq!(g.keypoints.len(), 6);
            for (a, b) in g.keypoints.iter().zip(&w.keypoints) {
                assert!(
                    (a[0] - b[0]).abs() <= pixels && (a[1] - b[1]).abs() <= pixels,
                    "{name}: keypoint {a:?} vs {b:?}"
                );
            }
        }
    }
}

/// The astronaut's face, 256 pixels square, placed at `(x, y)` on a grey canvas.
fn padded_face(width: u32, height: u32, x: i64, y: i64) -> Vec<u8> {
    let face = image::load_from_memory(&read("crates/engine/tests/data/astronaut_face_256.png")).unwrap().into_rgb8();
    let mut canvas = image::RgbImage::from_pixel(width, height, image::Rgb([128, 128, 128]));
    image::imageops::replace(&mut canvas, &face, x, y);
    let mut png = Vec::new();
    canvas.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    png
}

/// With center-crop and letterbox resizes the model sees the picture scaled and cut or padded;
/// the boxes must still land on the face in the picture the person picked.
#[test]
fn blazeface_boxes_map_back_through_crop_and_letterbox() {
    let golden = golden("tflite_blazeface_detections.json");
    let session = load(&read(golden["model"].as_str().unwrap()));
    let detection: DetectionPostprocess = serde_json::from_value(golden["detection"].clone()).unwrap();
    let reference = golden["cases"].as_array().unwrap().iter().find(|c| c["name"] == "astronaut_face_256.png").unwrap();
    let want: Vec<Detection> = serde_json::from_value(reference["detections"].clone()).unwrap();
    let clock = InstantClock::new();
    // (resize, picture, where the face is on it, tolerance in pixels). A 384x256 picture center-
    // cropped to 128x128 shows the model exactly the 256-pixel face, so the box barely moves;
    // letterboxed, the face is seen at two thirds of the size, so the network's box varies more.
    let cases = [("center_crop", (384, 256), (64, 0), 1.5), ("letterbox", (256, 384), (0, 64), 6.0)];
    for (resize, (width, height), (dx, dy), pixels) in cases {
        let mut preprocess = golden["preprocess"].clone();
        preprocess["resize"] = Value::from(resize);
        let request = RunRequest {
            input: InputSpec::File { name: None, preprocess: serde_json::from_value(preprocess).unwrap() },
            postprocess: Some(Postprocess { detection: Some(detection.clone()), ..Default::default() }),
            disclosure: None,
        };
        let picture = padded_face(width, height, dx, dy);
        let got = session.run(&request, Some(&picture), &clock).unwrap().detections.expect("detections requested");
        assert_eq!(got.len(), want.len(), "{resize}: detection count");
        let (dx, dy) = (dx as f64, dy as f64);
        let moved = [want[0].bbox[0] + dx, want[0].bbox[1] + dy, want[0].bbox[2] + dx, want[0].bbox[3] + dy];
        for (a, b) in got[0].bbox.iter().zip(moved) {
            assert!((a - b).abs() <= pixels, "{resize}: box {:?}, the face is at {moved:?}", got[0].bbox);
        }
        let [x, y] = got[0].keypoints[0];
        let [wx, wy] = want[0].keypoints[0];
        assert!((x - wx - dx).abs() <= pixels && (y - wy - dy).abs() <= pixels, "{resize}: keypoint {x},{y}");
    }
}

fn load_error(bytes: &[u8]) -> ssc_engine::EngineError {
    Session::load(bytes, None, Limits::default(), &InstantClock::new()).unwrap_err()
}

#[test]
fn truncated_tflite_is_a_typed_error() {
    let bytes = model("face_detection_short_range.tflite");
    for len in [8, 64, bytes.len() / 2, bytes.len() * 9 / 10] {
        let err = load_error(&bytes[..len]);
        assert_eq!(err.code(), "model_invalid", "{len} bytes: {err}");
    }
}

#[test]
fn garbage_after_the_tflite_identifier_is_a_typed_error() {
    let mut bytes = b"\x1c\x00\x00\x00TFL3".to_vec();
    let mut state = 0x2545_f491_u32;
    bytes.extend((0..4096).map(|_| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as u8
    }));
    assert_eq!(load_error(&bytes).code(), "model_invalid");
}

/// Corrupting bytes of a real model must end in a result or a typed error, never in a panic
/// caught by the last-resort guard (the browser build aborts on panics).
/// `SSC_FUZZ_RUNS` (default 40), `SSC_FUZZ_SEED` and `SSC_FUZZ_MODEL` widen the search.
#[test]
fn corrupted_models_never_reach_a_panic() {
    let original = model(&std::env::var("SSC_FUZZ_MODEL").unwrap_or_else(|_| "hand_recrop.tflite".into()));
    let env = |name: &str, default: u32| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let mut state = env("SSC_FUZZ_SEED", 0x9e37_79b9);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as usize
    };
    for run in 0..env("SSC_FUZZ_RUNS", 40) {
        let mut bytes = original.clone();
        let mut changed = Vec::new();
        for _ in 0..4 {
            let at = next() % bytes.len();
            bytes[at] = next() as u8;
            changed.push((at, bytes[at]));
        }
        if let Err(err) = Session::load(&bytes, None, Limits::default(), &InstantClock::new()) {
            assert!(!err.to_string().contains("tract-tflite failed"), "run {run}, bytes {changed:?}: {err}");
        }
    }
}

#[test]
fn unsupported_ops_are_listed_before_loading() {
    let err = load_error(&with_unknown_custom_op());
    assert_eq!(err.code(), "unsupported_ops");
    assert!(err.to_string().contains("custom op \"Convolution2DTransposeBiaZ\""), "{err}");
}

/// The selfie segmentation model with its custom operator renamed to one nobody implements
/// (the name's last letter changed in place, so the flatbuffer stays valid).
fn with_unknown_custom_op() -> Vec<u8> {
    let mut bytes = model("selfie_segmentation.tflite");
    let name = b"Convolution2DTransposeBias";
    let at = bytes.windows(name.len()).position(|w| w == name).expect("the custom op's name");
    bytes[at + name.len() - 1] = b'Z';
    bytes
}

#[test]
fn mediapipes_transposed_convolution_with_bias_is_rewritten_and_runs() {
    let session = load(&model("selfie_segmentation.tflite"));
    let request = RunRequest {
        input: InputSpec::Tensor(NamedTensor {
            name: None,
            shape: vec![1, 256, 256, 3],
            data: vec![0.5; 256 * 256 * 3],
            dtype: None,
        }),
        postprocess: None,
        disclosure: None,
    };
    let result = session.run(&request, None, &InstantClock::new()).unwrap();
    let mask = result.outputs.values().next().unwrap();
    assert_eq!(mask.shape, vec![1, 256, 256, 1]);
    assert!(mask.data.iter().all(|v| (0.0..=1.0).contains(v)), "a sigmoid mask");
}

#[test]
fn tflite_inputs_and_outputs_keep_their_tensor_names() {
    let info = load(&model("face_detection_short_range.tflite")).info();
    assert_eq!(info.inputs[0].name, "input");
    assert_eq!(info.inputs[0].shape, vec!["1", "128", "128", "3"]);
    let outputs: Vec<_> = info.outputs.iter().map(|o| (o.name.as_str(), o.shape.join("x"))).collect();
    assert_eq!(outputs, vec![("regressors", "1x896x16".to_string()), ("classificators", "1x896x1".to_string())]);
}

/// docs/supported-models.md lists the operators the engine rewrites (`capabilities()`); each
/// must be one that a committed model uses and loads with, the models above being checked
/// against LiteRT. ARG_MIN is the exception: it takes ARG_MAX's rewrite with the other extremum.
#[test]
fn every_rewritten_tflite_operator_is_exercised_by_a_model_that_loads() {
    let mut exercised = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(repo().join("crates/engine/tests/models/tflite")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "tflite") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        if Session::load(&bytes, None, Limits::default(), &InstantClock::new()).is_ok() {
            exercised.extend(ssc_engine::inspect(&bytes, &Limits::default()).unwrap().ops.histogram.into_keys());
        }
    }
    let missing: Vec<String> = ssc_engine::capabilities()
        .tflite_rewritten
        .into_iter()
        .map(|rewrite| rewrite.name)
        .filter(|name| name != "ARG_MIN" && !exercised.contains(name))
        .collect();
    assert!(missing.is_empty(), "no committed model that loads uses {missing:?}");
}
