//! The inference pipeline of streamlit-secure-context, with no web dependencies.
//!
//! The same code runs natively (the `ssc` CLI, the tests) and inside the sandbox's Web
//! Worker (`ssc-worker`), so a result computed by the CLI is the result the browser returns.
//! It needs two things from its host environment: a clock, behind a trait (see [`Clock`]), so
//! that timings can be read in the Worker; and 32 random bytes per session for the receipt
//! key, from the `getrandom` crate (the operating system natively, the Worker's
//! `crypto.getRandomValues` in the browser). The key is a secret that tests never need to fix:
//! they check that it differs between sessions, not what it is.

mod binary_trees;
mod budget;
mod capabilities;
mod clock;
mod disclosure;
mod error;
mod fold_if;
mod format;
mod inspect;
mod limits;
mod model;
mod onnx_ops;
mod pipeline;
mod postprocess;
mod preprocess;
mod receipt;
mod request;
mod request_checks;
mod schema;
mod shape_casts;
mod tensor;
mod tflite;

pub use capabilities::{capabilities, Accepts, Capabilities, OperatorSupport, Rewrite, Setting, TransferSyntax};
pub use clock::{Clock, InstantClock};
pub use disclosure::{DerivedField, Disclosure, OnViolation, Withheld, WithheldReason, MAX_DECIMALS};
pub use error::{ComponentErrorCode, EngineError, ErrorCode};
pub use format::{sniff, ModelFormat};
pub use inspect::{inspect, Inspection};
pub use limits::Limits;
pub use model::{Model, TensorInfo};
pub use onnx_ops::OpReport;
pub use pipeline::Session;
pub use postprocess::{
    softmax, top_k, CoordinateOrder, Detection, DetectionPostprocess, Nms, NmsMethod, Postprocess, SsdAnchors, Step,
    StepResult, TopK,
};
pub use preprocess::{
    Color, CsvPreprocess, DicomAttribute, DicomPreprocess, DicomPreview, ImagePreprocess, Layout, Preprocess, Resize,
    Window, WindowName, TRANSFER_SYNTAXES,
};
pub use receipt::{ContentSha256, InputKind, Receipt, ResultField, SentField};
pub use request::{InferenceResult, InputSpec, ModelInfo, RunRequest, Timings};
pub use schema::{schema, MAX_UI_TEXT, PROTOCOL_VERSION};
pub use tensor::{NamedTensor, OutputTensor};
