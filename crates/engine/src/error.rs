use schemars::JsonSchema;
use serde::Serialize;
use thiserror::Error;

/// The codes an error carries, each named once: Python apps match on them, and
/// `ssc schema` hands the list to Python and the component.
macro_rules! codes {
    ($(#[$meta:meta])* $enum:ident { $($(#[doc = $doc:literal])* $variant:ident => $name:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
        pub enum $enum {
            $($(#[doc = $doc])* #[serde(rename = $name)] $variant,)*
        }

        impl $enum {
            pub const ALL: &'static [$enum] = &[$($enum::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }
        }
    };
}

codes! {
    /// The codes of the engine's errors ([`EngineError::code`]).
    ErrorCode {
        ModelTooLarge => "model_too_large",
        InputTooLarge => "input_too_large",
        UnsupportedFormat => "unsupported_format",
        Sha256Mismatch => "sha256_mismatch",
        ModelInvalid => "model_invalid",
        ModelUnsupported => "model_unsupported",
        UnsupportedOps => "unsupported_ops",
        InvalidRequest => "invalid_request",
        UnknownInput => "unknown_input",
        ShapeMismatch => "shape_mismatch",
        DataLength => "data_length",
        TensorTooLarge => "tensor_too_large",
        UnsupportedDtype => "unsupported_dtype",
        DtypeMismatch => "dtype_mismatch",
        ValueOutOfRange => "value_out_of_range",
        ImageDecode => "image_decode",
        ImageTooLarge => "image_too_large",
        Csv => "csv",
        Dicom => "dicom",
        DicomUnsupportedSyntax => "dicom_unsupported_syntax",
        NonFiniteOutput => "non_finite_output",
        Preprocess => "preprocess",
        Postprocess => "postprocess",
        Inference => "inference",
        DisclosureViolation => "disclosure_violation",
        DisclosureEmpty => "disclosure_empty",
        DisclosureRows => "disclosure_rows",
        DisclosureUnroundable => "disclosure_unroundable",
        DisclosureOverBudget => "disclosure_over_budget",
        Randomness => "randomness",
    }
}

codes! {
    /// The codes the component's frames raise themselves, around the engine.
    ComponentErrorCode {
        /// The host could not download the engine or the model.
        FetchFailed => "fetch_failed",
        /// The engine's WebAssembly could not be compiled in this browser.
        EngineInvalid => "engine_invalid",
        /// The page frames the host without being its own app.
        NotEmbedded => "not_embedded",
        /// `require_isolation` is set and the page (or its Worker) is not cross-origin isolated.
        NotIsolated => "not_isolated",
        /// A run reached the Worker before a model was loaded.
        NotReady => "not_ready",
        /// The result would exceed the bound a message may carry.
        ResultTooLarge => "result_too_large",
        /// The run took longer than the request's `timeout`; its Worker was stopped.
        Timeout => "timeout",
        /// More files were picked than `max_files` allows.
        TooManyFiles => "too_many_files",
        /// The component's Python and browser parts do not match (the render arguments are not this build's).
        VersionMismatch => "version_mismatch",
        /// The Worker stopped without an answer (out of memory, a crash).
        WorkerFailed => "worker_failed",
        /// A failure of the component itself, not of the model or the input.
        Internal => "internal",
    }
}

/// Everything that can go wrong between model bytes and a result.
///
/// Each variant has a stable [`code`](EngineError::code), which is what Python apps
/// match on, and a message written for the person who has to fix the cause.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum EngineError {
    #[error("the model is {size} bytes, over the limit of {limit} bytes; raise limits.max_model_bytes if this model is expected")]
    ModelTooLarge { size: usize, limit: usize },

    #[error("the input file is {size} bytes, over the limit of {limit} bytes")]
    InputTooLarge { size: usize, limit: usize },

    #[error("{0}")]
    UnsupportedFormat(String),

    #[error(
        "the model's sha256 is {actual}, but {expected} was expected: the file served is not the file the app declared"
    )]
    Sha256Mismatch { expected: String, actual: String },

    #[error("the model could not be read: {0}")]
    ModelInvalid(String),

    /// `reason` is the engine's own account, with what to do; `detail` is tract's, for
    /// `ssc inspect` only: it never reaches the app, since tract's text can quote shapes and
    /// values of the person's input.
    #[error("the model was read but cannot be prepared for inference: {reason}")]
    ModelUnsupported { reason: String, detail: Option<String> },

    #[error("the model uses operators this engine does not implement: {}{hint}", ops.join(", "))]
    UnsupportedOps { ops: Vec<String>, hint: String },

    #[error("the request is invalid: {0}")]
    InvalidRequest(String),

    #[error("the model has no input named {name:?}; its inputs are: {available}")]
    UnknownInput { name: String, available: String },

    #[error("input {input:?} expects shape {expected}, but got {actual}")]
    ShapeMismatch { input: String, expected: String, actual: String },

    #[error("shape {shape:?} holds {expected} values, but {actual} were given")]
    DataLength { shape: Vec<usize>, expected: usize, actual: usize },

    #[error("a tensor of shape {shape:?} has {elements} elements, over the limit of {limit}")]
    TensorTooLarge { shape: Vec<usize>, elements: usize, limit: usize },

    #[error("{what} has type {dtype}, which this engine cannot exchange as numbers")]
    UnsupportedDtype { what: String, dtype: String },

    #[error("input {input:?} has type {expected}, but the request declares {actual}")]
    DtypeMismatch { input: String, expected: String, actual: String },

    #[error("input {input:?} has type {dtype}, which cannot hold value {value} (at flat index {index})")]
    ValueOutOfRange { input: String, dtype: String, value: f64, index: usize },

    #[error("the image could not be decoded: {0}")]
    ImageDecode(String),

    #[error("the image is {width}x{height} = {pixels} pixels, over the limit of {limit}")]
    ImageTooLarge { width: u32, height: u32, pixels: u64, limit: u64 },

    #[error("the DICOM file could not be read: {0}")]
    Dicom(String),

    #[error(
        "the DICOM file's transfer syntax is {syntax}, whose pixel data this engine does not decode; \
         docs/supported-models.md lists the ones it does"
    )]
    DicomUnsupportedSyntax { syntax: String },

    #[error("CSV row {row}, column {column}: {message}")]
    Csv { row: usize, column: usize, message: String },

    #[error("the input does not fit the model: {0}")]
    Preprocess(String),

    #[error("post-processing failed: {0}")]
    Postprocess(String),

    #[error("inference failed: {0}")]
    Inference(String),

    #[error(
        "output {output:?} holds {count} NaN or infinite value(s), which a result cannot carry; they usually \
         mean the input is outside what the model expects (check scale, mean/std and layout)"
    )]
    NonFiniteOutput { output: String, count: usize },

    #[error(
        "output {output:?} has {elements} elements, over disclosure.max_output_elements = {limit}, and the policy \
         says on_violation = \"error\": nothing was sent"
    )]
    DisclosureViolation { output: String, elements: usize, limit: usize },

    #[error(
        "the ranking covers more rows than the {allowed} that may leave (one per input sample, or \
         disclosure.max_rows), and the policy says on_violation = \"error\": nothing was sent"
    )]
    DisclosureRows { allowed: usize },

    #[error(
        "{field} holds a value too large to round to {decimals} decimals, and an unrounded value would carry more \
         than the policy allows: nothing was sent. Lower disclosure.decimals, or check the model's outputs"
    )]
    DisclosureUnroundable { field: String, decimals: u32 },

    #[error(
        "the result would carry up to {bits} bits about the input, over disclosure.max_bits = {max_bits}: nothing \
         was sent. Send less (top_k, fewer outputs, disclosure.decimals) or raise max_bits"
    )]
    DisclosureOverBudget { bits: u64, max_bits: u64 },

    #[error("the disclosure policy withholds every output, so nothing could be sent: {withheld}; {hint}")]
    DisclosureEmpty { withheld: String, hint: &'static str },

    #[error("no secure random numbers are available for the receipt key: {0}")]
    Randomness(String),
}

