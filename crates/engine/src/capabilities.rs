//! What this engine accepts, read from the code that accepts it: tract-onnx's operator
//! registry, the TFLite loader's tables, the dtypes the tensor conversions handle, and the
//! names the request types' schema accepts (`schema.rs`). `ssc support` prints it and
//! docs/supported-models.md is that output, so the documentation cannot drift from the engine.

use serde::Serialize;
use serde_json::Value;
use tract_onnx::prelude::{DatumType, Tensor};

use crate::postprocess::{CoordinateOrder, DetectionPostprocess, Nms, NmsMethod, Postprocess, SsdAnchors, Step};
use crate::preprocess::{Color, Layout, Preprocess, Resize, WindowName, TRANSFER_SYNTAXES};
use crate::schema::{fields, values};
use crate::tensor::{dtype_name, typed_tensor};
use crate::{Disclosure, Limits, OnViolation, OutputTensor};

/// The operators of the ONNX-ML domain (`ai.onnx.ml`) in ONNX 1.23. tract-onnx registers
/// operators by name alone, so this list is what tells its ONNX-ML operators apart.
const ONNX_ML: &[&str] = &[
    "ArrayFeatureExtractor",
    "Binarizer",
    "CastMap",
    "CategoryMapper",
    "DictVectorizer",
    "FeatureVectorizer",
    "Imputer",
    "LabelEncoder",
    "LinearClassifier",
    "LinearRegressor",
    "Normalizer",
    "OneHotEncoder",
    "SVMClassifier",
    "SVMRegressor",
    "Scaler",
    "TreeEnsemble",
    "TreeEnsembleClassifier",
    "TreeEnsembleRegressor",
    "ZipMap",
];

