//! The data that crosses the browser boundary: what to run, and what comes back.
//! Python builds a [`RunRequest`]; the CLI prints the same [`InferenceResult`] the browser returns.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    Detection, Disclosure, NamedTensor, OutputTensor, Postprocess, Preprocess, Receipt, StepResult, TensorInfo, TopK,
};

/// A sha256 as the engine writes it: 64 lowercase hex digits.
pub const SHA256_HEX: &str = "^[0-9a-f]{64}$";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    pub input: InputSpec,
    #[serde(default)]
    pub postprocess: Option<Postprocess>,
    /// What of the result may leave the browser; `None` lets everything leave.
    #[serde(default)]
    pub disclosure: Option<Disclosure>,
}

/// Where the model's input comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum InputSpec {
    /// Numbers the app supplied (not PHI).
    Tensor(NamedTensor),
    /// A file the person picks in the sandbox, turned into a tensor by `preprocess`.
    File {
        #[serde(default)]
        name: Option<String>,
        preprocess: Preprocess,
    },
    /// One entry per model input, each named, for models with several inputs
    /// (at most one of them a file: the person picks one).
    Multiple { inputs: Vec<InputSpec> },
}

impl InputSpec {
    /// Whether the input is (or includes) the person's file.
    pub fn reads_a_file(&self) -> bool {
        match self {
            Self::Tensor(_) => false,
            Self::File { .. } => true,
            Self::Multiple { inputs } => inputs.iter().any(Self::reads_a_file),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub sha256: String,
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
    pub load_ms: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Timings {
    pub preprocess: f64,
    /// Building the optimized plan for this input shape: nonzero only on its first run.
    pub plan: f64,
    pub inference: f64,
    pub postprocess: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InferenceResult {
    #[schemars(extend("const" = "ok"))]
    pub status: String,
    #[schemars(regex(pattern = SHA256_HEX))]
    pub model_sha256: String,
    pub outputs: BTreeMap<String, OutputTensor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<TopK>")]
    pub top_k: Option<Vec<TopK>>,
    /// One entry per `postprocess.steps` step, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub postprocessed: Vec<StepResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<Detection>")]
    pub detections: Option<Vec<Detection>>,
    /// The DICOM header attributes `disclosure.dicom_attributes` lets leave (null: absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "BTreeMap<String, Option<String>>")]
    pub dicom_attributes: Option<BTreeMap<String, Option<String>>>,
    pub timings_ms: Timings,
    pub receipt: Receipt,
}
