//! Models whose inputs leave dims open, in every way exporters write one: each loads, every
//! run makes the dims concrete from the request, and a request that cannot fix one gets a
//! typed error that names the input, its dims and the setting to add.

mod onnx_proto;

use onnx_proto::{graph_attribute, int, ints, model, node, value_info, FLOAT, INT64};
use ssc_engine::{InputSpec, InstantClock, Limits, NamedTensor, RunRequest, Session};
use tract_onnx::pb::tensor_shape_proto::dimension::Value;
use tract_onnx::pb::{GraphProto, TensorProto, ValueInfoProto};

/// `y = ReduceMean(x, axes=[2, 3], keepdims=0)`: an image model whose input is [`batch`, 3, `h`, `w`].
fn mean_model(batch: Option<Value>, h: Option<Value>, w: Option<Value>) -> Vec<u8> {
    model(GraphProto {
        name: "mean".into(),
        node: vec![node("ReduceMean", &["x"], "y", vec![ints("axes", &[2, 3]), int("keepdims", 0)])],
        input: vec![value_info("x", FLOAT, vec![batch, Some(Value::DimValue(3)), h, w])],
        // The output's annotation uses the exporter's names too, as Paddle2ONNX writes them.
        output: vec![value_info(
            "y",
            FLOAT,
            vec![Some(Value::DimParam("p2o.DynamicDimension.0".into())), Some(Value::DimValue(3))],
        )],
        ..Default::default()
    })
}

fn param(name: &str) -> Option<Value> {
    Some(Value::DimParam(name.into()))
}

fn load(bytes: &[u8]) -> Session {
    Session::load(bytes, None, Limits::default(), &InstantClock::new()).unwrap()
}

fn tensor(shape: Vec<usize>) -> RunRequest {
    let data = (0..shape.iter().product::<usize>()).map(|i| i as f64).collect();
    RunRequest {
        input: InputSpec::Tensor(NamedTensor { name: None, shape, data, dtype: None }),
        postprocess: None,
        disclosure: None,
    }
}

/// Every way of writing an open dim that exporters use, for the height and the width: -1
/// (Paddle), blank, empty, `?`, tf2onnx's `unk__`, a name that is no expression
/// (`p2o.DynamicDimension.1`), and a plain symbol.
fn open_dim_spellings() -> Vec<(&'static str, Option<Value>, Option<Value>)> {
    vec![
        ("-1", Some(Value::DimValue(-1)), Some(Value::DimValue(-1))),
        ("blank", None, None),
        ("empty", param(""), param("")),
        ("?", param("?"), param("?")),
        ("unk__", param("unk__42"), param("unk__43")),
        ("exporter name", param("p2o.DynamicDimension.1"), param("p2o.DynamicDimension.2")),
        ("symbol", param("height"), param("width")),
    ]
}

#[test]
fn every_spelling_of_an_open_dim_loads_and_binds_to_the_request() {
    let clock = InstantClock::new();
    for (spelling, h, w) in open_dim_spellings() {
        let session = load(&mean_model(param("p2o.DynamicDimension.0"), h, w));
        for shape in [vec![2, 3, 4, 5], vec![1, 3, 7, 3]] {
            let result =
                session.run(&tensor(shape.clone()), None, &clock).unwrap_or_else(|e| panic!("{spelling}: {e}"));
            let y = &result.outputs["y"];
            assert_eq!(y.shape, vec![shape[0], 3], "{spelling}");
            let plane = shape[2] * shape[3];
            // Values 0, 1, 2, ... in order: the mean of a plane is its middle value.
            let first = (plane as f64 - 1.0) / 2.0;
            assert!((y.data[0] - first).abs() < 1e-3, "{spelling}: {}", y.data[0]);
            assert!((y.data[1] - (first + plane as f64)).abs() < 1e-3, "{spelling}");
        }
    }
}

#[test]
fn one_exporter_name_is_one_symbol_across_dims() {
    let same = param("p2o.DynamicDimension.1");
    let session = load(&mean_model(Some(Value::DimValue(-1)), same.clone(), same));
    assert!(session.run(&tensor(vec![1, 3, 4, 4]), None, &InstantClock::new()).is_ok());
    let err = session.run(&tensor(vec![1, 3, 4, 5]), None, &InstantClock::new()).unwrap_err();
    assert_eq!(err.code(), "shape_mismatch", "{err}");
}