/// The element types an ONNX tensor can have that tract also has, probed one by one.
const TENSOR_TYPES: &[DatumType] = &[
    DatumType::Bool,
    DatumType::U8,
    DatumType::U16,
    DatumType::U32,
    DatumType::U64,
    DatumType::I8,
    DatumType::I16,
    DatumType::I32,
    DatumType::I64,
    DatumType::F16,
    DatumType::F32,
    DatumType::F64,
    DatumType::String,
];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Capabilities {
    /// Default-domain operators tract-onnx implements (every registered name not in ONNX-ML), sorted.
    pub onnx_operators: Vec<String>,
    /// Every ONNX-ML operator, and whether tract-onnx implements it.
    pub onnx_ml_operators: Vec<OperatorSupport>,
    /// TFLite builtin operators tract-tflite loads as they are, sorted.
    pub tflite_builtins: Vec<String>,
    /// TFLite builtin operators the engine rewrites into loadable ones before loading.
    pub tflite_rewritten: Vec<Rewrite>,
    /// Dtypes a model input may have: values are converted to it, and must fit it.
    pub input_dtypes: Vec<String>,
    /// Dtypes a model output may have to be returned.
    pub output_dtypes: Vec<String>,
    /// The transfer syntaxes whose pixel data a `dicom` preprocess decodes.
    pub dicom_transfer_syntaxes: Vec<TransferSyntax>,
    /// The values and fields each part of a request accepts.
    pub request: Vec<Setting>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransferSyntax {
    pub uid: &'static str,
    pub name: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperatorSupport {
    pub name: String,
    pub supported: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rewrite {
    pub name: String,
    /// When the rewrite applies; otherwise loading fails and says why.
    pub when: &'static str,
}

/// One setting of a request and the names it accepts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setting {
    /// Where it goes, e.g. `preprocess.kind` or `postprocess.steps[].op`.
    pub setting: &'static str,
    /// Whether the names are the setting's values or its fields.
    pub accepts: Accepts,
    pub names: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Accepts {
    Values,
    Fields,
}

/// Everything the engine accepts, as listed in docs/supported-models.md.
pub fn capabilities() -> Capabilities {
    let registry = tract_onnx::onnx().op_register.0;
    let mut onnx_operators: Vec<String> =
        registry.keys().filter(|op| !ONNX_ML.contains(&op.as_str())).cloned().collect();
    onnx_operators.sort();
    let onnx_ml_operators = ONNX_ML
        .iter()
        .map(|op| OperatorSupport { name: op.to_string(), supported: registry.contains_key(*op) })
        .collect();
    let (tflite_builtins, rewritten) = crate::tflite::builtin_support();
    let tflite_rewritten = rewritten.into_iter().map(|(name, when)| Rewrite { name, when }).collect();
    Capabilities {
        onnx_operators,
        onnx_ml_operators,
        tflite_builtins,
        tflite_rewritten,
        input_dtypes: input_dtypes(),
        output_dtypes: output_dtypes(),
        dicom_transfer_syntaxes: TRANSFER_SYNTAXES.iter().map(|&(uid, name)| TransferSyntax { uid, name }).collect(),
        request: request_settings(),
    }
}

/// The dtypes values can be converted to, probed one by one.
pub(crate) fn input_dtypes() -> Vec<String> {
    let accepted = TENSOR_TYPES.iter().filter(|&&dt| typed_tensor("probe", &[1], &[0.0], dt).is_ok());
    accepted.map(|&dt| dtype_name(dt)).collect()
}

/// The dtypes an output can be returned in, probed one by one.
pub(crate) fn output_dtypes() -> Vec<String> {
    let returned = TENSOR_TYPES
        .iter()
        .filter(|&&dt| Tensor::zero_dt(dt, &[1]).is_ok_and(|zero| OutputTensor::from_tract("probe", &zero).is_ok()));
    returned.map(|&dt| dtype_name(dt)).collect()
}

/// A request's optional dtype field, for the schema: one of [`input_dtypes`], or null.
pub(crate) fn input_dtypes_or_null() -> Vec<Value> {
    input_dtypes().into_iter().map(Value::from).chain([Value::Null]).collect()
}

fn request_settings() -> Vec<Setting> {
    use Accepts::{Fields, Values};
    let setting = |setting, accepts, names| Setting { setting, accepts, names };
    vec![
        setting("preprocess.kind", Values, values::<Preprocess>(Some("kind"))),
        setting("preprocess (kind image)", Fields, fields::<Preprocess>(Some(("kind", "image")))),
        setting("preprocess.color", Values, values::<Color>(None)),
        setting("preprocess.layout", Values, values::<Layout>(None)),
        setting("preprocess.resize", Values, values::<Resize>(None)),
        setting("preprocess (kind csv)", Fields, fields::<Preprocess>(Some(("kind", "csv")))),
        setting("preprocess (kind dicom)", Fields, fields::<Preprocess>(Some(("kind", "dicom")))),
        setting("preprocess.window (kind dicom)", Values, values::<WindowName>(None)),
        setting("postprocess", Fields, fields::<Postprocess>(None)),
        setting("postprocess.steps[].op", Values, values::<Step>(Some("op"))),
        setting("postprocess.detection", Fields, fields::<DetectionPostprocess>(None)),
        setting("postprocess.detection.anchors", Fields, fields::<SsdAnchors>(None)),
        setting("postprocess.detection.coordinate_order", Values, values::<CoordinateOrder>(None)),
        setting("postprocess.detection.nms", Fields, fields::<Nms>(None)),
        setting("postprocess.detection.nms.method", Values, values::<NmsMethod>(None)),
        setting("security_config.disclosure", Fields, fields::<Disclosure>(None)),
        setting("security_config.disclosure.on_violation", Values, values::<OnViolation>(None)),
        setting("security_config.limits", Fields, fields::<Limits>(None)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(setting: &str) -> Vec<String> {
        let all = capabilities().request;
        all.into_iter().find(|s| s.setting == setting).unwrap_or_else(|| panic!("no setting {setting}")).names
    }

    #[test]
    fn request_names_come_from_the_types() {
        assert_eq!(names("preprocess.kind"), ["image", "csv", "dicom"]);
        assert_eq!(names("preprocess.window (kind dicom)"), ["file", "none"]);
        assert_eq!(names("preprocess.color"), ["rgb", "bgr", "grayscale"]);
        assert_eq!(names("postprocess.steps[].op"), ["softmax", "sigmoid", "argmax", "top_k", "threshold"]);
        assert_eq!(names("security_config.disclosure.on_violation"), ["withhold", "error"]);
        assert!(names("preprocess (kind image)").contains(&"resize".to_string()));
        assert!(names("security_config.limits").contains(&"max_tensor_elements".to_string()));
        for setting in capabilities().request {
            assert!(!setting.names.is_empty(), "{} lists nothing", setting.setting);
        }
    }

    #[test]
    fn every_listed_onnx_operator_passes_the_load_scan() {
        let caps = capabilities();
        let onnx = tract_onnx::onnx();
        for op in &caps.onnx_operators {
            assert!(onnx.op_register.0.contains_key(op));
        }
        for required in ["Conv", "Gemm", "If", "Softmax"] {
            assert!(caps.onnx_operators.iter().any(|op| op == required), "{required}");
        }
        assert!(!caps.onnx_operators.iter().any(|op| op == "Loop"));
        let ml = |name: &str| caps.onnx_ml_operators.iter().find(|op| op.name == name).unwrap().supported;
        assert!(ml("TreeEnsembleClassifier") && ml("ArrayFeatureExtractor"));
        assert!(!ml("ZipMap") && !ml("Scaler") && !ml("TreeEnsembleRegressor"));
    }

    #[test]
    fn tflite_lists_are_disjoint_and_named() {
        let caps = capabilities();
        assert!(caps.tflite_builtins.iter().any(|op| op == "CONV_2D"));
        for rewrite in &caps.tflite_rewritten {
            assert!(!caps.tflite_builtins.contains(&rewrite.name), "{} is loaded and rewritten", rewrite.name);
            assert!(!rewrite.name.starts_with("BUILTIN_"), "{}", rewrite.name);
        }
    }

    #[test]
    fn dtypes_are_probed() {
        let caps = capabilities();
        assert!(caps.input_dtypes.contains(&"int64".to_string()) && caps.input_dtypes.contains(&"bool".to_string()));
        assert!(!caps.input_dtypes.contains(&"string".to_string()));
        assert!(!caps.output_dtypes.contains(&"string".to_string()));
        assert!(caps.output_dtypes.contains(&"float32".to_string()));
    }
}