impl EngineError {
    /// A stable, machine-readable identifier for the kind of failure.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::ModelTooLarge { .. } => ErrorCode::ModelTooLarge,
            Self::InputTooLarge { .. } => ErrorCode::InputTooLarge,
            Self::UnsupportedFormat(_) => ErrorCode::UnsupportedFormat,
            Self::Sha256Mismatch { .. } => ErrorCode::Sha256Mismatch,
            Self::ModelInvalid(_) => ErrorCode::ModelInvalid,
            Self::ModelUnsupported { .. } => ErrorCode::ModelUnsupported,
            Self::UnsupportedOps { .. } => ErrorCode::UnsupportedOps,
            Self::InvalidRequest(_) => ErrorCode::InvalidRequest,
            Self::UnknownInput { .. } => ErrorCode::UnknownInput,
            Self::ShapeMismatch { .. } => ErrorCode::ShapeMismatch,
            Self::DataLength { .. } => ErrorCode::DataLength,
            Self::TensorTooLarge { .. } => ErrorCode::TensorTooLarge,
            Self::UnsupportedDtype { .. } => ErrorCode::UnsupportedDtype,
            Self::DtypeMismatch { .. } => ErrorCode::DtypeMismatch,
            Self::ValueOutOfRange { .. } => ErrorCode::ValueOutOfRange,
            Self::ImageDecode(_) => ErrorCode::ImageDecode,
            Self::ImageTooLarge { .. } => ErrorCode::ImageTooLarge,
            Self::Csv { .. } => ErrorCode::Csv,
            Self::Dicom(_) => ErrorCode::Dicom,
            Self::DicomUnsupportedSyntax { .. } => ErrorCode::DicomUnsupportedSyntax,
            Self::NonFiniteOutput { .. } => ErrorCode::NonFiniteOutput,
            Self::Preprocess(_) => ErrorCode::Preprocess,
            Self::Postprocess(_) => ErrorCode::Postprocess,
            Self::Inference(_) => ErrorCode::Inference,
            Self::DisclosureViolation { .. } => ErrorCode::DisclosureViolation,
            Self::DisclosureEmpty { .. } => ErrorCode::DisclosureEmpty,
            Self::DisclosureRows { .. } => ErrorCode::DisclosureRows,
            Self::DisclosureUnroundable { .. } => ErrorCode::DisclosureUnroundable,
            Self::DisclosureOverBudget { .. } => ErrorCode::DisclosureOverBudget,
            Self::Randomness(_) => ErrorCode::Randomness,
        }
    }
}