#[test]
fn the_declared_shape_names_each_open_dim_by_a_symbol() {
    let session = load(&mean_model(Some(Value::DimValue(-1)), param("?"), param("p2o.DynamicDimension.1")));
    let shape = &session.info().inputs[0].shape;
    assert_eq!(shape[1], "3");
    assert!(shape.iter().all(|d| d != "-1" && d != "?" && !d.is_empty()), "{shape:?}");
    assert_eq!(shape[3], "d_p2o_DynamicDimension_1");
}

#[test]
fn an_image_request_that_cannot_fix_the_size_names_the_input_and_the_setting() {
    let session = load(&mean_model(Some(Value::DimValue(-1)), param("?"), param("?")));
    let request: RunRequest = serde_json::from_value(serde_json::json!({
        "input": {"kind": "file", "preprocess": {"kind": "image", "layout": "nchw"}},
        "disclosure": {"outputs": ["y"]}
    }))
    .unwrap();
    let png = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/data/digit_3.png")).unwrap();
    let err = session.run(&request, Some(&png), &InstantClock::new()).unwrap_err();
    assert_eq!(err.code(), "invalid_request");
    let message = err.to_string();
    assert!(message.contains("preprocess.size") && message.contains("\"x\""), "{message}");
    // With the size set, the same file runs.
    let sized: RunRequest = serde_json::from_value(serde_json::json!({
        "input": {"kind": "file", "preprocess": {"kind": "image", "layout": "nchw", "size": [6, 4]}},
        "disclosure": {"outputs": ["y"]}
    }))
    .unwrap();
    let result = session.run(&sized, Some(&png), &InstantClock::new()).unwrap();
    assert_eq!(result.outputs["y"].shape, vec![1, 3]);
}

#[test]
fn a_shape_against_a_declared_number_is_a_shape_mismatch() {
    let session = load(&mean_model(Some(Value::DimValue(-1)), param("?"), param("?")));
    let err = session.run(&tensor(vec![1, 4, 2, 2]), None, &InstantClock::new()).unwrap_err();
    assert_eq!(err.code(), "shape_mismatch", "{err}");
}

/// `y = If(mode == 1, then: x, else: Concat(x, x))`: the branches give outputs of different
/// shapes, which tract cannot type as one node; `mode` is a setting (a rank-0 input) the
/// request fixes, so the engine folds the If into the branch taken.
fn if_on_a_setting_model() -> Vec<u8> {
    let branch = |name: &str, nodes, output: &str| {
        graph_attribute(
            name,
            GraphProto {
                name: name.into(),
                node: nodes,
                output: vec![ValueInfoProto { name: output.into(), ..Default::default() }],
                ..Default::default()
            },
        )
    };
    let one =
        TensorProto { name: "one".into(), dims: vec![], data_type: INT64, int64_data: vec![1], ..Default::default() };
    model(GraphProto {
        name: "if_on_a_setting".into(),
        node: vec![
            node("Equal", &["mode", "one"], "cond", vec![]),
            node(
                "If",
                &["cond"],
                "y",
                vec![
                    branch("then_branch", vec![node("Identity", &["x"], "same", vec![])], "same"),
                    branch("else_branch", vec![node("Concat", &["x", "x"], "twice", vec![int("axis", 0)])], "twice"),
                ],
            ),
        ],
        initializer: vec![one],
        input: vec![value_info("x", FLOAT, vec![param("n")]), value_info("mode", INT64, vec![])],
        output: vec![value_info("y", FLOAT, vec![None])],
        ..Default::default()
    })
}

#[test]
fn an_if_on_a_setting_the_request_fixes_is_folded_into_its_branch() {
    let session = load(&if_on_a_setting_model());
    let clock = InstantClock::new();
    for (mode, expected) in
        [(1.0, vec![1.0, 2.0, 3.0]), (2.0, vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]), (1.0, vec![1.0, 2.0, 3.0])]
    {
        let request: RunRequest = serde_json::from_value(serde_json::json!({"input": {"kind": "multiple", "inputs": [
            {"kind": "tensor", "name": "x", "shape": [3], "data": [1.0, 2.0, 3.0]},
            {"kind": "tensor", "name": "mode", "shape": [], "data": [mode]},
        ]}}))
        .unwrap();
        let result = session.run(&request, None, &clock).unwrap_or_else(|e| panic!("mode {mode}: {e}"));
        assert_eq!(result.outputs["y"].data, expected, "mode {mode}");
    }
}