impl EngineError {
    /// The message as it may leave the browser when the input is the person's file: built only
    /// from the request and the model, with no value, index, count, size or decoder detail of
    /// the file. `None` when the full message already holds nothing of the file. The person
    /// sees the full message in the sandbox; the app gets this one.
    pub fn file_safe_message(&self) -> Option<String> {
        Some(match self {
            Self::InputTooLarge { limit, .. } => format!("the input file is over the limit of {limit} bytes"),
            Self::ShapeMismatch { input, expected, .. } => {
                format!("input {input:?} expects shape {expected}, and the file gives another shape")
            }
            Self::TensorTooLarge { limit, .. } => format!("the file makes a tensor over the limit of {limit} elements"),
            Self::ValueOutOfRange { input, dtype, .. } => {
                format!("input {input:?} has type {dtype}, which cannot hold every value of the file")
            }
            Self::ImageDecode(_) => "the file could not be decoded as an image (PNG, JPEG, WebP, BMP or GIF)".into(),
            Self::ImageTooLarge { limit, .. } => format!("the image is over the limit of {limit} pixels"),
            Self::Csv { .. } => "the file could not be read as a CSV of numbers: a cell is not a number, or the rows \
                                 differ in length (the component shows the person where)"
                .into(),
            Self::Preprocess(_) => "the file does not fit the model's input".into(),
            Self::Dicom(_) => "the file could not be read as the DICOM image the request describes (the component \
                               shows the person why)"
                .into(),
            Self::Postprocess(_) => "post-processing failed on this file's result".into(),
            Self::Inference(_) => "inference failed on this file".into(),
            Self::NonFiniteOutput { output, .. } => format!(
                "output {output:?} holds NaN or infinite values, which a result cannot carry; they usually mean the \
                 input is outside what the model expects (check scale, mean/std and layout)"
            ),
            Self::DisclosureViolation { output, limit, .. } => format!(
                "{output:?} is over disclosure.max_output_elements = {limit}, and the policy says on_violation = \
                 \"error\": nothing was sent"
            ),
            Self::DisclosureOverBudget { max_bits, .. } => format!(
                "the result would carry more than disclosure.max_bits = {max_bits} bits about the input: nothing was sent"
            ),
            // The syntax's UID is the file's text when no registry knows it.
            Self::DicomUnsupportedSyntax { .. } => "the DICOM file's transfer syntax is not one whose pixel data this \
                                                    engine decodes; docs/supported-models.md lists the ones it does"
                .into(),
            // `allowed` is one per input sample: a CSV's row count.
            Self::DisclosureRows { .. } => "the ranking covers more rows than may leave (one per input sample, or \
                                           disclosure.max_rows), and the policy says on_violation = \"error\": \
                                           nothing was sent"
                .into(),
            // Declared one by one, with no catch-all: a new variant must say whether its message
            // can hold anything of the file. These are built from the model, the request, the
            // limits or the engine alone.
            Self::ModelTooLarge { .. }
            | Self::UnsupportedFormat(_)
            | Self::Sha256Mismatch { .. }
            | Self::ModelInvalid(_)
            | Self::ModelUnsupported { .. }
            | Self::UnsupportedOps { .. }
            | Self::InvalidRequest(_)
            | Self::UnknownInput { .. }
            | Self::DataLength { .. }
            | Self::UnsupportedDtype { .. }
            | Self::DtypeMismatch { .. }
            | Self::DisclosureUnroundable { .. }
            | Self::DisclosureEmpty { .. }
            | Self::Randomness(_) => return None,
        })
    }

    /// A model-level failure the engine itself explains, with nothing of tract's behind it.
    pub(crate) fn unsupported(reason: impl Into<String>) -> Self {
        Self::ModelUnsupported { reason: reason.into(), detail: None }
    }

    /// tract's own account of a `model_unsupported` error, when it has one.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::ModelUnsupported { detail, .. } => detail.as_deref(),
            _ => None,
        }
    }
}

/// tract could not type, declutter or optimize the graph. Its account becomes the `detail`;
/// the reason names the cases seen in real exports and what to do about each.
pub(crate) fn untypable(e: &tract_onnx::prelude::TractError) -> EngineError {
    let detail = chain(e);
    let reason = if detail.contains("IfThenElse") || detail.contains("\"If\"") || detail.contains(" If:") {
        "an If node's two branches give outputs of different shapes, and tract 0.23.9 types both branches. \
         Export the model with the condition folded (a fixed setting, or the exporter's variant without If), \
         then check it with `ssc inspect`"
    } else if detail.contains("Impossible to unify") || detail.contains("Reshap") || detail.contains("squeeze") {
        "tract 0.23.9 cannot work out the graph's shapes for these input shapes. Check the request's shape \
         (an image's preprocess.size, a tensor's shape) against what the model was exported for; \
         `ssc inspect` shows tract's account"
    } else {
        "tract 0.23.9 cannot prepare this graph for inference. `ssc inspect` shows tract's account; \
         docs/supported-models.md lists what the engine runs"
    };
    EngineError::ModelUnsupported { reason: reason.into(), detail: Some(detail) }
}

/// tract reports errors as `anyhow` chains; keep the whole chain, since the innermost
/// cause ("unsupported op X") is usually the one a user can act on.
pub(crate) fn chain(e: &tract_onnx::prelude::TractError) -> String {
    format!("{e:#}")
}
